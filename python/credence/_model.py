"""A fitted model from Python: predictive with its parts, prediction regions (Bayesian and
conformal), the post-hoc calibration, priors with provenance, information from the data,
decisions, the HTML report, samples and ArviZ export, and the model folder."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _credence
from ._priors import Prior, prior_from_record
from ._tables import default_names, is_dataframe, table_columns

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class RegressionPredictive:
    """The predictive distribution at some rows (original units): mean, total sd and its
    epistemic (posterior) and aleatoric (noise) parts; total² = epistemic² + aleatoric²."""

    mean: np.ndarray
    std: np.ndarray
    epistemic_std: np.ndarray
    aleatoric_std: np.ndarray
    unseen: np.ndarray


@dataclass
class ClassPredictive:
    """The predictive at some rows: class probabilities (rows × classes, in ``classes`` order),
    predictive entropy, and mutual information (the epistemic part of the entropy)."""

    probs: np.ndarray
    entropy: np.ndarray
    mutual_information: np.ndarray
    classes: List[str]
    unseen: np.ndarray


@dataclass
class RegressionIntervals:
    """Prediction intervals at ``level`` (original units): the central interval of the
    predictive (``bayes_*``) and, when the model holds a conformal calibration, the split
    conformal interval (``conformal_*``, coverage at least ``level`` on exchangeable rows;
    ``None`` without one)."""

    level: float
    bayes_lower: np.ndarray
    bayes_upper: np.ndarray
    conformal_lower: Optional[np.ndarray]
    conformal_upper: Optional[np.ndarray]


@dataclass
class PredictionSets:
    """Prediction sets of class labels at ``level``: the smallest most-probable set holding
    ``level`` of the predictive mass (``bayes``) and, when the model holds a conformal
    calibration, the adaptive prediction set (APS; ``conformal``, coverage at least ``level``
    on exchangeable rows; ``None`` without one)."""

    level: float
    bayes: List[List[Any]]
    conformal: Optional[List[List[Any]]]


def check_level(level: Any) -> float:
    """``level`` as a float strictly between 0 and 1, else a ``ValueError``."""
    try:
        x = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number strictly between 0 and 1 (e.g. 0.9), got {level!r}") from None
    if not 0.0 < x < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.9), got {level!r}")
    return x


def calibration_summary(text: Optional[str], lines: Sequence[str]) -> Optional[Dict[str, Any]]:
    """The stored calibration as a dict: ``source`` and ``rows`` of the calibration rows,
    ``temperature`` (``t``, held-out NLL and ECE before and after, or ``None``), ``conformal``
    (``task``, the regression ``score``, the number of calibration ``scores``, or ``None``)
    and ``description`` (the lines ``credence fit`` prints)."""
    if text is None:
        return None
    c = json.loads(text)
    conformal = c.get("conformal")
    if conformal is not None:
        if conformal.get("task") == "regression":
            conformal = {"task": "regression", "score": conformal["score"], "scores": len(conformal["rows"])}
        else:
            conformal = {"task": "classification", "method": "aps", "scores": len(conformal["scores"])}
    return {
        "source": c["source"],
        "rows": c["rows"],
        "temperature": c.get("temperature"),
        "conformal": conformal,
        "description": list(lines),
    }


def _read_text(spec: Union[str, "os.PathLike[str]"]) -> tuple:
    """(text, source) of a TOML argument given as a path or as TOML text."""
    s = os.fspath(spec)
    if "\n" not in s and os.path.exists(s):
        with open(s, encoding="utf-8") as f:
            return f.read(), s
    if "\n" not in s and s.endswith(".toml"):
        raise FileNotFoundError(f"{s}: no such file")
    return s, "<TOML text>"


class Model:
    """A fitted Credence model: what ``credence fit`` saves in a model folder."""

    def __init__(self, inner: Any, notes: Sequence[str] = ()) -> None:
        self._inner = inner
        self.notes: List[str] = list(notes)
        self._record: Optional[Dict[str, Any]] = None

    # --- the record -------------------------------------------------------------------
    @property
    def record(self) -> Dict[str, Any]:
        """The fit record (``model.json``): method, seed, network, priors, schema, outcome."""
        if self._record is None:
            self._record = json.loads(self._inner.record_json())
        return self._record

    @property
    def method(self) -> str:
        """The inference method's name."""
        return self.record["method"]

    @property
    def is_classifier(self) -> bool:
        """Whether the model predicts classes."""
        return self.record["task"].get("kind") == "classification"

    @property
    def classes(self) -> List[str]:
        """Class names in the model's class order (empty for a regression)."""
        schema = self.record.get("schema") or {}
        targets = schema.get("targets") or []
        if targets and targets[0].get("classes"):
            return list(targets[0]["classes"])
        task = self.record["task"]
        return [str(k) for k in range(task.get("classes", 0))]

    @property
    def feature_names(self) -> List[str]:
        """The input columns the model reads (the schema's, else the recorded features)."""
        schema = self.record.get("schema")
        if schema:
            return [c["name"] for c in schema["inputs"]]
        return list(self.record["data"]["features"])

    @property
    def target_names(self) -> List[str]:
        """The target column(s)."""
        schema = self.record.get("schema")
        if schema:
            return [t["name"] for t in schema["targets"]]
        return self.record["data"]["target"].split(",")

    @property
    def priors(self) -> List[Prior]:
        """Each prior with its distribution, the parameter groups it covers and its provenance
        (empty for maximum likelihood, which has no prior)."""
        ps = self.record.get("priors")
        if not ps:
            return []
        assignment = self.record.get("prior_assignment", [])
        out = []
        for i, p in enumerate(ps["priors"]):
            groups = tuple(g for g, k in assignment if k == i)
            out.append(prior_from_record(p, groups))
        return out

    @property
    def prior_summary(self) -> str:
        """One line: "no prior (maximum likelihood)" or the priors with their provenance kinds."""
        return self.record["prior_summary"]

    @property
    def calibration(self) -> Optional[Dict[str, Any]]:
        """The post-hoc calibration stored with the model (``calibration.json``; see
        ``calibration_summary``), or ``None`` when it has none."""
        return calibration_summary(self._inner.calibration_json(), self._inner.calibration_lines())

    def information(self) -> Optional[Dict[str, Any]]:
        """Information from the data per layer and group: KL(posterior ‖ prior), the
        posterior/prior variance ratio and the epistemic share of the predictive variance
        (``None`` when the record has none; MLE and MAP say "no posterior spread")."""
        return self.record.get("information")

    # --- prediction -------------------------------------------------------------------
    def _columns(self, X: Any, names: Optional[Sequence[str]] = None) -> tuple:
        if is_dataframe(X):
            return table_columns(X)
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1) if len(self.feature_names) == 1 else arr.reshape(1, -1)
        if names is None:
            known = self.feature_names
            if all(re.fullmatch(r"x\d+", n) for n in known):
                names = default_names(arr.shape[1])
            elif arr.shape[1] == len(known):
                names = known
            else:
                raise ValueError(
                    f"this model reads the columns {known}; give a DataFrame with them "
                    f"(the array has {arr.shape[1]} columns)"
                )
        return table_columns(arr, names)

    def predictive(
        self, X: Any, seed: int = 0, unknown_level: str = "error", names: Optional[Sequence[str]] = None
    ) -> Union[RegressionPredictive, ClassPredictive]:
        """The predictive distribution at the rows of ``X`` (a DataFrame checked against the
        model's schema, or an array of the features in training order)."""
        source, cols = self._columns(X, names)
        d = self._inner.predict(source, cols, unknown_level, seed)
        unseen = np.asarray(d["unseen"], dtype=bool)
        if "probs" in d:
            return ClassPredictive(d["probs"], d["entropy"], d["mutual_information"], self.classes, unseen)
        return RegressionPredictive(d["mean"], d["std"], d["epistemic_std"], d["aleatoric_std"], unseen)

    def predict(self, X: Any, seed: int = 0) -> np.ndarray:
        """Predictive means (regression) or the most probable class names (classification)."""
        p = self.predictive(X, seed)
        if isinstance(p, ClassPredictive):
            return np.asarray(p.classes, dtype=object)[np.argmax(p.probs, axis=1)]
        return p.mean

    def predict_interval(
        self,
        X: Any,
        level: float = 0.9,
        seed: int = 0,
        unknown_level: str = "error",
        names: Optional[Sequence[str]] = None,
    ) -> Union[RegressionIntervals, PredictionSets]:
        """Prediction regions at ``level`` at the rows of ``X`` (``credence predict --interval``):
        intervals for a regression, sets of class names for a classifier; the conformal ones
        when the model was calibrated with ``conformal`` (a stored temperature is applied
        first)."""
        level = check_level(level)
        source, cols = self._columns(X, names)
        d = self._inner.interval(source, cols, level, unknown_level, seed)
        if "bayes_sets" in d:
            cl = self.classes
            to_names = lambda sets: [[cl[k] for k in s] for s in sets]  # noqa: E731
            conf = d.get("conformal_sets")
            return PredictionSets(level, to_names(d["bayes_sets"]), None if conf is None else to_names(conf))
        return RegressionIntervals(
            level, d["bayes_lower"], d["bayes_upper"], d.get("conformal_lower"), d.get("conformal_upper")
        )

    def _with_target(self, X: Any, y: Any, names: Optional[Sequence[str]] = None) -> tuple:
        """Columns of ``X`` plus the target ``y`` (or ``X`` alone when it holds the target)."""
        source, cols = self._columns(X, names)
        if y is None:
            return source, cols
        targets = self.target_names
        y = np.asarray(y)
        ys = y.reshape(-1, 1) if y.ndim == 1 else y
        numeric_classes = all(re.fullmatch(r"\d+", c) for c in self.classes)
        for j, n in enumerate(targets):
            col = ys[:, j]
            if self.is_classifier and not (numeric_classes and col.dtype.kind in "biuf"):
                # Class names as text, as the schema recorded them.
                cols.append((n, "text", [str(v) for v in col]))
            else:
                cols.append((n, "numeric", np.ascontiguousarray(col, dtype=np.float64)))
        return source, cols

    def evaluate(
        self,
        X: Any,
        y: Any = None,
        seed: int = 0,
        names: Optional[Sequence[str]] = None,
        interval: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Test metrics as ``credence evaluate --json`` gives them (regression: RMSE, MAE,
        log-likelihood, CRPS, coverage; classification: accuracy, NLL, Brier, ECE), after a
        stored temperature. With ``interval`` (a level such as 0.9), also ``coverage``: the
        empirical coverage and mean width (or set size) of the Bayesian and, when calibrated,
        the conformal regions (``evaluate --interval``)."""
        level = None if interval is None else check_level(interval)
        source, cols = self._with_target(X, y, names)
        return json.loads(self._inner.evaluate(source, cols, seed, level))

    def decide(
        self, X: Any, decision: PathLike, seed: int = 0, names: Optional[Sequence[str]] = None
    ) -> Dict[str, Any]:
        """Per row, the action with the lowest posterior expected loss under a decision file
        (a path or TOML text with values and their provenance), with the summary."""
        text, src = _read_text(decision)
        source, cols = self._columns(X, names)
        return json.loads(self._inner.decide(source, cols, text, src, seed))

    def report(
        self,
        path: PathLike,
        X: Any,
        y: Any = None,
        decision: Optional[PathLike] = None,
        input: Optional[str] = None,
        seed: int = 0,
        names: Optional[Sequence[str]] = None,
    ) -> str:
        """Writes the self-contained HTML report for test rows ``X`` (with the target in ``X``
        or given as ``y``); returns the path."""
        source, cols = self._with_target(X, y, names)
        text, src = _read_text(decision) if decision is not None else (None, "decision")
        self._inner.report(os.fspath(path), source, cols, text, src, input, seed)
        return os.fspath(path)

    # --- the model folder -------------------------------------------------------------
    def save(self, path: PathLike) -> str:
        """Writes a normal Credence model folder (the CLI's ``predict --model DIR`` reads it)."""
        self._inner.save(os.fspath(path))
        return os.fspath(path)

    # --- samples ----------------------------------------------------------------------
    def samples(self) -> np.ndarray:
        """Posterior draws as ``chains × draws × parameters`` (nuts, hmc, sgld, sghmc), in the
        network's parameterisation on standardised data; ``parameter_groups()`` names the
        ranges."""
        arr, _ = self._inner.samples()
        return arr

    def parameter_groups(self) -> Dict[str, slice]:
        """Parameter group name → its slice of the parameter axis of ``samples()``."""
        return {name: slice(a, b) for name, a, b in self._inner.samples()[1]}

    def to_arviz(self, X: Any = None, seed: int = 0, names: Optional[Sequence[str]] = None) -> Any:
        """The draws as ArviZ data (``posterior``, ``sample_stats``, and with ``X`` the
        ``posterior_predictive`` means at its rows). Needs ``arviz`` installed."""
        from ._arviz import to_arviz

        return to_arviz(self, X, seed, names)

    def __getstate__(self) -> Dict[str, Any]:
        """Pickled as the files of its model folder (the one model format)."""
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            self._inner.save(d)
            files = {}
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    files[name] = f.read()
        return {"files": files, "notes": self.notes}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            for name, data in state["files"].items():
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            self._inner = _credence.load(d)
        self.notes = list(state["notes"])
        self._record = None

    def __repr__(self) -> str:
        return f"<credence.Model {self.method}: {self.prior_summary}>"


def load(path: PathLike) -> Model:
    """Loads a model folder written by ``credence fit`` or ``Model.save``."""
    return Model(_credence.load(os.fspath(path)))
