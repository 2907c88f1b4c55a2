"""Post-hoc calibration from Python (``calibrate=`` on the estimators): split conformal
intervals and APS sets with their coverage, temperature scaling, the calibration stored with the
model, and clear errors for bad arguments."""

import os
import pickle

import numpy as np
import pytest

import credence
from credence.distributed import LocalExecutor

from conftest import FAST_HIDDEN

QUICK = {"training": {"epochs": 120, "patience": 20}}


def hetero(n, seed):
    """y = sin(2 x) + noise whose sd grows with |x| (a homoscedastic fit under- and over-covers
    in places; split conformal covers on average regardless)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 1))
    y = np.sin(2 * X[:, 0]) + (0.05 + 0.25 * np.abs(X[:, 0])) * rng.standard_normal(n)
    return X, y


def blobs(n, seed, spread=1.6):
    """Three overlapping classes (labels as text)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 1.5], [1.3, -0.8], [-1.3, -0.8]])
    k = rng.integers(0, 3, size=n)
    X = centers[k] + spread * rng.standard_normal((n, 2))
    return X, np.array(["a", "b", "c"])[k]


def test_calibration_parameters_are_sklearn_parameters():
    r = credence.BayesianRegressor(calibrate="conformal", calibration_fraction=0.3)
    p = r.get_params()
    assert p["calibrate"] == "conformal" and p["calibration_fraction"] == 0.3
    assert credence.BayesianClassifier().get_params()["calibrate"] is None
    from sklearn.base import clone

    c = clone(r)
    assert c.calibrate == "conformal" and c.calibration_fraction == 0.3


def test_conformal_intervals_cover_at_the_nominal_level():
    # Split conformal: given the calibration rows, the coverage of a new row is
    # Beta(k, n + 1 − k) with k = ⌈(n + 1)·0.9⌉; n = 150 → mean 0.901, sd 0.024. Over five
    # seeds and 3000 test rows each the mean coverage has sd ≈ 0.011; the tolerance is 4 sd.
    Xt, yt = hetero(3000, 99)
    covs, bayes_covs = [], []
    for seed in range(5):
        X, y = hetero(300, seed)
        est = credence.BayesianRegressor(
            method="map", hidden=FAST_HIDDEN, config=QUICK, seed=seed, verbose=False,
            calibrate="conformal", calibration_fraction=0.5,
        ).fit(X, y)
        cal = est.calibration_
        assert cal["rows"] == 150 and cal["conformal"] == {"task": "regression", "score": "normalized", "scores": 150}
        assert cal["temperature"] is None
        iv = est.predict_interval(Xt, level=0.9)
        assert iv.level == 0.9 and iv.conformal_lower is not None
        assert np.all(iv.conformal_lower < iv.conformal_upper)
        covs.append(np.mean((iv.conformal_lower <= yt) & (yt <= iv.conformal_upper)))
        bayes_covs.append(np.mean((iv.bayes_lower <= yt) & (yt <= iv.bayes_upper)))
        # evaluate(interval=) reports the same coverage.
        ev = est.model_.evaluate(Xt, yt, interval=0.9)
        assert ev["coverage"]["level"] == 0.9
        assert abs(ev["coverage"]["conformal"]["coverage"] - covs[-1]) < 1e-12
        assert abs(ev["coverage"]["bayes"]["coverage"] - bayes_covs[-1]) < 1e-12
    assert abs(np.mean(covs) - 0.901) < 0.045, covs
    assert min(covs) > 0.8, covs


