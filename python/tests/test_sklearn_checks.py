"""scikit-learn's conformance suite on both estimators, with small settings (the suite fits
many times on tiny data); the checks that cannot apply are in SKLEARN_EXPECTED_FAILURES."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import credence

SMALL = {"training": {"epochs": 100, "patience": 20}}


def _expected(est):
    return credence.SKLEARN_EXPECTED_FAILURES[type(est).__name__]


@parametrize_with_checks(
    [
        credence.BayesianRegressor(hidden=[8], config=SMALL, verbose=False),
        credence.BayesianClassifier(hidden=[8], config=SMALL, verbose=False),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_conformance(estimator, check):
    check(estimator)


def test_expected_failures_have_reasons():
    for name, checks in credence.SKLEARN_EXPECTED_FAILURES.items():
        assert name in ("BayesianRegressor", "BayesianClassifier")
        for check, reason in checks.items():
            assert check.startswith("check_") and len(reason) > 20
