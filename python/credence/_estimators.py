"""scikit-learn estimators over the Credence core: ``BayesianRegressor`` and
``BayesianClassifier``. ``__init__`` only stores its arguments; ``fit`` validates, calls one
Rust function and keeps the fitted model in ``model_`` (a ``credence.Model``)."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _credence
from ._model import (
    ClassPredictive,
    Model,
    PredictionSets,
    RegressionIntervals,
    RegressionPredictive,
    calibration_summary,
    check_level,
)
from ._priors import prior_to_config
from ._tables import array_columns, default_names, frame_columns, is_dataframe

#: Likelihood names as ``credence fit --likelihood`` takes them, as config tables.
LIKELIHOODS: Dict[str, Dict[str, Any]] = {
    "gaussian": {"family": "gaussian"},
    "heteroscedastic": {"family": "heteroscedastic"},
    "student-t": {"family": "student-t", "df": 4.0},
    "bernoulli": {"family": "bernoulli"},
    "categorical": {"family": "categorical"},
    "poisson": {"family": "poisson"},
}

ConfigLike = Union[None, Dict[str, Any], str, "os.PathLike[str]"]


def _merge(base: Dict[str, Any], over: Dict[str, Any]) -> Dict[str, Any]:
    """``over`` laid on ``base``: dicts merged key by key, anything else replaced."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class _BayesianEstimator(BaseEstimator):
    """What the regressor and the classifier share: parameters, config, fitting, saving."""

    _classifier = False

    def __init__(
        self,
        method: Optional[str] = None,
        hidden: Optional[Sequence[int]] = None,
        activation: Optional[str] = None,
        layers: Optional[Sequence[Any]] = None,
        input_shape: Optional[Sequence[int]] = None,
        likelihood: Optional[Union[str, Dict[str, Any]]] = None,
        priors: Optional[Sequence[Any]] = None,
        config: ConfigLike = None,
        seed: Optional[int] = None,
        missing: str = "error",
        categorical: Optional[Sequence[str]] = None,
        verbose: bool = True,
        executor: Any = None,
        calibrate: Optional[Union[str, Sequence[str]]] = None,
        calibration_fraction: float = 0.2,
    ) -> None:
        self.method = method
        self.hidden = hidden
        self.activation = activation
        self.layers = layers
        self.input_shape = input_shape
        self.likelihood = likelihood
        self.priors = priors
        self.config = config
        self.seed = seed
        self.missing = missing
        self.categorical = categorical
        self.verbose = verbose
        self.executor = executor
        self.calibrate = calibrate
        self.calibration_fraction = calibration_fraction

    # --- settings ---------------------------------------------------------------------
    def _config_overlay(self) -> Tuple[Optional[str], Dict[str, Any]]:
        """(config file path, config entries laid over it) from the constructor parameters."""
        path: Optional[str] = None
        base: Dict[str, Any] = {}
        if isinstance(self.config, dict):
            base = dict(self.config)
        elif self.config is not None:
            path = os.fspath(self.config)
        over: Dict[str, Any] = {}
        model: Dict[str, Any] = {}
        if self.hidden is not None:
            model["hidden"] = [int(self.hidden)] if np.isscalar(self.hidden) else [int(h) for h in self.hidden]
        if self.activation is not None:
            model["activation"] = self.activation
        if self.layers is not None:
            model["layers"] = [dict(l) if isinstance(l, dict) else str(l) for l in self.layers]
        shape = self.input_shape if self.input_shape is not None else getattr(self, "_image_shape_", None)
        if shape is not None and (self.input_shape is not None or self.layers is not None):
            model["input_shape"] = [int(d) for d in shape]
        lik = self.likelihood
        if lik is None and self._classifier and "likelihood" not in (base.get("model") or {}):
            lik = "categorical"
        if lik is not None:
            if isinstance(lik, str):
                if lik not in LIKELIHOODS:
                    raise ValueError(
                        f"unknown likelihood '{lik}'; expected one of: {', '.join(LIKELIHOODS)}"
                    )
                lik = LIKELIHOODS[lik]
            model["likelihood"] = dict(lik)
        if model:
            over["model"] = model
        if self.priors is not None:
            over["prior"] = [prior_to_config(p) for p in self.priors]
        return path, _merge(base, over)

    def _calibrations(self) -> Optional[str]:
        """``calibrate`` as the CLI's comma-separated list, checked, or ``None``."""
        c = self.calibrate
        if c is None:
            return None
        kinds = [p.strip() for p in c.split(",")] if isinstance(c, str) else list(c)
        known = ("conformal", "temperature")
        if not kinds or any(not isinstance(k, str) or k not in known for k in kinds):
            raise ValueError(
                "calibrate must be 'conformal', 'temperature', both (['conformal', 'temperature'] "
                f"or 'conformal,temperature') or None; got {c!r}"
            )
        if "temperature" in kinds and not self._classifier:
            raise ValueError(
                "calibrate='temperature' applies to classifiers (BayesianClassifier); "
                "a regressor takes calibrate='conformal'"
            )
        f = self.calibration_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float, np.integer, np.floating)) or not 0.0 < float(f) < 1.0:
            raise ValueError(
                f"calibration_fraction must be a number strictly between 0 and 1 (e.g. 0.2), got {f!r}"
            )
        return ",".join(dict.fromkeys(kinds))

    def _options(self, targets: List[str], source: str, names: Sequence[str]) -> str:
        import json

        calibrate = self._calibrations()
        path, overlay = self._config_overlay()
        return json.dumps(
            {
                "source": source,
                "targets": targets,
                "features": list(names),
                "categorical": list(self.categorical or []),
                "missing": self.missing,
                "config_path": path,
                "config": overlay,
                "method": self.method,
                "seed": None if self.seed is None else int(self.seed),
                "verbose": bool(self.verbose),
                "calibrate": calibrate,
                "calibration_fraction": float(self.calibration_fraction) if calibrate else 0.2,
            }
        )

    def _allow_nan(self) -> bool:
        return self.missing in ("impute", "drop")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags

    # --- fitting ----------------------------------------------------------------------
    def _table(self, X: Any, y: Any, reset: bool) -> Tuple[str, list, List[str], Any]:
        """(source, feature columns, their names, y) with scikit-learn's checks."""
        X = self._flatten_images(X, reset)
        if is_dataframe(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
            if reset and y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None"
                )
            names = [str(c) for c in X.columns]
            return "DataFrame", frame_columns(X), names, y
        finite: Any = "allow-nan" if self._allow_nan() else True
        # Object arrays keep their cells (typed as a CSV column would be); others are numbers.
        dtype: Any = None if getattr(X, "dtype", None) == object else "numeric"
        if reset:
            X, y = validate_data(
                self,
                X,
                y,
                dtype=dtype,
                ensure_all_finite=finite,
                multi_output=not self._classifier,
                y_numeric=not self._classifier,
                reset=True,
            )
            if X.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 samples to fit, got 1 sample (n_samples = 1)"
                )
        else:
            X = validate_data(self, X, dtype=dtype, ensure_all_finite=finite, reset=False)
        names = list(getattr(self, "feature_names_in_", default_names(X.shape[1])))
        names = [str(n) for n in names]
        if X.dtype != object:
            X = np.asarray(X, dtype=np.float64)
        return "array", array_columns(X, names), names, y

    def _flatten_images(self, X: Any, reset: bool) -> Any:
        """An image array ``N×H×W`` or ``N×C×H×W`` (NumPy's and PyTorch's layout) as ``N×(H·W·C)``
        pixel columns, channel-last (the engine's NHWC layout, as ``credence fit --data X.npy``
        reads it); the image shape ``[C, H, W]`` is kept for ``layers``. Other input unchanged."""
        if is_dataframe(X) or not hasattr(X, "ndim") or X.ndim not in (3, 4):
            if reset:
                self._image_shape_ = None
            return X
        a = np.asarray(X)
        if a.ndim == 3:
            a = a[:, None, :, :]
        shape = [int(a.shape[1]), int(a.shape[2]), int(a.shape[3])]
        if reset:
            self._image_shape_ = shape
        elif getattr(self, "_image_shape_", None) != shape:
            raise ValueError(
                f"X has images of shape {shape} (channels, height, width) but the model was "
                f"fitted on {getattr(self, '_image_shape_', None) or 'a 2-D feature matrix'}"
            )
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(a.shape[0], -1)

    def _fit_columns(self, source: str, cols: list, names: List[str], targets: List[str]) -> "Model":
        options = self._options(targets, source, names)
        if self.executor is not None:
            # Members or chains as units on the executor (credence.distributed); same model.
            model = self.executor.fit_columns(cols, options)
        else:
            inner, notes = _credence.fit(cols, options)
            model = Model(inner, notes)
        self.calibration_ = calibration_summary(model._inner.calibration_json(), model._inner.calibration_lines())
        return model

    @staticmethod
    def _target_name(names: Sequence[str], wanted: str) -> str:
        name = wanted
        while name in names:
            name = "_" + name
        return name

    # --- the fitted model -------------------------------------------------------------
    def predictive(self, X: Any, seed: int = 0) -> Union[RegressionPredictive, ClassPredictive]:
        """The predictive distribution at the rows of ``X`` (see ``credence.Model``)."""
        check_is_fitted(self, "model_")
        source, cols, names, _ = self._table(X, None, reset=False)
        d = self.model_._inner.predict(source, cols, "error", seed)
        return self._predictive(d)

    def _predictive(self, d: Dict[str, Any]) -> Any:
        raise NotImplementedError

    def _interval(self, X: Any, level: Any, seed: int) -> Dict[str, Any]:
        check_is_fitted(self, "model_")
        level = check_level(level)
        source, cols, _, _ = self._table(X, None, reset=False)
        d = self.model_._inner.interval(source, cols, level, "error", seed)
        d["level"] = level
        return d

    @property
    def priors_(self) -> list:
        """The fitted model's priors, each with distribution, groups and provenance."""
        check_is_fitted(self, "model_")
        return self.model_.priors

    def information(self) -> Optional[Dict[str, Any]]:
        """Information from the data per layer and group (see ``credence.Model.information``)."""
        check_is_fitted(self, "model_")
        return self.model_.information()

    def samples(self) -> np.ndarray:
        """Posterior draws, ``chains × draws × parameters`` (sampling methods)."""
        check_is_fitted(self, "model_")
        return self.model_.samples()

    def to_arviz(self, X: Any = None, seed: int = 0) -> Any:
        """ArviZ data of the draws (see ``credence.Model.to_arviz``)."""
        check_is_fitted(self, "model_")
        if X is None:
            return self.model_.to_arviz(None, seed)
        _, _, names, _ = self._table(X, None, reset=False)
        return self.model_.to_arviz(X, seed, names=names)

    def decide(self, X: Any, decision: Any, seed: int = 0) -> Dict[str, Any]:
        """Expected-loss decisions under a decision file (see ``credence.Model.decide``)."""
        check_is_fitted(self, "model_")
        _, _, names, _ = self._table(X, None, reset=False)
        return self.model_.decide(X, decision, seed, names=names)

    def report(self, path: Any, X: Any, y: Any, decision: Any = None, seed: int = 0) -> str:
        """Writes the HTML report for test rows ``X`` and targets ``y``."""
        check_is_fitted(self, "model_")
        _, _, names, _ = self._table(X, None, reset=False)
        return self.model_.report(path, X, y, decision, None, seed, names=names)

    def save(self, path: Any) -> str:
        """Writes the fitted model as a normal Credence model folder."""
        check_is_fitted(self, "model_")
        return self.model_.save(path)


