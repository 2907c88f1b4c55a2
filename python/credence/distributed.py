"""Many independent fits on a Ray cluster: ensemble and MultiSWAG members, NUTS/HMC chains,
UCI splits, learning-curve runs, sensitivity refits and cross-validation — each unit a Ray task that calls
the Rust core in the worker process, combined by the core exactly as a local run combines them.

``RayExecutor(address)`` connects to a cluster (``"local"`` starts one on this machine, ``None``
uses the one Ray finds or is already connected to); ``LocalExecutor()`` runs the same units in
this process, one after the other. Give either to an estimator (``executor=``) or call its
``bench_uci``, ``curve`` and ``sensitivity``. Same seed, same answer: a distributed fit is the
local fit draw for draw (see ``docs/SCALING.md`` for the rule on threads) and saves as an
ordinary model folder.

Ray is optional: ``pip install ray`` (or ``pip install "credence-bdl[ray]"``); without it the
rest of Credence works as before and ``RayExecutor`` says what to install.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _credence
from ._model import Model, _read_text
from ._tables import table_columns

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "UnitError"]


class UnitError(RuntimeError):
    """A unit failed for a reason that retrying would not fix (bad data or config, numerical
    trouble); the message names the unit. The original exception is ``__cause__``."""


# --- what a unit does: module-level functions, so that Ray workers can import them ----------


def _fit_unit(payload: Tuple[list, str], index: int) -> bytes:
    cols, options = payload
    return _credence.fit_unit(cols, options, index)


def _fit_whole(payload: Tuple[list, str], index: int) -> Model:
    cols, options = payload
    inner, notes = _credence.fit(cols, options)
    return Model(inner, notes)


def _curve_run(payload: Tuple[str, str], index: int) -> bytes:
    directory, options = payload
    return _credence.curve_run(directory, options, index)


def _sensitivity_unit(payload: Tuple[list, str, str, str, float], index: int) -> bytes:
    cols, options, text, source, test_fraction = payload
    return _credence.sensitivity_unit(cols, options, text, index, source, test_fraction)


class _Progress:
    """``label k/n`` on one terminal line (stderr), only when stderr is a terminal."""

    def __init__(self, total: int, label: str, show: bool) -> None:
        self.total, self.label, self.done = total, label, 0
        self.show = show and total > 1 and sys.stderr.isatty()
        self.t0 = time.monotonic()
        self._draw()

    def _draw(self) -> None:
        if self.show:
            s = time.monotonic() - self.t0
            sys.stderr.write(f"\r{self.label}: {self.done}/{self.total} units done ({s:.0f} s)")
            sys.stderr.flush()

    def tick(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.show:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _options_json(config: Any, seed: int, **extra: Any) -> str:
    path, overlay = None, None
    if isinstance(config, dict):
        overlay = config
    elif config is not None:
        path = os.fspath(config)
    return json.dumps({"config_path": path, "config": overlay, "seed": int(seed), **extra})


class Executor:
    """Runs the units of a job and gives their results back in unit order. Subclasses provide
    ``map``; everything else (fits, benchmarks, curves, sensitivity) is built on it."""

    progress: bool = True

    def map(self, fn: Callable[[Any, int], Any], payload: Any, n: int, label: str) -> List[Any]:
        """``[fn(payload, 0), …, fn(payload, n − 1)]``, units run wherever the executor runs
        them; ``payload`` is sent once."""
        raise NotImplementedError

    # --- fits -------------------------------------------------------------------------
    def fit_columns(self, cols: list, options: str) -> Model:
        """A fit of typed columns (as an estimator builds them): members or chains as units,
        other methods as one unit; a calibrated fit is calibrated on the same held-out rows as
        the local fit."""
        n = _credence.unit_count(cols, options)
        label = json.loads(options).get("method") or "fit"
        payload = (cols, options)
        if n is None:
            return self.map(_fit_whole, payload, 1, label)[0]
        units = self.map(_fit_unit, payload, n, label)
        inner, notes = _credence.fit_from_units(cols, options, list(units))
        return Model(inner, notes)

    # --- benchmarks and studies -------------------------------------------------------
    def bench_uci(
        self,
        directory: PathLike,
        method: str,
        splits: Optional[Union[int, Sequence[int]]] = None,
        config: Any = None,
        seed: int = 0,
    ) -> Dict[str, Any]:
        """The UCI protocol (``credence bench uci``) with each split a unit: ``splits`` is a
        count (the first n), a list of split numbers, or ``None`` for all. Returns the result
        as ``credence bench uci --json`` gives it (per split and mean ± standard error)."""
        d = os.fspath(directory)
        total = _credence.uci_splits(d)
        if splits is None:
            ids = list(range(total))
        elif isinstance(splits, int):
            ids = list(range(min(splits, total)))
        else:
            ids = [int(k) for k in splits]
        if not ids:
            raise ValueError("splits must name at least one split")
        options = _options_json(config, seed)
        t0 = time.monotonic()
        parts = self.map(_uci_split_at, (d, method, options, ids), len(ids), f"{os.path.basename(d)} {method}")
        return json.loads(_credence.bench_uci_merge(list(parts), time.monotonic() - t0))

    def curve(
        self,
        directory: PathLike,
        methods: Sequence[str],
        sizes: Sequence[int],
        repeats: int = 5,
        config: Any = None,
        seed: int = 0,
    ) -> Dict[str, Any]:
        """A learning curve (``credence curve``) with each (method, size, repeat) a unit."""
        d = os.fspath(directory)
        options = _options_json(config, seed, methods=list(methods), sizes=[int(s) for s in sizes], repeats=int(repeats))
        n = _credence.curve_runs(d, options)
        runs = self.map(_curve_run, (d, options), n, "curve")
        return json.loads(_credence.curve(d, options, list(runs)))

    def sensitivity(
        self,
        data: Any,
        target: Union[str, Sequence[str]],
        alternatives: PathLike,
        config: Any = None,
        method: str = "map",
        seed: int = 0,
        test_fraction: float = 0.2,
        missing: str = "error",
    ) -> Dict[str, Any]:
        """Prior sensitivity (``credence.sensitivity``) with the base fit and each alternative a
        unit."""
        from ._explain import _options

        _, cols = table_columns(data)
        text, src = _read_text(alternatives)
        options = _options(target, config, method, seed, missing)
        n = _credence.sensitivity_units(text, src)
        units = self.map(_sensitivity_unit, (cols, options, text, src, float(test_fraction)), n, "sensitivity")
        return json.loads(_credence.sensitivity_from_units(cols, options, text, list(units), src, float(test_fraction)))


def _uci_split_at(payload: Tuple[str, str, str, List[int]], index: int) -> bytes:
    directory, method, options, ids = payload
    return _credence.bench_uci_unit(directory, method, options, ids[index])


class LocalExecutor(Executor):
    """Runs the units in this process, one after the other (what ``RayExecutor`` does, without
    Ray): for testing, and to check a distributed result against the local one."""

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def map(self, fn: Callable[[Any, int], Any], payload: Any, n: int, label: str) -> List[Any]:
        bar = _Progress(n, label, self.progress)
        out = []
        try:
            for k in range(n):
                try:
                    out.append(fn(payload, k))
                except (ValueError, _credence.NumericalError) as e:
                    raise UnitError(f"{label}: unit {k} failed: {e}") from e
                bar.tick()
        finally:
            bar.close()
        return out


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "credence.distributed.RayExecutor needs Ray: pip install ray "
            '(or pip install "credence-bdl[ray]"); LocalExecutor runs the same units without it'
        ) from e
    return ray


class RayExecutor(Executor):
    """Runs each unit as a Ray task (``num_cpus`` CPUs each, the Rust core's thread pool sized to
    match). The job's data goes to Ray's object store once; results stream back as units finish
    (a progress bar over units on a terminal). A unit whose worker dies is retried up to
    ``max_retries`` times — units are deterministic, so the retried result is the same; a unit
    that fails for a data or config reason is not retried and raises ``UnitError`` naming it.

    ``address``: ``"local"`` starts a Ray instance on this machine, a cluster address (e.g.
    ``"ray://head:10001"`` or ``"head:6379"``) connects to it, ``None`` uses an already
    initialised Ray or the one ``ray.init()`` finds. ``init_kwargs`` go to ``ray.init``.
    """

    def __init__(
        self,
        address: Optional[str] = None,
        num_cpus: int = 1,
        max_retries: int = 3,
        progress: bool = True,
        init_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        if num_cpus < 1:
            raise ValueError(f"num_cpus must be at least 1, got {num_cpus}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be at least 0, got {max_retries}")
        self.address = address
        self.num_cpus = int(num_cpus)
        self.max_retries = int(max_retries)
        self.progress = progress
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, num_cpus={self.num_cpus}, max_retries={self.max_retries})"

    def _ray(self) -> Any:
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs)
            kwargs.setdefault("log_to_driver", False)
            ray.init(address=None if self.address in (None, "local") else self.address, **kwargs)
            self._started = True
        return ray

    def map(self, fn: Callable[[Any, int], Any], payload: Any, n: int, label: str) -> List[Any]:
        ray = self._ray()
        task = ray.remote(fn).options(
            num_cpus=self.num_cpus,
            max_retries=self.max_retries,
            retry_exceptions=False,
            runtime_env={"env_vars": {"RAYON_NUM_THREADS": str(self.num_cpus)}},
        )
        ref = ray.put(payload)
        pending = {task.remote(ref, k): k for k in range(n)}
        results: Dict[int, Any] = {}
        bar = _Progress(n, label, self.progress)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for r in done:
                    k = pending.pop(r)
                    try:
                        results[k] = ray.get(r)
                    except ray.exceptions.RayTaskError as e:
                        cause = e.cause if getattr(e, "cause", None) is not None else e
                        raise UnitError(f"{label}: unit {k} failed: {cause}") from cause
                    bar.tick()
        except BaseException:
            for r in pending:
                ray.cancel(r, force=True)
            raise
        finally:
            bar.close()
        return [results[k] for k in range(n)]

    def joblib_backend(self) -> Any:
        """A context manager under which scikit-learn's ``n_jobs`` work (``cross_val_score``,
        ``GridSearchCV``) runs on this Ray cluster: ``with ex.joblib_backend(): search.fit(X, y)``."""
        import joblib

        self._ray()
        from ray.util.joblib import register_ray

        register_ray()
        return joblib.parallel_backend("ray")

    def shutdown(self) -> None:
        """Disconnects from Ray (and stops the local instance this executor started)."""
        ray = _import_ray()
        if ray.is_initialized():
            ray.shutdown()
        self._started = False
