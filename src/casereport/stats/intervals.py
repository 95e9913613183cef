"""Exact confidence intervals for proportions."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["clopper_pearson"]


def clopper_pearson(k, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) interval for a binomial proportion k/n, vectorised.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials (broadcast against each other); ``0 <= k <= n``, ``n >= 1``.
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
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= k <= n and n >= 1")
    k, n = np.broadcast_arrays(k, n)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        # Beta with a zero shape parameter is undefined; np.where picks the closed-form edge.
        low = np.where(k == 0, 0.0, stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = np.where(k == n, 1.0, stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high
