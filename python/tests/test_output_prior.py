"""A prior stated on the outputs, from Python: the config dict's ``output_prior`` calibrates the
weight priors, the fit records the statement, and the priors carry it as their provenance."""

import credence

from conftest import FAST


def test_output_prior_from_a_config_dict(regression_data):
    X, y, _, _ = regression_data
    belief = {
        "range": [-2.0, 2.0],
        "mass": 0.9,
        "provenance": {"kind": "factual", "source": "the response stays within ±2"},
    }
    est = credence.BayesianRegressor(
        method="map", hidden=[8], likelihood="gaussian", config={**FAST, "output_prior": belief}, verbose=False
    ).fit(X, y)
    rec = est.model_.record["output_prior"]
    assert rec["stated"] == [-2.0, 2.0] and abs(rec["achieved"][1] - 2.0) < 0.5
    weights = [p for p in est.priors_ if p.params == "layer2.weight"]
    assert weights and weights[0].provenance.kind == "factual"
    assert "calibrated to the stated output belief" in weights[0].provenance.note
