"""Convolutional networks from Python: ``layers=`` with an image array ``N×H×W`` or
``N×C×H×W`` (the input shape read from ``X``), or flat pixel columns with ``input_shape=``."""

import numpy as np
import pandas as pd
import pytest

import credence
from conftest import ROOT

LAYERS = [{"conv2d": {"out": 4, "kernel": 3, "padding": 1}}, {"pool": "max2"}, {"dense": 16}]
FAST = {"training": {"epochs": 40}}


@pytest.fixture(scope="module")
def digits():
    d = pd.read_csv(ROOT / "data" / "classification" / "digits.csv")
    X = d.drop(columns="label").to_numpy(dtype=np.float64).reshape(-1, 8, 8)
    y = d["label"].to_numpy()
    return X[:600], y[:600], X[600:900], y[600:900]


def test_cnn_classifier_on_image_arrays(digits):
    X, y, Xt, yt = digits
    c = credence.BayesianClassifier(layers=LAYERS, config=FAST, seed=0, verbose=False)
    c.fit(X, y)
    assert c.n_features_in_ == 64
    assert c.score(Xt, yt) > 0.85
    # The same images with an explicit channel axis (N×C×H×W) predict the same.
    p = c.predict_proba(Xt)
    np.testing.assert_allclose(c.predict_proba(Xt[:, None, :, :]), p)
    assert p.shape == (300, 10)
    with pytest.raises(ValueError, match="shape"):
        c.predict(Xt[:, :4, :])


def test_flat_pixels_with_input_shape_and_laplace(digits):
    X, y, Xt, yt = digits
    c = credence.BayesianClassifier(
        method="laplace", layers=LAYERS, input_shape=[1, 8, 8], config=FAST, seed=0, verbose=False
    )
    c.fit(X.reshape(len(X), -1), y)
    assert c.score(Xt.reshape(len(Xt), -1), yt) > 0.8


def test_bad_layers_are_python_exceptions(digits):
    X, y, _, _ = digits
    with pytest.raises(Exception, match="input_shape"):
        credence.BayesianClassifier(layers=LAYERS, config=FAST, verbose=False).fit(
            X.reshape(len(X), -1), y
        )
    with pytest.raises(Exception, match="layers"):
        credence.BayesianClassifier(
            layers=[{"conv2d": {"out": 2, "kernel": 9}}], config=FAST, verbose=False
        ).fit(X, y)
