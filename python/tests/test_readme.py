"""The README's Python example runs, and python/examples/quickstart.py is the same code."""

import os
import re

from conftest import ROOT


def readme_python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python section has a ```python block"
    return blocks[0]


def test_readme_example_is_the_quickstart_example():
    example = (ROOT / "python" / "examples" / "quickstart.py").read_text(encoding="utf-8")
    region = example.split("# --- README example begins ---\n", 1)[1].split("# --- README example ends ---", 1)[0]
    assert readme_python_block().strip() == region.strip()


def test_readme_example_runs(capsys):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        scope: dict = {}
        exec(compile(readme_python_block(), "README.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    model, p = scope["model"], scope["p"]
    assert p.mean.shape == (3,) and (p.std > p.epistemic_std).all()
    kinds = [pr.provenance.kind for pr in model.priors_]
    assert kinds.count("factual") == 3
    assert "factual: noise near the target's sd" in capsys.readouterr().out
