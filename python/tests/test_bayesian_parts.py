"""The Bayesian parts as Python objects: predictive parts, priors with provenance,
information from the data, decisions, the report, and the explanation tools."""

import numpy as np
import pytest

import credence
from conftest import FAST, FAST_HIDDEN


@pytest.fixture(scope="module")
def laplace(regression_data):
    X, y, _, _ = regression_data
    return credence.BayesianRegressor(method="laplace", hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)


def test_regression_predictive_parts_add_up(laplace, regression_data):
    _, _, Xt, _ = regression_data
    p = laplace.predictive(Xt)
    assert isinstance(p, credence.RegressionPredictive)
    for a in (p.mean, p.std, p.epistemic_std, p.aleatoric_std):
        assert isinstance(a, np.ndarray) and a.shape == (30,)
    np.testing.assert_allclose(p.std**2, p.epistemic_std**2 + p.aleatoric_std**2, rtol=1e-10)
    assert np.all(p.epistemic_std > 0) and np.all(p.aleatoric_std > 0)


def test_classification_predictive_parts(class_data):
    X, y, Xt, _ = class_data
    c = credence.BayesianClassifier(method="ensemble", hidden=FAST_HIDDEN, config={**FAST, "inference": {"members": 3}}, verbose=False).fit(X, y)
    p = c.predictive(Xt)
    assert isinstance(p, credence.ClassPredictive)
    assert p.probs.shape == (30, 3) and p.entropy.shape == (30,) and p.mutual_information.shape == (30,)
    assert np.all(p.mutual_information >= -1e-12)
    assert np.all(p.mutual_information <= p.entropy + 1e-12)
    assert p.classes == ["setosa", "versicolor", "virginica"]


def test_priors_list_distribution_groups_and_provenance(laplace):
    priors = laplace.priors_
    assert priors, "a Laplace fit has priors"
    for p in priors:
        assert isinstance(p, credence.Prior)
        assert p.provenance.kind in ("factual", "value", "default")
        assert p.provenance.source
    groups = {g for p in priors for g in p.groups}
    assert {"layer1.weight", "layer1.bias", "layer2.weight"} <= groups
    # Laplace tunes the prior on the evidence and says so: a factual provenance.
    assert any(p.provenance.kind == "factual" for p in priors)


