"""Credence from Python: Bayesian deep learning with auditable priors.

The same Rust core as the ``credence`` command-line program: scikit-learn estimators
(``BayesianRegressor``, ``BayesianClassifier``), priors with provenance (``Prior``,
``Normal``, ``Factual``, …), fitted models with their predictive parts, decisions, reports and
posterior draws (``Model``, ``load``), post-hoc calibration (``calibrate=`` on the
estimators: conformal intervals and sets from ``predict_interval``, temperature scaling),
and the explanation tools (``bayes``, ``prior_check``, ``sensitivity``). Model folders are the CLI's: ``credence.load`` reads what ``credence fit``
writes, and ``credence predict`` reads what ``Model.save`` writes. ``credence.distributed``
runs ensemble members, chains, benchmark splits and sweeps as Ray tasks (Ray optional).
"""

from ._credence import NumericalError, __version__
from ._estimators import LIKELIHOODS, METHODS, BayesianClassifier, BayesianRegressor
from ._explain import bayes, prior_check, sensitivity
from ._model import ClassPredictive, Model, PredictionSets, RegressionIntervals, RegressionPredictive, load
from ._priors import (
    Cauchy,
    Default,
    Distribution,
    Factual,
    Gamma,
    HalfCauchy,
    HalfNormal,
    InverseGamma,
    Laplace,
    LogNormal,
    Normal,
    Prior,
    Provenance,
    StudentT,
    Value,
)
from ._sklearn_checks import SKLEARN_EXPECTED_FAILURES

__all__ = [
    "__version__", "BayesianRegressor", "BayesianClassifier", "Model", "load", "RegressionPredictive",
    "ClassPredictive", "RegressionIntervals", "PredictionSets", "Prior", "Distribution", "Normal", "Laplace", "StudentT", "Cauchy", "HalfNormal",
    "HalfCauchy", "Gamma", "LogNormal", "InverseGamma", "Provenance", "Factual", "Value", "Default", "bayes",
    "prior_check", "sensitivity", "METHODS", "LIKELIHOODS", "SKLEARN_EXPECTED_FAILURES", "NumericalError",
]
