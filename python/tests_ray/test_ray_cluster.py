"""credence.distributed on a real multi-node Ray cluster on this machine (a head and a worker
node, one CPU each): ensembles, MultiSWAG members, chains, UCI splits, curves and grid search give the local
answers; a worker killed mid-fit is retried to the same answer; nothing is left running.

Run inside a network namespace with only loopback (``scripts/test`` does: ``unshare --net``,
then ``ip link set lo up``), so that every Ray server listens on 127.0.0.1 only.
"""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

import credence
from credence.distributed import LocalExecutor, RayExecutor, UnitError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from test_distributed import tensors  # noqa: E402

YACHT = ROOT / "data" / "yacht"
STORE = 80 * 2**20


def _ray_pids() -> set:
    """Processes of Ray's (servers and workers), by their command lines."""
    out = set()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray::" in cmd or "raylet" in cmd or "gcs_server" in cmd or "/ray/" in cmd:
            out.add(int(p))
    return out


@pytest.fixture(scope="module")
def cluster():
    before = _ray_pids()
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": STORE, "include_dashboard": False},
    )
    c.add_node(num_cpus=1, object_store_memory=STORE)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()
    deadline = time.monotonic() + 30
    left = _ray_pids() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = {p for p in _ray_pids() - before if os.path.exists(f"/proc/{p}")}
    assert not left, f"Ray processes left behind: {sorted(left)}"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(90, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.standard_normal(90)
    return X, y


def _est(method, executor=None, **inference):
    config = {"training": {"epochs": 150, "patience": 20}, "inference": inference}
    return credence.BayesianRegressor(method=method, hidden=[8], config=config, seed=4, verbose=False, executor=executor)


def _same(a, b, tmp_path) -> bool:
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    return tensors(tmp_path / "a" / "posterior.safetensors") == tensors(tmp_path / "b" / "posterior.safetensors")


def test_the_cluster_has_two_nodes_on_loopback(cluster):
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 2
    assert {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}


@pytest.mark.parametrize(
    "method,inference",
    [
        ("ensemble", {"members": 4}),
        ("nuts", {"chains": 2, "warmup": 80, "draws": 30}),
        ("multiswag", {"members": 3, "epochs": 12, "burn_in": 4, "rank": 5, "samples": 5}),
    ],
)
def test_a_distributed_fit_is_the_local_fit(cluster, data, tmp_path, method, inference):
    X, y = data
    local = _est(method, **inference).fit(X, y)
    remote = _est(method, RayExecutor(progress=False), **inference).fit(X, y)
    assert _same(local, remote, tmp_path)
    # An ordinary model folder: Python and the CLI load it and predict like the local fit.
    loaded = credence.load(tmp_path / "b")
    np.testing.assert_array_equal(loaded.predictive(X[:5], names=["x0", "x1"]).mean, local.predict(X[:5]))
    cli = os.environ.get("CREDENCE_CLI")
    if cli:  # scripts/test sets it (the debug build of the CLI)
        import subprocess

        import pandas as pd

        pd.DataFrame(X[:5], columns=["x0", "x1"]).to_csv(tmp_path / "t.csv", index=False)
        subprocess.run(
            [cli, "predict", "--model", str(tmp_path / "b"), "--data", str(tmp_path / "t.csv"), "--out", str(tmp_path / "p.csv")],
            check=True,
            capture_output=True,
        )
        np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["mean"], local.predict(X[:5]), rtol=1e-12)


def test_uci_splits_curve_and_sensitivity_on_the_cluster_match_local_runs(cluster):
    ex = RayExecutor(progress=False)
    config = {"model": {"hidden": [5]}, "training": {"epochs": 40}}
    remote = ex.bench_uci(YACHT, "map", splits=3, config=config)
    local = json.loads(credence._credence.bench_uci(str(YACHT), "map", json.dumps({"config": config}), [0, 1, 2]))
    assert [s["ll"] for s in remote["per_split"]] == [s["ll"] for s in local["per_split"]]
    assert remote["ll_mean"] == local["ll_mean"] and remote["splits"] == 3
    c_remote = ex.curve(YACHT, ["mle", "map"], [20], repeats=2, config=config)
    c_local = LocalExecutor(progress=False).curve(YACHT, ["mle", "map"], [20], repeats=2, config=config)
    assert c_remote == c_local


def test_grid_search_through_joblib_on_the_cluster(cluster, data):
    from sklearn.model_selection import GridSearchCV

    X, y = data
    grid = {"hidden": [[4], [8]]}
    base = credence.BayesianRegressor(method="map", config={"training": {"epochs": 60}}, verbose=False)
    local = GridSearchCV(base, grid, cv=2).fit(X, y)
    ex = RayExecutor(progress=False)
    with ex.joblib_backend():
        remote = GridSearchCV(base, grid, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(local.cv_results_["mean_test_score"], remote.cv_results_["mean_test_score"])


def test_a_killed_worker_is_retried_to_the_same_answer(cluster, data, tmp_path):
    X, y = data
    inference = {"members": 3}
    slow = {"training": {"epochs": 4000}, "inference": inference}
    local = credence.BayesianRegressor(method="ensemble", hidden=[16], config=slow, seed=1, verbose=False).fit(X, y)
    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for p in os.listdir("/proc"):
                if not p.isdigit():
                    continue
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if cmd.startswith(b"ray::_fit_unit"):
                    os.kill(int(p), signal.SIGKILL)
                    killed.append(int(p))
                    return
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    remote = credence.BayesianRegressor(
        method="ensemble", hidden=[16], config=slow, seed=1, verbose=False, executor=RayExecutor(progress=False)
    ).fit(X, y)
    t.join()
    assert killed, "no unit was seen running, so none was killed"
    assert _same(local, remote, tmp_path)


def test_a_unit_with_bad_settings_is_not_retried_and_is_named(cluster, data):
    X, y = data
    bad = {"training": {"epochs": 1, "learning_rate": 1e300}}
    with pytest.raises(UnitError, match="unit 0 failed"):
        RayExecutor(progress=False, max_retries=5).bench_uci(YACHT, "map", splits=1, config=bad)


def test_the_readme_scaling_example_runs(cluster, capsys):
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Scaling out\n", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(block, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert "yacht MAP over 4 splits: test LL" in capsys.readouterr().out