def test_conformal_sets_cover_and_temperature_lowers_held_out_nll(tmp_path):
    X, y = blobs(400, 3)
    Xt, yt = blobs(3000, 4)
    # Maximum likelihood with a wide network and no early stopping overfits overlapping
    # classes: overconfident probabilities, which temperature scaling (T > 1) softens.
    config = {"training": {"epochs": 400, "validation_fraction": 0.0, "learning_rate": 0.02}}
    est = credence.BayesianClassifier(
        method="mle", hidden=[32, 32], config=config, seed=1, verbose=False,
        calibrate=["temperature", "conformal"], calibration_fraction=0.4,
    ).fit(X, y)
    t = est.calibration_["temperature"]
    assert t["t"] > 1.0 and t["nll_after"] < t["nll_before"]
    assert est.calibration_["conformal"] == {"task": "classification", "method": "aps", "scores": 160}
    assert any("temperature T =" in line for line in est.calibration_["description"])

    # The same model without its temperature: the folder less calibration.json.
    est.save(tmp_path / "m")
    assert (tmp_path / "m" / "calibration.json").exists()
    loaded = credence.load(tmp_path / "m")
    assert loaded.calibration == est.calibration_
    os.remove(tmp_path / "m" / "calibration.json")
    raw = credence.load(tmp_path / "m")
    assert raw.calibration is None

    def nll(probs, labels):
        idx = np.searchsorted(est.classes_, labels)
        return -np.mean(np.log(np.clip(probs[np.arange(len(labels)), idx], 1e-300, None)))

    order = [raw.classes.index(c) for c in est.classes_]  # model columns in classes_ order
    tempered = est.predict_proba(Xt)
    untempered = raw.predictive(Xt).probs[:, order]
    assert nll(tempered, yt) < nll(untempered, yt) - 0.01
    np.testing.assert_allclose(loaded.predictive(Xt).probs[:, order], tempered)

    # APS sets at 90% cover about 90% of new rows (160 calibration rows: sd ≈ 0.024).
    sets = est.predict_interval(Xt, level=0.9)
    assert isinstance(sets, credence.PredictionSets) and sets.conformal is not None
    assert all(set(s) <= {"a", "b", "c"} and s for s in sets.conformal)
    cover = np.mean([label in s for label, s in zip(yt, sets.conformal)])
    assert abs(cover - 0.9) < 0.08, cover
    bayes = np.mean([label in s for label, s in zip(yt, sets.bayes)])
    ev = est.model_.evaluate(Xt, yt, interval=0.9)
    assert abs(ev["coverage"]["conformal"]["coverage"] - cover) < 1e-12
    assert abs(ev["coverage"]["bayes"]["coverage"] - bayes) < 1e-12

    # Pickling keeps the calibration (the model travels as its folder).
    again = pickle.loads(pickle.dumps(est))
    assert again.calibration_ == est.calibration_
    np.testing.assert_allclose(again.predict_proba(Xt), tempered)


def test_without_calibration_only_the_bayesian_region_is_given(regression_data):
    X, y, Xt, _ = regression_data
    est = credence.BayesianRegressor(method="map", hidden=FAST_HIDDEN, config=QUICK, verbose=False).fit(X, y)
    assert est.calibration_ is None and est.model_.calibration is None
    iv = est.predict_interval(Xt, level=0.8)
    assert iv.conformal_lower is None and iv.conformal_upper is None
    assert np.all(iv.bayes_lower < iv.bayes_upper)
    ev = est.model_.evaluate(Xt, np.zeros(len(Xt)), interval=0.8)
    assert ev["coverage"]["conformal"] is None


def test_the_calibrated_fit_on_an_executor_is_the_local_one(regression_data):
    X, y, Xt, _ = regression_data
    kw = dict(method="ensemble", hidden=FAST_HIDDEN, config={**QUICK, "inference": {"members": 2}},
              seed=3, verbose=False, calibrate="conformal", calibration_fraction=0.25)
    local = credence.BayesianRegressor(**kw).fit(X, y)
    apart = credence.BayesianRegressor(executor=LocalExecutor(progress=False), **kw).fit(X, y)
    assert local.calibration_ == apart.calibration_ and local.calibration_["rows"] == 23
    a, b = local.predict_interval(Xt), apart.predict_interval(Xt)
    np.testing.assert_array_equal(a.conformal_lower, b.conformal_lower)
    np.testing.assert_array_equal(a.conformal_upper, b.conformal_upper)


@pytest.mark.parametrize(
    "cls,kw,message",
    [
        (credence.BayesianRegressor, {"calibrate": "bogus"}, "calibrate must be 'conformal', 'temperature'"),
        (credence.BayesianRegressor, {"calibrate": []}, "calibrate must be"),
        (credence.BayesianRegressor, {"calibrate": "temperature"}, "applies to classifiers"),
        (credence.BayesianRegressor, {"calibrate": "conformal", "calibration_fraction": 1.5}, "strictly between 0 and 1"),
        (credence.BayesianClassifier, {"calibrate": "temperature", "calibration_fraction": 0}, "strictly between 0 and 1"),
        (credence.BayesianClassifier, {"calibrate": "temperature", "calibration_fraction": "a"}, "calibration_fraction"),
    ],
)
def test_bad_calibration_arguments_are_value_errors(cls, kw, message):
    X, y = blobs(40, 0)
    if cls is credence.BayesianRegressor:
        y = X[:, 0]
    with pytest.raises(ValueError, match=message):
        cls(hidden=[4], config=QUICK, verbose=False, **kw).fit(X, y)


def test_bad_levels_and_too_few_rows_are_value_errors(regression_data):
    X, y, Xt, _ = regression_data
    est = credence.BayesianRegressor(
        method="map", hidden=[4], config=QUICK, verbose=False, calibrate="conformal"
    ).fit(X, y)
    for level in (0.0, 1.0, 1.5, "high"):
        with pytest.raises(ValueError, match="level must"):
            est.predict_interval(Xt, level=level)
    with pytest.raises(ValueError, match="level must"):
        est.model_.evaluate(Xt, np.zeros(len(Xt)), interval=2.0)
    with pytest.raises(ValueError, match="too few to hold some out"):
        credence.BayesianRegressor(hidden=[4], config=QUICK, verbose=False, calibrate="conformal").fit(X[:3], y[:3])
