"""Priors as Python objects: a distribution, the parameters it covers, and a provenance.

``Prior(params="*.weight", dist=Normal(0, 1), provenance=Factual(source="…"))`` builds one; a
prior without a provenance is refused, as in a config file. ``to_config()`` gives the entry of
a config file (the ``[[prior]]`` table), which the Rust core parses with the CLI's checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Union


@dataclass(frozen=True)
class Distribution:
    """A univariate distribution named by ``family`` (as in prior files)."""

    family: str
    params: Dict[str, float] = field(default_factory=dict)

    def to_config(self) -> Dict[str, Any]:
        """The ``distribution = {family = …, …}`` table."""
        return {"family": self.family, **{k: float(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.family}({args})"


def Normal(loc: float = 0.0, scale: float = 1.0) -> Distribution:
    """Normal(loc, scale): mean and standard deviation."""
    return Distribution("normal", {"loc": loc, "scale": scale})


def Laplace(loc: float = 0.0, scale: float = 1.0) -> Distribution:
    """Laplace(loc, scale): density exp(-|x-loc|/scale) / (2 scale)."""
    return Distribution("laplace", {"loc": loc, "scale": scale})


def StudentT(df: float, loc: float = 0.0, scale: float = 1.0) -> Distribution:
    """Student-t with ``df`` degrees of freedom, location and scale."""
    return Distribution("student-t", {"df": df, "loc": loc, "scale": scale})


def Cauchy(loc: float = 0.0, scale: float = 1.0) -> Distribution:
    """Cauchy(loc, scale)."""
    return Distribution("cauchy", {"loc": loc, "scale": scale})


def HalfNormal(scale: float = 1.0) -> Distribution:
    """Half-normal(scale) on x ≥ 0."""
    return Distribution("half-normal", {"scale": scale})


def HalfCauchy(scale: float = 1.0) -> Distribution:
    """Half-Cauchy(scale) on x ≥ 0."""
    return Distribution("half-cauchy", {"scale": scale})


def Gamma(shape: float, rate: float) -> Distribution:
    """Gamma(shape, rate) on x > 0."""
    return Distribution("gamma", {"shape": shape, "rate": rate})


def LogNormal(mu: float, sigma: float) -> Distribution:
    """Log-normal: ln x ~ Normal(mu, sigma), on x > 0."""
    return Distribution("lognormal", {"mu": mu, "sigma": sigma})


def InverseGamma(shape: float, scale: float) -> Distribution:
    """Inverse-Gamma(shape, scale) on x > 0."""
    return Distribution("inverse-gamma", {"shape": shape, "scale": scale})


@dataclass(frozen=True)
class Provenance:
    """Where a prior comes from: ``kind`` is factual, value or default."""

    kind: str
    source: str
    note: str = ""
    holder: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in ("factual", "value", "default"):
            raise ValueError(f"provenance kind must be factual, value or default, not {self.kind!r}")
        if not str(self.source).strip():
            raise ValueError("provenance.source is empty; say where the prior comes from")

    def to_config(self) -> Dict[str, Any]:
        """The ``provenance = {…}`` table."""
        d: Dict[str, Any] = {"kind": self.kind, "source": self.source}
        if self.note:
            d["note"] = self.note
        if self.holder is not None:
            d["holder"] = self.holder
        return d

    def describe(self) -> str:
        """One line: ``factual: <source> (<note>)``."""
        s = f"{self.kind}: {self.source}"
        if self.holder:
            s += f" [held by {self.holder}]"
        if self.note:
            s += f" ({self.note})"
        return s


def Factual(source: str, note: str = "") -> Provenance:
    """A prior from evidence: past data, a base rate, empirical Bayes, a pretrained posterior."""
    return Provenance("factual", source, note)


def Value(source: str, note: str = "", holder: Optional[str] = None) -> Provenance:
    """A prior from a preference or policy, held by someone."""
    return Provenance("value", source, note, holder)


def Default(source: str, note: str = "") -> Provenance:
    """A default chosen without specific evidence (labelled as such)."""
    return Provenance("default", source, note)


@dataclass(frozen=True)
class Prior:
    """A prior on a parameter group: ``params`` (``*.weight``, ``layer1.bias``, ``noise``), a
    distribution and a provenance (required). ``on`` says which transform of the noise the
    distribution is on (``scale``, ``precision`` or ``variance``)."""

    params: str
    dist: Distribution
    provenance: Provenance
    on: Optional[str] = None
    groups: tuple = ()

    def __post_init__(self) -> None:
        if not isinstance(self.provenance, Provenance):
            raise ValueError(
                f"prior on {self.params!r} has no provenance; give provenance=credence.Factual(source=…), "
                "credence.Value(source=…, holder=…) or credence.Default(source=…)"
            )
        if not isinstance(self.dist, Distribution):
            raise ValueError(f"prior on {self.params!r}: dist must be a credence distribution such as credence.Normal(0, 1)")

    def to_config(self) -> Dict[str, Any]:
        """The ``[[prior]]`` entry of a config file."""
        d: Dict[str, Any] = {
            "params": self.params,
            "distribution": self.dist.to_config(),
            "provenance": self.provenance.to_config(),
        }
        if self.on is not None:
            d["on"] = self.on
        return d

    def __repr__(self) -> str:
        g = f", groups={list(self.groups)}" if self.groups else ""
        return f"Prior({self.params!r} ~ {self.dist!r} [{self.provenance.describe()}]{g})"


PriorLike = Union[Prior, Dict[str, Any]]


def prior_to_config(p: PriorLike) -> Dict[str, Any]:
    """A ``Prior`` or a dict written as in a config file, as the config file's entry."""
    if isinstance(p, Prior):
        return p.to_config()
    if isinstance(p, dict):
        return dict(p)
    raise ValueError(f"a prior must be a credence.Prior or a dict, not {type(p).__name__}")


def prior_from_record(p: Dict[str, Any], groups: tuple) -> Prior:
    """A ``Prior`` from a fit record's entry (with the parameter groups it was assigned)."""
    dist = dict(p.get("distribution", {}))
    family = dist.pop("family", "?")
    prov = p.get("provenance", {})
    return Prior(
        params=p.get("params", "?"),
        dist=Distribution(family, dist),
        provenance=Provenance(prov.get("kind", "default"), prov.get("source", "?") or "?", prov.get("note", ""), prov.get("holder")),
        on=p.get("on"),
        groups=groups,
    )


__all__ = [
    "Distribution", "Normal", "Laplace", "StudentT", "Cauchy", "HalfNormal", "HalfCauchy", "Gamma",
    "InverseGamma", "Provenance", "Factual", "Value", "Default", "Prior",
]