class BayesianRegressor(RegressorMixin, _BayesianEstimator):
    """A Bayesian neural-network regressor (the Credence core).

    Parameters: ``method`` (any of ``credence.METHODS``; default: the config's, else ``map``),
    ``hidden`` (layer widths), ``activation``, ``layers`` (a convolutional network instead of
    ``hidden``, as the config's ``[model] layers``: e.g. ``[{"conv2d": {"out": 8, "kernel": 3}},
    {"pool": "max2"}, {"dense": 32}]``) with ``input_shape`` (``[channels, height, width]``;
    taken from ``X`` when it is an ``N×H×W`` or ``N×C×H×W`` image array), ``likelihood`` (``gaussian``,
    ``heteroscedastic``, ``student-t``, ``poisson`` or a config table), ``priors`` (a list of
    ``credence.Prior``), ``config`` (a dict written as the TOML config file, or its path),
    ``seed``, ``missing`` (``error``, ``drop`` or ``impute``), ``categorical`` (numeric columns
    to one-hot encode), ``verbose`` (a progress bar on a terminal), ``executor`` (a
    ``credence.distributed`` executor: ensemble and MultiSWAG members and chains run as its
    units, e.g. Ray tasks; the same model as without it), ``calibrate`` (``"conformal"``:
    post-hoc split conformal calibration on held-out rows, as ``credence fit --calibrate``;
    ``predict_interval`` then gives the conformal interval beside the Bayesian one) and
    ``calibration_fraction`` (the share of the training rows held out for it, 0.2; the model
    is fitted on the rest). ``None``
    means the library's default, as in the CLI. After ``fit``, ``calibration_`` describes the
    calibration (``None`` without one).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any) -> "BayesianRegressor":
        """Fits the model to features ``X`` and real-valued targets ``y``; returns ``self``."""
        series_name = getattr(y, "name", None)
        source, cols, names, y = self._table(X, y, reset=True)
        y = np.asarray(y, dtype=np.float64)
        self._multi_ = y.ndim == 2 and y.shape[1] > 1
        ys = y.reshape(len(y), -1)
        if ys.shape[0] != len(cols[0][2]):
            raise ValueError(f"X has {len(cols[0][2])} rows, y has {ys.shape[0]}")
        if ys.shape[1] == 1:
            targets = [self._target_name(names, str(series_name) if series_name is not None else "y")]
        else:
            targets = [self._target_name(names, f"y{j}") for j in range(ys.shape[1])]
        cols = cols + [(t, "numeric", np.ascontiguousarray(ys[:, j])) for j, t in enumerate(targets)]
        self._names_ = names
        self.model_ = self._fit_columns(source, cols, names, targets)
        return self

    def _predictive(self, d: Dict[str, Any]) -> RegressionPredictive:
        return RegressionPredictive(
            d["mean"], d["std"], d["epistemic_std"], d["aleatoric_std"], np.asarray(d["unseen"], dtype=bool)
        )

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Predictive means; with ``return_std`` also the predictive standard deviations
        (epistemic and aleatoric together)."""
        p = self.predictive(X)
        if return_std:
            return p.mean, p.std
        return p.mean

    def predict_interval(self, X: Any, level: float = 0.9, seed: int = 0) -> RegressionIntervals:
        """Intervals at ``level``: the Bayesian central interval of the predictive and, when
        fitted with ``calibrate='conformal'``, the split conformal interval beside it (finite-
        sample coverage at least ``level``; ``None`` otherwise)."""
        d = self._interval(X, level, seed)
        return RegressionIntervals(
            d["level"], d["bayes_lower"], d["bayes_upper"], d.get("conformal_lower"), d.get("conformal_upper")
        )


