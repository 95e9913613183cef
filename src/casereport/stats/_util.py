"""Small shared helpers (private)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_float(v) -> np.ndarray:
    """Array of float64 from lists, numpy arrays or pandas objects; nullable pandas
    integers (``Int64`` with ``pd.NA``, as the loaders give for optional columns) become NaN
    instead of raising."""
    if isinstance(v, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pd.Series(v).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(v, dtype=float)
