"""Site-level rates against binary site factors: the two descriptive ratios
(:func:`rate_ratios`: ratio of mean site rates and ratio of pooled rates) and exact
permutation tests, every assignment of the factor to m of the n sites enumerated, with an
interval for the rate ratio by test inversion and Holm adjustment across factors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._result import Estimate
from .models import tidy
from .permutation import TIE_TOL
from .robust import holm, invert_test

__all__ = ["rate_ratios", "factor_permutation_test", "factor_permutation_tests", "all_assignments"]

#: Largest number of sites enumerated: 2^20 bit patterns are screened (≈ 20 MB).
MAX_SITES = 20


def rate_ratios(df: pd.DataFrame, count: str, exposure: str, factor: str) -> dict[str, float]:
    """The two ratios that compare a site rate (``count / exposure``, e.g. minutes per month
    in the study) between sites with and without a 0/1 ``factor``, as descriptions only.

    With P the sites with the factor and A those without (m and n - m sites):

    * ratio of mean site rates  = mean_P(count_i / exposure_i) / mean_A(count_i / exposure_i),
      every site counting once;
    * ratio of pooled rates     = (Σ_P count / Σ_P exposure) / (Σ_A count / Σ_A exposure),
      every unit of exposure counting once. This is also the maximum-likelihood rate ratio of
      a Poisson (or quasi-Poisson) model with the factor and a log(exposure) offset.

    Returns ``n, n_present, mean_rate_present, mean_rate_absent, ratio_mean_rates,
    pooled_rate_present, pooled_rate_absent, ratio_pooled_rates``; the rates and ratios are
    NaN when the factor is at every site or at none. Rows with a missing value or exposure
    <= 0 are dropped."""
    d = df.dropna(subset=[count, exposure, factor])
    d = d[d[exposure].astype(float) > 0]
    y, t = d[count].to_numpy(float), d[exposure].to_numpy(float)
    f = d[factor].to_numpy(float) > 0
    out = {"n": float(y.size), "n_present": float(f.sum())}
    if f.all() or not f.any():
        keys = ("mean_rate_present", "mean_rate_absent", "ratio_mean_rates",
                "pooled_rate_present", "pooled_rate_absent", "ratio_pooled_rates")  # fmt: skip
        return out | dict.fromkeys(keys, np.nan)
    rate = y / t
    mp, ma = float(rate[f].mean()), float(rate[~f].mean())
    pp, pa = float(y[f].sum() / t[f].sum()), float(y[~f].sum() / t[~f].sum())
    return out | {
        "mean_rate_present": mp,
        "mean_rate_absent": ma,
        "ratio_mean_rates": mp / ma,
        "pooled_rate_present": pp,
        "pooled_rate_absent": pa,
        "ratio_pooled_rates": pp / pa,
    }


def all_assignments(n: int, m: int) -> np.ndarray:
    """Boolean array (C(n, m), n): every way to give a factor to m of n sites, built from
    the n-bit integers with m bits set (row order: increasing integer)."""
    if n > MAX_SITES:
        raise ValueError(f"exact enumeration is limited to {MAX_SITES} sites")
    codes = np.arange(2**n, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(n)) & 1).astype(bool)
    return bits[bits.sum(axis=1) == m]


def factor_permutation_test(
    df: pd.DataFrame,
    count: str,
    exposure: str,
    factor: str,
    statistic: str = "log_ratio",
    level: float = 0.95,
) -> Estimate:
    """Exact two-sided permutation test of the site rate count/exposure (e.g. mentoring
    minutes per month in study) between sites with and without a 0/1 ``factor``.

    Statistic: ``"log_ratio"`` = log(mean rate with the factor / mean rate without), the
    estimate reported as the ratio of mean rates; ``"diff"`` = mean rate with − mean rate
    without (rate units). Under H0 (site rates exchangeable between the groups) every one
    of the C(n, m) assignments of the factor to m sites is equally likely; p is the share
    of assignments (the observed one included) with |T| >= |T_obs| − TIE_TOL. The interval
    inverts the same test under a shift model: rates with the factor divided by θ
    (``log_ratio``) or reduced by θ (``diff``), θ accepted while p(θ) > 1 − level
    (endpoints by bisection, :func:`~casereport.stats.robust.invert_test`; ±inf when no
    assignment count can reach the level, e.g. m = 1 and n < 20 at 95%).

    Rows with missing values or exposure <= 0 are dropped; a factor present at every or no
    site gives NaN. ``extra``: ``n_present``, ``n_assignments``, ``statistic``,
    ``mean_present``, ``mean_absent``.
    """
    if statistic not in ("log_ratio", "diff"):
        raise ValueError("statistic must be 'log_ratio' or 'diff'")
    d = df.dropna(subset=[count, exposure, factor])
    d = d[d[exposure].astype(float) > 0]
    rate = d[count].to_numpy(float) / d[exposure].to_numpy(float)
    f = d[factor].to_numpy(float) > 0
    n, m = rate.size, int(f.sum())
    quantity = f"{'ratio' if statistic == 'log_ratio' else 'difference'} of mean rates: {factor}"
    method = f"exact permutation test ({statistic} of mean {count}/{exposure})"
    extra = {"n_present": m, "statistic": statistic}
    if m in (0, n):
        return Estimate(quantity, np.nan, n=n, method=method, extra=extra)
    masks = all_assignments(n, m).astype(float)
    log = statistic == "log_ratio"

    def stat_all(r):
        mp, ma = masks @ r / m, (1 - masks) @ r / (n - m)
        return np.log(mp) - np.log(ma) if log else mp - ma

    def stat_obs(r):
        mp, ma = r[f].mean(), r[~f].mean()
        return np.log(mp) - np.log(ma) if log else mp - ma

    def pval(theta: float) -> float:
        r = rate.copy()
        with np.errstate(all="ignore"):  # far-out θ during the bracket search
            r[f] = r[f] / np.exp(theta) if log else r[f] - theta
            return float(np.mean(np.abs(stat_all(r)) >= abs(stat_obs(r)) - TIE_TOL))

    with np.errstate(divide="ignore"):
        t_obs = float(stat_obs(rate))
    alpha = 1 - level
    scale = 0.5 if log else float(np.std(rate)) or 1.0
    lo, hi = (invert_test(pval, t_obs, s, scale, alpha) for s in (-1, 1))
    back = np.exp if log else float
    return Estimate(
        quantity,
        float(back(t_obs)),
        float(back(lo)),
        float(back(hi)),
        pval(0.0),
        n,
        method,
        {
            **extra,
            "n_assignments": int(masks.shape[0]),
            "mean_present": float(rate[f].mean()),
            "mean_absent": float(rate[~f].mean()),
        },
    )


def factor_permutation_tests(
    df: pd.DataFrame,
    count: str,
    exposure: str,
    factors: Sequence[str],
    statistic: str = "log_ratio",
    level: float = 0.95,
    analysis: str = "factor_permutation",
) -> pd.DataFrame:
    """:func:`factor_permutation_test` for each factor; tidy DataFrame with the extra
    columns and ``p_holm``, the Holm-adjusted p across the factors (:func:`holm`)."""
    rows = []
    for fac in factors:
        rows += factor_permutation_test(df, count, exposure, fac, statistic, level).rows(analysis)
    out = tidy(rows)
    out["p_holm"] = holm(out["p_value"].to_numpy())["p_holm"].to_numpy()
    return out