class BayesianClassifier(ClassifierMixin, _BayesianEstimator):
    """A Bayesian neural-network classifier (the Credence core).

    Parameters as ``BayesianRegressor``; the likelihood defaults to ``categorical``
    (``bernoulli`` for two classes when asked). ``classes_`` holds the labels of ``y``.
    ``calibrate`` also takes ``"temperature"`` (temperature scaling fitted on the held-out
    rows, applied to every prediction; ``calibration_["temperature"]`` holds T and the held-out
    NLL and ECE before and after) or both (``["temperature", "conformal"]``: adaptive
    prediction sets on the tempered predictive).
    """

    _classifier = True

    def fit(self, X: Any, y: Any) -> "BayesianClassifier":
        """Fits the model to features ``X`` and class labels ``y``; returns ``self``."""
        series_name = getattr(y, "name", None)
        source, cols, names, y = self._table(X, y, reset=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes in y; found one class: {classes[0]!r}"
            )
        if len(codes) != len(cols[0][2]):
            raise ValueError(f"X has {len(cols[0][2])} rows, y has {len(codes)}")
        self.classes_ = classes
        target = self._target_name(names, str(series_name) if series_name is not None else "y")
        plain = classes.dtype.kind in "iub" and np.array_equal(classes.astype(np.int64), np.arange(len(classes)))
        if plain:
            cols = cols + [(target, "numeric", codes.astype(np.float64))]
        else:
            cols = cols + [(target, "text", [str(c) for c in y])]
        self._names_ = names
        self.model_ = self._fit_columns(source, cols, names, [target])
        if plain:
            self._order_ = np.arange(len(classes))
        else:
            index = {str(c): i for i, c in enumerate(classes)}
            if len(index) != len(classes):
                raise ValueError("class labels must be distinct as text (e.g. not both 1 and '1')")
            # Model class k is the label named model_.classes[k]; _order_[i] is the model's
            # column of classes_[i].
            pos = {name: k for k, name in enumerate(self.model_.classes)}
            self._order_ = np.array([pos[str(c)] for c in classes])
        return self

    def _predictive(self, d: Dict[str, Any]) -> ClassPredictive:
        probs = np.asarray(d["probs"])[:, self._order_]
        return ClassPredictive(
            probs, d["entropy"], d["mutual_information"], list(self.classes_), np.asarray(d["unseen"], dtype=bool)
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior predictive class probabilities, columns in ``classes_`` order."""
        return self.predictive(X).probs

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_interval(self, X: Any, level: float = 0.9, seed: int = 0) -> PredictionSets:
        """Prediction sets of labels (from ``classes_``) at ``level``: the smallest most-probable
        set holding ``level`` of the predictive mass and, when fitted with
        ``calibrate='conformal'``, the adaptive prediction set (APS) beside it (finite-sample
        coverage at least ``level``; ``None`` otherwise). A fitted temperature applies first."""
        d = self._interval(X, level, seed)
        # Model column k is the label classes_[back[k]].
        back = np.argsort(self._order_)

        def labels(sets: List[List[int]]) -> List[List[Any]]:
            return [[self.classes_[back[k]] for k in s] for s in sets]

        conf = d.get("conformal_sets")
        return PredictionSets(d["level"], labels(d["bayes_sets"]), None if conf is None else labels(conf))


#: Every inference method the CLI has (``credence fit --method``).
METHODS: List[str] = list(_credence.methods())
