"""Posterior draws as ArviZ data, so ``arviz.summary`` and ``arviz.plot_trace`` work.

ArviZ is optional: without it, ``to_arviz`` raises ``ImportError`` saying how to install it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

import numpy as np

if TYPE_CHECKING:
    from ._model import Model


def _arviz() -> Any:
    try:
        import arviz
    except ImportError as e:  # pragma: no cover - exercised by monkeypatching in the tests
        raise ImportError(
            "to_arviz() needs ArviZ, which is not installed; install it with "
            "`pip install arviz` (or `pip install 'credence-bdl[arviz]'`)"
        ) from e
    return arviz


def _stats(model: "Model", chains: int, draws: int) -> Dict[str, np.ndarray]:
    """Per-draw sampler statistics recorded in the fit (diverging, tree depth, energy,
    acceptance), shaped chains × draws; an empty dict when the sampler recorded none."""
    chain_stats = (model.record.get("outcome") or {}).get("chains") or []
    per_chain = [c.get("draws") or {} for c in chain_stats]
    if len(per_chain) != chains:
        return {}
    out: Dict[str, np.ndarray] = {}
    for key, name, dtype in (
        ("diverging", "diverging", bool),
        ("depth", "tree_depth", np.int64),
        ("energy", "energy", np.float64),
        ("accept", "acceptance_rate", np.float64),
        ("steps", "n_steps", np.int64),
    ):
        rows = [c.get(key) or [] for c in per_chain]
        if all(len(r) == draws for r in rows):
            # Non-finite energies and acceptances are recorded as null.
            rows = [[np.nan if v is None else v for v in r] for r in rows]
            out[name] = np.asarray(rows, dtype=dtype)
    return out


def to_arviz(model: "Model", X: Any = None, seed: int = 0, names: Any = None) -> Any:
    """ArviZ data of a sampled model: ``posterior`` (one variable per parameter group),
    ``sample_stats`` (what the sampler recorded per draw) and, with ``X``, the
    ``posterior_predictive`` mean of every draw at each row of ``X`` (original units)."""
    az = _arviz()
    samples = model.samples()
    chains, draws, _ = samples.shape
    groups = model.parameter_groups()
    posterior = {name: samples[:, :, s] for name, s in groups.items()}
    dims = {name: [f"{name}_dim"] for name in groups}
    kw: Dict[str, Any] = {"posterior": posterior, "dims": dims}
    stats = _stats(model, chains, draws)
    if stats:
        kw["sample_stats"] = stats
    if X is not None:
        source, cols = model._columns(X, names)
        d = model._inner.predict(source, cols, "error", seed, True)
        members = np.asarray(d["members"])
        if members.ndim == 2 and members.shape[0] == chains * draws:
            kw["posterior_predictive"] = {"mean": members.reshape(chains, draws, -1)}
            kw["dims"]["mean"] = ["row"]
        elif members.ndim == 3 and members.shape[0] == chains * draws:
            kw["posterior_predictive"] = {"probs": members.reshape(chains, draws, members.shape[1], members.shape[2])}
            kw["dims"]["probs"] = ["row", "class"]
    major = int(str(az.__version__).split(".")[0])
    if major >= 1:
        dims = kw.pop("dims")
        return az.from_dict(kw, dims=dims)
    return az.from_dict(**kw)
