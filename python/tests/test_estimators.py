"""The scikit-learn estimators: fit, predict (with sd), predict_proba, score, params, and use
in Pipeline, cross_val_score and GridSearchCV; every method the CLI has."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import credence
from conftest import FAST, FAST_HIDDEN


def fast_regressor(**kw):
    return credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False, **kw)


def test_defaults_are_the_librarys():
    r = credence.BayesianRegressor()
    p = r.get_params()
    # None means "the library's default", exactly as the CLI without flags.
    assert p["method"] is None and p["hidden"] is None and p["config"] is None
    assert p["missing"] == "error"


def test_methods_are_the_clis():
    assert set(credence.METHODS) == {
        "mle", "map", "laplace", "vi", "mc-dropout", "ensemble", "anchored-ensemble",
        "nuts", "hmc", "sgld", "sghmc", "swag", "multiswag",
    }


def test_regressor_fits_and_predicts_with_sd(regression_data):
    X, y, Xt, yt = regression_data
    r = fast_regressor(method="laplace").fit(X, y)
    assert r.n_features_in_ == 2
    mean, sd = r.predict(Xt, return_std=True)
    assert mean.shape == (30,) and sd.shape == (30,)
    assert np.all(sd > 0)
    assert np.allclose(mean, r.predict(Xt))
    assert r.score(Xt, yt) > 0.8


def test_classifier_probabilities_and_labels(class_data):
    X, y, Xt, yt = class_data
    c = credence.BayesianClassifier(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    assert list(c.classes_) == ["setosa", "versicolor", "virginica"]
    p = c.predict_proba(Xt)
    assert p.shape == (30, 3)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert set(c.predict(Xt)) <= set(c.classes_)
    assert c.score(Xt, yt) > 0.9


def test_classifier_keeps_integer_label_order():
    # Labels whose text order differs from their numeric order (2 < 10 but "10" < "2").
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(-2, 0.5, (40, 1)), rng.normal(2, 0.5, (40, 1))])
    y = np.array([2] * 40 + [10] * 40)
    c = credence.BayesianClassifier(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    assert list(c.classes_) == [2, 10]
    p = c.predict_proba(np.array([[-2.0], [2.0]]))
    assert p[0, 0] > 0.9 and p[1, 1] > 0.9
    assert list(c.predict(np.array([[-2.0], [2.0]]))) == [2, 10]


def test_params_round_trip_and_clone():
    r = fast_regressor(method="vi", seed=3)
    r2 = clone(r)
    assert r2.get_params() == r.get_params()
    r2.set_params(method="map", hidden=[4])
    assert r2.method == "map" and r2.hidden == [4]


def test_pipeline_cross_val_and_grid_search(regression_data):
    X, y, _, _ = regression_data
    pipe = make_pipeline(StandardScaler(), fast_regressor())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    grid = GridSearchCV(fast_regressor(), {"method": ["mle", "map"], "hidden": [[4], [8]]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["method"] in ("mle", "map")
    assert grid.best_estimator_.model_.method == grid.best_params_["method"]


#: Per method, small inference settings (the samplers refuse keys that are not theirs).
FAST_INFERENCE = {
    "nuts": {"chains": 2, "warmup": 60, "draws": 40, "max_depth": 5},
    "hmc": {"chains": 2, "warmup": 60, "draws": 40},
    "sgld": {"chains": 2, "epochs": 40},
    "sghmc": {"chains": 2, "epochs": 40},
    "ensemble": {"members": 2},
    "anchored-ensemble": {"members": 2},
    "vi": {"samples": 8, "epochs": 80},
    "mc-dropout": {"passes": 8},
    "swag": {"epochs": 8, "burn_in": 2, "rank": 4, "samples": 8},
    "multiswag": {"epochs": 8, "burn_in": 2, "rank": 4, "samples": 4, "members": 2},
}


def fast_config(method):
    """Small training and inference settings for `method`."""
    return {"training": {"epochs": 80, "patience": 20}, "inference": FAST_INFERENCE.get(method, {})}


@pytest.mark.parametrize("method", sorted(credence.METHODS))
def test_every_method_fits_and_predicts(method, regression_data):
    X, y, Xt, _ = regression_data
    r = credence.BayesianRegressor(method=method, hidden=[6], config=fast_config(method), verbose=False, seed=1)
    try:
        r.fit(X, y)
    except ValueError as e:
        pytest.fail(f"{method}: {e}")
    p = r.predictive(Xt)
    assert np.all(np.isfinite(p.mean)) and np.all(p.std > 0)
    assert r.model_.method == method


def test_config_file_path_and_dict_agree(tmp_path, regression_data):
    X, y, Xt, _ = regression_data
    path = tmp_path / "c.toml"
    path.write_text("[model]\nhidden = [5]\n[training]\nepochs = 100\npatience = 20\n")
    a = credence.BayesianRegressor(config=str(path), verbose=False).fit(X, y)
    b = credence.BayesianRegressor(config={"model": {"hidden": [5]}, "training": {"epochs": 100, "patience": 20}}, verbose=False).fit(X, y)
    assert a.model_.record["model"]["mlp"]["sizes"] [:2] == [2, 5]
    np.testing.assert_array_equal(a.predict(Xt), b.predict(Xt))


def test_seed_makes_fits_repeatable(regression_data):
    X, y, Xt, _ = regression_data
    a = fast_regressor(seed=5).fit(X, y).predict(Xt)
    b = fast_regressor(seed=5).fit(X, y).predict(Xt)
    c = fast_regressor(seed=6).fit(X, y).predict(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
