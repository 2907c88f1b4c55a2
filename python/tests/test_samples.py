"""Samples for the ecosystem's tools: chains × draws × parameters, and ArviZ export."""

import sys

import numpy as np
import pytest

import credence

NUTS = {"training": {"epochs": 100, "patience": 20}, "inference": {"chains": 2, "warmup": 80, "draws": 50, "max_depth": 6}}


@pytest.fixture(scope="module")
def nuts(regression_data):
    X, y, _, _ = regression_data
    return credence.BayesianRegressor(method="nuts", hidden=[4], config=NUTS, verbose=False, seed=2).fit(X, y)


def test_samples_are_chains_by_draws_by_parameters(nuts):
    s = nuts.samples()
    groups = nuts.model_.parameter_groups()
    dim = max(g.stop for g in groups.values())
    assert s.shape == (2, 50, dim)
    assert np.all(np.isfinite(s))
    # Chains differ (they are seeded apart).
    assert not np.allclose(s[0], s[1])


def test_samples_of_a_point_estimate_are_refused(regression_data):
    X, y, _, _ = regression_data
    r = credence.BayesianRegressor(method="map", hidden=[4], config={"training": {"epochs": 50}}, verbose=False).fit(X, y)
    with pytest.raises(ValueError, match="sampling method"):
        r.samples()


def test_to_arviz_has_posterior_stats_and_predictive(nuts, regression_data):
    az = pytest.importorskip("arviz")
    _, _, Xt, _ = regression_data
    idata = nuts.to_arviz(Xt)
    assert "posterior" in idata.groups() if hasattr(idata, "groups") else True
    post = idata.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 50
    assert "layer1.weight" in post.data_vars
    stats = idata.sample_stats
    for name in ("diverging", "tree_depth", "energy"):
        assert name in stats.data_vars, name
    assert idata.posterior_predictive["mean"].shape == (2, 50, 30)
    summary = az.summary(idata, var_names=["noise"])
    assert len(summary) >= 1


def test_to_arviz_without_arviz_says_how_to_install(nuts, monkeypatch):
    monkeypatch.setitem(sys.modules, "arviz", None)
    with pytest.raises(ImportError, match="pip install arviz"):
        nuts.to_arviz()
