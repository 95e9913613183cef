"""Permutation tests for correlations, exact for few sites and Monte Carlo above that."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ._util import as_float

__all__ = [
    "DEFAULT_SEED",
    "EXACT_MAX_N",
    "PermutationResult",
    "permutation_correlation",
]

#: Largest n enumerated exactly: 8! = 40,320 permutations (a 40,320 × 8 array, < 3 MB).
#: 9! = 362,880 is still feasible but 10! is not, so above 8 the test is Monte Carlo.
EXACT_MAX_N = 8
#: Fixed default seed so Monte Carlo p-values are reproducible run to run.
DEFAULT_SEED = 20240601
#: Permuted statistics within this distance of |r_obs| count as "as extreme": ties in the
#: data give permutations with mathematically equal |r| that differ in the last bits.
TIE_TOL = 1e-10
# Monte Carlo is done in chunks of about this many array cells, so memory stays flat for
# 10,000 sites x 10,000 resamples (work is O(n x resamples), never O(n^2)).
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class PermutationResult:
    """Result of :func:`permutation_correlation`.

    Attributes
    ----------
    method : "pearson" or "spearman"
    statistic : observed correlation (Spearman = Pearson on average ranks)
    p_value : two-sided permutation p-value (see :func:`permutation_correlation`)
    n : number of complete (x, y) pairs used
    n_permutations : permutations evaluated (n! if exact, else n_resamples)
    exact : True if all n! permutations were enumerated
    seed : the seed used (None when exact)
    """

    method: str
    statistic: float
    p_value: float
    n: int
    n_permutations: int
    exact: bool
    seed: int | None
    ci_low: float = np.nan
    ci_high: float = np.nan
    level: float = 0.95

    @property
    def estimate(self) -> float:
        return self.statistic

    def to_dict(self) -> dict:
        return asdict(self)

    def rows(self, analysis: str = "correlation", quantity: str | None = None) -> list[dict]:
        """One tidy row (``analysis, quantity, estimate, ci_low, ci_high, p_value, n``) plus
        ``exact`` and ``n_permutations`` so the method is visible in the results file."""
        return [
            {
                "analysis": analysis,
                "quantity": quantity or f"{self.method} r",
                "estimate": float(self.statistic),
                "ci_low": float(self.ci_low),
                "ci_high": float(self.ci_high),
                "p_value": float(self.p_value),
                "n": int(self.n),
                "exact": bool(self.exact),
                "n_permutations": int(self.n_permutations),
            }
        ]


def _fisher_z_interval(r: float, n: int, method: str = "pearson", level: float = 0.95):
    """Approximate interval for a correlation via Fisher's z = atanh(r).

    SE(z) = 1/sqrt(n − 3) for Pearson; for Spearman the Bonett & Wright (2000, Psychometrika
    65:23) SE sqrt((1 + r²/2)/(n − 3)). Returns (NaN, NaN) when n <= 3 or r is NaN. With 7
    sites this is a rough guide only; the permutation p-value is the primary inference.
    """
    if n <= 3 or not np.isfinite(r):
        return np.nan, np.nan
    se = np.sqrt((1 + r * r / 2) / (n - 3)) if method == "spearman" else 1 / np.sqrt(n - 3)
    z = np.arctanh(np.clip(r, -0.999999999, 0.999999999))
    q = stats.norm.ppf(0.5 + level / 2)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))


def _standardise(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    norm = np.sqrt((v * v).sum())
    return v / norm if norm > 0 else np.full_like(v, np.nan)


def _all_permutations(n: int) -> np.ndarray:
    return np.fromiter(
        itertools.chain.from_iterable(itertools.permutations(range(n))),
        dtype=np.int16 if n < 128 else np.int64,
        count=math.factorial(n) * n,
    ).reshape(-1, n)


def permutation_correlation(
    x,
    y,
    method: str = "pearson",
    exact_max_n: int = EXACT_MAX_N,
    n_resamples: int = 10_000,
    seed: int | None = DEFAULT_SEED,
    level: float = 0.95,
) -> PermutationResult:
    """Correlation of x and y with a two-sided permutation p-value.

    Under H0 (exchangeability of y across sites) every pairing of the y values with the x
    values is equally likely. With ``n <= exact_max_n`` all n! pairings are enumerated
    (5,040 for 7 sites) and the p-value is exact; above that, ``n_resamples`` random
    pairings are drawn with ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    x, y : array-like of float, same length; pairs with a missing value in either are dropped.
    method : "pearson" (correlation of the values) or "spearman" (Pearson correlation of
        average ranks, so ties are handled as in ``scipy.stats.spearmanr``).
    exact_max_n : enumerate exactly when n <= this (default :data:`EXACT_MAX_N` = 8; at
        most 10 sites can be enumerated).
    n_resamples : Monte Carlo resamples when n > exact_max_n.
    seed : Monte Carlo seed (fixed default for reproducibility).
    level : coverage of the Fisher-z interval reported alongside (see
        :func:`_fisher_z_interval`); it does not affect the p-value.

    Returns
    -------
    PermutationResult

    Notes
    -----
    p-value definition (two-sided): exact: the proportion of the n! permutations (the
    identity included) with ``|r_perm| >= |r_obs| - TIE_TOL``; Monte Carlo:
    ``(b + 1) / (m + 1)`` where b of the m random permutations satisfy the same inequality
    (the observed pairing counted once, so p is never 0; Phipson & Smyth 2010). The
    statistic is vectorised as r = z_x[perm] · z_y with z the centred, unit-norm vectors, so
    each permutation costs O(n). A constant x or y gives statistic and p-value NaN.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be 'pearson' or 'spearman'")
    x, y = as_float(x), as_float(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-d and the same length")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = x.size
    if n < 3:
        raise ValueError("need at least 3 complete pairs")
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
    zx, zy = _standardise(x), _standardise(y)
    r_obs = float(np.clip(zx @ zy, -1.0, 1.0))
    exact = n <= exact_max_n
    if exact and n > 10:  # 11! permutations × n cells would not fit in memory
        raise ValueError("exact enumeration is limited to n <= 10; lower exact_max_n")
    if np.isnan(r_obs):
        n_perm = math.factorial(n) if exact else n_resamples
        return PermutationResult(
            method, np.nan, np.nan, n, n_perm, exact, None if exact else seed, level=level
        )
    threshold = abs(r_obs) - TIE_TOL
    ci = _fisher_z_interval(r_obs, n, method, level)
    if exact:
        perms = _all_permutations(n)
        r_perm = zx[perms] @ zy
        p = float(np.mean(np.abs(r_perm) >= threshold))
        return PermutationResult(method, r_obs, p, n, perms.shape[0], True, None, *ci, level)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // n))
    b = 0
    done = 0
    base = np.arange(n)
    while done < n_resamples:
        m = min(chunk, n_resamples - done)
        perms = rng.permuted(np.broadcast_to(base, (m, n)), axis=1)
        b += int(np.count_nonzero(np.abs(zx[perms] @ zy) >= threshold))
        done += m
    p = (b + 1) / (n_resamples + 1)
    return PermutationResult(method, r_obs, p, n, n_resamples, False, seed, *ci, level)
