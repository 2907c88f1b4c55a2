"""Shared fixtures: small data, fast settings, the repository's files and the CLI binary."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Small, fast training settings for tests (the public defaults are the library's).
FAST = {"training": {"epochs": 150, "patience": 20}}
FAST_HIDDEN = [8]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def regression_data():
    """y = sin(2 x0) + 0.5 x1 + noise, 120 rows; the first 90 for training."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(120, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.standard_normal(120)
    return X[:90], y[:90], X[90:], y[90:]


@pytest.fixture(scope="session")
def class_data():
    """Three well separated blobs with string labels, 150 rows; the first 120 for training."""
    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    k = np.repeat(np.arange(3), 50)
    X = centers[k] + 0.6 * rng.standard_normal((150, 2))
    labels = np.array(["setosa", "versicolor", "virginica"])[k]
    perm = rng.permutation(150)
    X, labels = X[perm], labels[perm]
    return X[:120], labels[:120], X[120:], labels[120:]


@pytest.fixture(scope="session")
def penguins():
    """The bundled Palmer penguins table (text, numeric and missing cells)."""
    pd = pytest.importorskip("pandas")
    return pd.read_csv(ROOT / "data" / "penguins" / "penguins.csv")


@pytest.fixture(scope="session")
def cli() -> str:
    """The `credence` binary: $CREDENCE_CLI (scripts/test sets it), else target/debug."""
    path = os.environ.get("CREDENCE_CLI")
    if path:
        assert Path(path).exists(), f"CREDENCE_CLI={path} does not exist"
        return path
    for p in (ROOT / "target" / "debug" / "credence", ROOT / "target" / "release" / "credence"):
        if p.exists():
            return str(p)
    found = shutil.which("credence")
    if found is None:
        pytest.skip("no credence binary: build it with `cargo build -p credence-cli` or set CREDENCE_CLI")
    return found
