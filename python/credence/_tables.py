"""Tables from Python (pandas DataFrames, NumPy arrays) into the typed columns the Rust core reads.

A pandas column keeps its type: numbers (NaN or ``None`` missing), booleans, and text,
categorical or object columns, whose cells are typed by the same rules as a CSV column
(numbers, true/false or yes/no, text), so a DataFrame and a CSV file give the same model.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

Column = Tuple[str, str, Any]


def is_dataframe(x: Any) -> bool:
    """Whether ``x`` is a pandas DataFrame (without importing pandas when it is not installed)."""
    return type(x).__module__.startswith("pandas") and hasattr(x, "columns") and hasattr(x, "dtypes")


def _cells(values: Any) -> List[str]:
    """Cell texts of an object column; missing cells (None, NaN, pandas NA) become ""."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif isinstance(v, float) and np.isnan(v):
            out.append("")
        elif type(v).__name__ in ("NAType", "NaTType"):
            out.append("")
        elif isinstance(v, (bool, np.bool_)):
            out.append("true" if v else "false")
        else:
            out.append(str(v))
    return out


def series_column(name: str, s: Any) -> Column:
    """One pandas Series as a typed column."""
    import pandas as pd

    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return (name, "boolean", s.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return (name, "numeric", s.to_numpy(dtype=np.float64, na_value=np.nan))
    return (name, "cells", _cells(s.tolist()))


def frame_columns(df: Any) -> List[Column]:
    """A DataFrame's columns, names kept (as text)."""
    return [series_column(str(c), df[c]) for c in df.columns]


def array_columns(x: np.ndarray, names: Sequence[str]) -> List[Column]:
    """A 2-D array's columns under the given names: numbers as numbers, objects as cells."""
    if x.dtype.kind in "biuf":
        x = np.asarray(x, dtype=np.float64)
        return [(n, "numeric", np.ascontiguousarray(x[:, j])) for j, n in enumerate(names)]
    return [(n, "cells", _cells(x[:, j].tolist())) for j, n in enumerate(names)]


def default_names(n: int) -> List[str]:
    """Feature names of an array without names: x0, x1, …."""
    return [f"x{j}" for j in range(n)]


def table_columns(x: Any, names: Optional[Sequence[str]] = None) -> Tuple[str, List[Column]]:
    """Any table (DataFrame, 2-D array or array-like) as (source, columns)."""
    if is_dataframe(x):
        return "DataFrame", frame_columns(x)
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D table (rows × columns), found {arr.ndim} dimension(s)")
    return "array", array_columns(arr, list(names) if names is not None else default_names(arr.shape[1]))