def test_a_prior_object_is_used_with_its_provenance(regression_data):
    X, y, _, _ = regression_data
    priors = [
        credence.Prior(params="*.weight", dist=credence.Normal(0, 0.5), provenance=credence.Factual(source="a pilot study", note="sd 0.5")),
        credence.Prior(params="*.bias", dist=credence.Normal(0, 1), provenance=credence.Default(source="unit scale")),
        credence.Prior(params="noise", dist=credence.Gamma(6, 6), on="precision", provenance=credence.Value(source="policy", holder="tests")),
    ]
    r = credence.BayesianRegressor(priors=priors, hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    got = r.priors_
    assert [p.params for p in got] == ["*.weight", "*.bias", "noise"]
    assert got[0].dist.family == "normal" and got[0].dist.params == {"loc": 0.0, "scale": 0.5}
    assert got[0].provenance.describe() == "factual: a pilot study (sd 0.5)"
    assert set(got[0].groups) == {"layer1.weight", "layer2.weight"}
    assert got[2].on == "precision" and got[2].provenance.holder == "tests"


def test_a_prior_without_provenance_is_refused(regression_data):
    with pytest.raises(ValueError, match="provenance"):
        credence.Prior(params="*.weight", dist=credence.Normal(0, 1), provenance=None)
    X, y, _, _ = regression_data
    bad = {"params": "*.weight", "distribution": {"family": "normal", "loc": 0.0, "scale": 1.0}}
    r = credence.BayesianRegressor(priors=[bad], verbose=False)
    with pytest.raises(ValueError, match="has no provenance"):
        r.fit(X, y)


def test_maximum_likelihood_has_no_prior(regression_data):
    X, y, _, _ = regression_data
    r = credence.BayesianRegressor(method="mle", hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    assert r.priors_ == []
    assert r.model_.prior_summary.startswith("no prior")


def test_information_per_layer(laplace):
    info = laplace.information()
    assert info is not None
    text = repr(info)
    assert "layer1" in text and "kl" in text.lower()


def test_decide_under_a_value_file(laplace, regression_data):
    _, _, Xt, _ = regression_data
    decision = """
actions = ["act", "wait"]
loss = { kind = "threshold", threshold = 0.0, false_alarm = 1.0, miss = 4.0 }
provenance = { kind = "value", source = "test policy", holder = "tests" }
"""
    d = laplace.decide(Xt, decision)
    assert d["summary"]["rows"] == 30
    assert len(d["decisions"]) == 30
    assert {x["action"] for x in d["decisions"]} <= {"act", "wait"}
    assert d["values"]["kind"] == "value"


def test_report_writes_html(laplace, regression_data, tmp_path):
    _, _, Xt, yt = regression_data
    out = laplace.report(tmp_path / "r.html", Xt, yt)
    html = (tmp_path / "r.html").read_text()
    assert out.endswith("r.html") and html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_bayes_conjugate_calculator(root):
    # The README's worked example: 5% prevalence, sensitivity 0.90, specificity 0.95.
    r = credence.bayes(root / "examples" / "bayes" / "coin.toml")
    assert r["model"] and r["posterior"]
    r2 = credence.bayes(
        {
            "model": "beta-binomial",
            "prior": {"alpha": 2.0, "beta": 2.0, "provenance": {"kind": "default", "source": "Beta(2, 2)"}},
            "data": {"successes": 3, "trials": 10, "predict_trials": 20},
        }
    )
    assert r2["posterior"] == r["posterior"]
    with pytest.raises(ValueError):
        credence.bayes({"model": "beta-binomial", "prior": {"alpha": 2.0, "beta": 2.0}, "data": {"successes": 3, "trials": 10}})


def test_prior_check_and_sensitivity(root):
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(root / "examples" / "explain" / "sine.csv")
    target = df.columns[-1]
    c = credence.prior_check(df, target, config={"model": {"hidden": [8]}}, draws=50)
    assert c["draws"] == 50 and "warnings" in c
    s = credence.sensitivity(
        df, target, root / "examples" / "explain" / "alternatives.toml", config={"model": {"hidden": [8]}, **FAST}
    )
    assert s["alternatives"] and "verdict" in s


def test_evaluate_gives_the_clis_metrics(laplace, regression_data):
    _, _, Xt, yt = regression_data
    m = laplace.model_.evaluate(Xt, yt)
    rmse = float(np.sqrt(np.mean((laplace.predict(Xt) - yt) ** 2)))
    assert m["rmse"] == pytest.approx(rmse, rel=1e-12)
    assert np.isfinite(m["log_lik"]) and 0.0 <= m["coverage"][0]["observed"] <= 1.0


def test_classifier_report_and_decisions_use_class_names(class_data, tmp_path):
    X, y, Xt, yt = class_data
    c = credence.BayesianClassifier(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    c.report(tmp_path / "c.html", Xt, yt)
    assert "virginica" in (tmp_path / "c.html").read_text()
    m = c.model_.evaluate(Xt, yt, names=["x0", "x1"])
    assert m["accuracy"] == pytest.approx(c.score(Xt, yt), abs=1e-12)
    decision = """
classes = ["virginica", "setosa", "versicolor"]
actions = ["treat", "wait"]
costs = [[0.0, 1.0, 1.0], [5.0, 0.0, 0.0]]
provenance = { kind = "value", source = "test policy" }
"""
    d = c.decide(Xt, decision)
    treat = np.array([x["action"] == "treat" for x in d["decisions"]])
    p_virginica = c.predict_proba(Xt)[:, 2]
    # Treat when 5·P(virginica) > 1 − P(virginica).
    np.testing.assert_array_equal(treat, 5 * p_virginica > 1 - p_virginica)
