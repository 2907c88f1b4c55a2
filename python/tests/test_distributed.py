"""credence.distributed without Ray: the LocalExecutor runs the same units a RayExecutor sends
to workers, and the combined results are the local ones to the last bit."""

import json

import numpy as np
import pytest

import credence
from credence.distributed import LocalExecutor, RayExecutor, UnitError

from conftest import FAST, FAST_HIDDEN, ROOT

YACHT = ROOT / "data" / "yacht"


def tensors(path) -> dict:
    """The tensors of a saved posterior (safetensors: header length, JSON header, data), as
    name -> (shape, raw bytes)."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    return {
        k: (v["shape"], data[v["data_offsets"][0] : v["data_offsets"][1]])
        for k, v in header.items()
        if k != "__metadata__"
    }


def same_posterior(a, b, tmp_path) -> bool:
    """Whether two fitted estimators save the same posterior tensors, bit for bit."""
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    return tensors(tmp_path / "a" / "posterior.safetensors") == tensors(tmp_path / "b" / "posterior.safetensors")


def _fit(method, X, y, executor=None, **inference):
    config = {**FAST, "inference": inference} if inference else FAST
    est = credence.BayesianRegressor(
        method=method, hidden=FAST_HIDDEN, config=config, seed=4, verbose=False, executor=executor
    )
    return est.fit(X, y)


@pytest.mark.parametrize(
    "method,inference",
    [
        ("ensemble", {"members": 3}),
        ("anchored-ensemble", {"members": 2}),
        ("nuts", {"chains": 2, "warmup": 60, "draws": 20}),
        ("multiswag", {"members": 3, "epochs": 10, "burn_in": 3, "rank": 4, "samples": 5}),
        ("map", {}),
    ],
)
def test_units_combine_into_the_local_fit(regression_data, tmp_path, method, inference):
    X, y, Xt, _ = regression_data
    local = _fit(method, X, y, **inference)
    apart = _fit(method, X, y, LocalExecutor(progress=False), **inference)
    assert same_posterior(local, apart, tmp_path)
    np.testing.assert_array_equal(local.predict(Xt), apart.predict(Xt))
    assert local.model_.record["prior_summary"] == apart.model_.record["prior_summary"]


def test_bench_curve_and_sensitivity_by_units_match_the_local_runs(regression_data):
    ex = LocalExecutor(progress=False)
    config = {"model": {"hidden": [5]}, "training": {"epochs": 30}}
    by_units = ex.bench_uci(YACHT, "map", splits=[0, 2], config=config)
    assert [s["split"] for s in by_units["per_split"]] == [0, 2]
    whole = LocalExecutor(progress=False).bench_uci(YACHT, "map", splits=[2, 0], config=config)
    assert by_units["ll_mean"] == whole["ll_mean"] and by_units["rmse_se"] == whole["rmse_se"]

    curve = ex.curve(YACHT, ["mle", "map"], [20, 40], repeats=2, config=config, seed=1)
    assert len(curve["runs"]) == 8 and len(curve["paired"]) == 2

    import pandas as pd

    X, y, _, _ = regression_data
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})
    alts = '[[alternative]]\nname = "tight"\nscale = 0.1\n'
    s_units = ex.sensitivity(df, "y", alts, config=config, seed=2)
    s_local = credence.sensitivity(df, "y", alts, config=config, seed=2)
    assert s_units == s_local


def test_a_unit_that_fails_for_its_data_names_itself(regression_data):
    X, y, _, _ = regression_data
    bad = {"training": {"epochs": 5}, "inference": {"members": 2, "perturb_targets": True}}
    est = credence.BayesianRegressor(method="anchored-ensemble", config=bad, verbose=False, executor=LocalExecutor())
    with pytest.raises(ValueError, match="perturb_targets"):
        est.fit(X, y)
    with pytest.raises(UnitError, match="unit 0 failed"):
        LocalExecutor(progress=False).bench_uci(YACHT, "map", splits=1, config={"model": {"activation": "tanh"}, "training": {"epochs": 1, "learning_rate": 1e300}})


def test_executors_check_their_arguments():
    with pytest.raises(ValueError, match="num_cpus"):
        RayExecutor(num_cpus=0)
    with pytest.raises(ValueError, match="max_retries"):
        RayExecutor(max_retries=-1)
    with pytest.raises(ValueError, match="at least one split"):
        LocalExecutor().bench_uci(YACHT, "map", splits=[])


def test_without_ray_the_ray_executor_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ImportError, match="pip install ray"):
        RayExecutor(progress=False).bench_uci(YACHT, "map", splits=1)
    # Everything else works without Ray.
    assert LocalExecutor(progress=False).bench_uci(YACHT, "map", splits=1, config={"training": {"epochs": 5}})["splits"] == 1
