"""Exact confidence intervals for proportions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._util import as_float

__all__ = ["clopper_pearson", "site_proportions"]


def clopper_pearson(k, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) interval for a binomial proportion k/n, vectorised.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials (broadcast against each other); ``0 <= k <= n``, ``n >= 1``.
        Missing values (NaN, ``pd.NA``) give NaN bounds.
    level : float
        Two-sided coverage, e.g. 0.95.

    Returns
    -------
    (low, high) : tuple of float arrays with the broadcast shape of ``k`` and ``n`` (0-d for
        scalar input; ``float(low)`` works). Proportions on the 0–1 scale.

    Notes
    -----
    low = Beta(α/2; k, n−k+1), high = Beta(1−α/2; k+1, n−k) with α = 1 − level; the edges are
    closed-form: k = 0 gives low = 0 and high = 1 − (α/2)^(1/n); k = n gives high = 1 and
    low = (α/2)^(1/n). The interval guarantees at least nominal coverage (it is conservative),
    which is the right choice for sites with as few as 9 participants.
    """
    k, n = as_float(k), as_float(n)
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    k, n = np.broadcast_arrays(k, n)
    ok = ~(np.isnan(k) | np.isnan(n))  # missing counts give NaN bounds, not an error
    if np.any(k[ok] < 0) or np.any(k[ok] > n[ok]) or np.any(n[ok] < 1):
        raise ValueError("need 0 <= k <= n and n >= 1")
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        # Beta with a zero shape parameter is undefined; np.where picks the closed-form edge.
        low = np.where(k == 0, 0.0, stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = np.where(k == n, 1.0, stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        low, high = np.where(ok, low, np.nan), np.where(ok, high, np.nan)
    return low, high


def site_proportions(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    level: float = 0.95,
    site_col: str = "site",
) -> pd.DataFrame:
    """Per-site proportion with its Clopper–Pearson interval, as percentages.

    Returns ``site, successes, trials, pct, ci_low, ci_high`` (pct and bounds on the 0–100
    scale), one row per input row, in input order.
    """
    k, n = as_float(df[successes]), as_float(df[trials])
    low, high = clopper_pearson(k, n, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(n > 0, 100 * k / n, np.nan)
    return pd.DataFrame(
        {
            "site": df[site_col].astype(str).to_numpy(),
            "successes": k,
            "trials": n,
            "pct": pct,
            "ci_low": 100 * low,
            "ci_high": 100 * high,
        }
    )
