"""Explaining priors: the conjugate calculator (``credence bayes``), prior predictive checks
(``credence prior-check``) and prior sensitivity (``credence sensitivity``)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Sequence, Union

from . import _credence
from ._model import _read_text
from ._tables import table_columns

PathLike = Union[str, "os.PathLike[str]"]


def bayes(model: Union[PathLike, Dict[str, Any]], plot: Optional[PathLike] = None) -> Dict[str, Any]:
    """Bayes' rule in closed form for a conjugate model (a ``credence bayes`` file: its path,
    its TOML text, or a dict of the same entries): prior, posterior, evidence, predictive."""
    if isinstance(model, dict):
        text = _credence.toml_of_json(json.dumps(model))
        source = "<dict>"
    else:
        text, source = _read_text(model)
    return json.loads(_credence.bayes(text, source, None if plot is None else os.fspath(plot)))


def _options(target: Union[str, Sequence[str]], config: Any, method: Optional[str], seed: int, missing: str) -> str:
    path = None
    overlay = None
    if isinstance(config, dict):
        overlay = config
    elif config is not None:
        path = os.fspath(config)
    targets = [target] if isinstance(target, str) else list(target)
    return json.dumps(
        {"targets": targets, "config_path": path, "config": overlay, "method": method, "seed": seed, "missing": missing}
    )


def prior_check(
    data: Any, target: Union[str, Sequence[str]], config: Any = None, draws: int = 200, seed: int = 0, missing: str = "error"
) -> Dict[str, Any]:
    """What networks drawn from the prior predict on ``data`` (a DataFrame with the target)
    before seeing it, with warnings when the prior implies absurd outputs."""
    source, cols = table_columns(data)
    return json.loads(_credence.prior_check(cols, _options(target, config, None, seed, missing), draws))


def sensitivity(
    data: Any,
    target: Union[str, Sequence[str]],
    alternatives: PathLike,
    config: Any = None,
    method: str = "map",
    seed: int = 0,
    test_fraction: float = 0.2,
    missing: str = "error",
) -> Dict[str, Any]:
    """Refits under alternative priors (a ``[[alternative]]`` file: path or TOML text) and
    reports how test metrics and predictions move."""
    source, cols = table_columns(data)
    text, src = _read_text(alternatives)
    return json.loads(
        _credence.sensitivity(cols, _options(target, config, method, seed, missing), text, src, test_fraction)
    )
