"""Inference for a site-level slope or association that does not lean on normality:
a slope interval from the exact permutation test, Theil–Sen, Kendall's τ with its exact
p-value, Holm-adjusted families of p-values, and the association within one stratum."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._result import Estimate
from ._util import as_float
from .models import site_ols
from .permutation import (
    DEFAULT_SEED,
    EXACT_MAX_N,
    TIE_TOL,
    _all_permutations,
    _standardise,
    permutation_correlation,
)

__all__ = [
    "adjusted_slope",
    "permutation_slope_interval",
    "theil_sen",
    "kendall_exact",
    "holm",
    "within_stratum",
]


def _pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = as_float(x), as_float(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-d and the same length")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        raise ValueError(f"need at least 3 complete (x, y) pairs, got {int(keep.sum())}")
    return x[keep], y[keep]


def invert_test(pval, centre: float, direction: int, scale: float, alpha: float, tol=1e-9):
    """One endpoint of the confidence set {θ : pval(θ) > alpha} of a test family, moving
    from an accepted ``centre`` in ``direction`` (−1 or +1): steps of ``scale``, doubled
    until pval <= alpha (at most 60 doublings, else ±inf), then bisection to
    ``tol`` × ``scale``. Assumes the accepted set is an interval around ``centre``."""
    inside, step = centre, scale
    for _ in range(60):
        out = centre + direction * step
        if pval(out) <= alpha:
            break
        inside, step = out, step * 2
    else:
        return direction * np.inf
    while abs(out - inside) > tol * scale:
        mid = (inside + out) / 2
        if pval(mid) <= alpha:
            out = mid
        else:
            inside = mid
    return (inside + out) / 2


def permutation_slope_interval(
    x,
    y,
    level: float = 0.95,
    exact_max_n: int = EXACT_MAX_N,
    n_resamples: int = 10_000,
    seed: int | None = DEFAULT_SEED,
    tol: float = 1e-9,
) -> Estimate:
    """OLS slope of y on x with the interval obtained by inverting the permutation test.

    For a candidate slope b the residuals r(b) = y − b·x are, under H0: slope = b,
    exchangeable with respect to x (the model y = a + b x + e with exchangeable e). The test
    statistic is |corr(x, r(b))|; its two-sided p-value p(b) is the share of pairings π of
    r(b) with x (all n! when n <= ``exact_max_n``, else ``n_resamples`` random ones drawn
    once with ``seed`` and used for every b, the observed pairing included, p =
    (hits + 1)/(m + 1)) with |corr(x, r(b)_π)| >= |corr(x, r(b))| − TIE_TOL.

    Two-sided rule: b is rejected at level α = 1 − ``level`` when p(b) <= α; the interval
    is {b : p(b) > α}, the confidence set dual to the test (Lehmann & Romano 2005, Testing
    Statistical Hypotheses, 3rd ed., ch. 3). p(b_OLS) = 1 because
    corr(x, r(b_OLS)) = 0. The endpoints are found by bisection (to ``tol`` × scale) between
    b_OLS and a rejected point found by doubling the step outwards; corr(x, r(b)) decreases
    monotonically in b, so the accepted set is in practice an interval (the tests check it
    against a grid). When no b is rejected (e.g. n = 3, where the smallest possible p is
    1/6 or more), the endpoint is ±inf. ``p_value`` is p(0), the permutation test of zero
    slope (equal to the Pearson permutation p of
    :func:`~casereport.stats.permutation_correlation`).
    """
    x, y = _pairs(x, y)
    n = x.size
    fit = np.polyfit(x, y, 1)
    b_ols = float(fit[0])
    zx = _standardise(x)
    if n <= exact_max_n:
        perms, mc = _all_permutations(n), False
    else:
        rng = np.random.default_rng(seed)
        perms, mc = rng.permuted(np.broadcast_to(np.arange(n), (n_resamples, n)), axis=1), True
    zxp = zx[perms]
    alpha = 1 - level

    def pval(b: float) -> float:
        zr = _standardise(y - b * x)
        if np.isnan(zr).any():
            return 1.0
        thr = abs(zx @ zr) - TIE_TOL
        hits = int(np.count_nonzero(np.abs(zxp @ zr) >= thr))
        return (hits + 1) / (len(perms) + 1) if mc else hits / len(perms)

    scale = abs(b_ols) + np.std(y) / np.std(x)

    def endpoint(direction: int) -> float:
        return invert_test(pval, b_ols, direction, scale, alpha, tol)

    return Estimate(
        quantity="slope",
        estimate=b_ols,
        ci_low=float(endpoint(-1)),
        ci_high=float(endpoint(+1)),
        p_value=float(pval(0.0)),
        n=n,
        method="OLS slope, interval by inverting the permutation test of corr(x, y - b x)"
        + (" (Monte Carlo)" if mc else " (exact)"),
        extra={"n_permutations": int(len(perms)), "exact": not mc, "intercept": float(fit[1])},
    )


def kendall_exact(x, y) -> Estimate:
    """Kendall's τ (τ-b) with its exact two-sided p-value, ``scipy.stats.kendalltau(x, y,
    method="exact")`` (the null distribution of the number of discordant pairs over all n!
    orderings). scipy cannot do this with ties, so ties raise ValueError; use
    :func:`~casereport.stats.permutation_correlation` (Spearman) then."""
    x, y = _pairs(x, y)
    if len(np.unique(x)) < x.size or len(np.unique(y)) < y.size:
        raise ValueError("ties in x or y: the exact Kendall p-value is not available")
    res = stats.kendalltau(x, y, method="exact")
    return Estimate(
        quantity="kendall tau",
        estimate=float(res.statistic),
        p_value=float(res.pvalue),
        n=int(x.size),
        method="Kendall tau, exact p (scipy)",
    )


def theil_sen(x, y, level: float = 0.95) -> Estimate:
    """Theil–Sen slope (median of the pairwise slopes) with Sen's (1968) distribution-free
    interval, ``scipy.stats.theilslopes(y, x, alpha=level)``; its test of zero slope is
    Kendall's test, so ``p_value`` is the exact Kendall p of :func:`kendall_exact` (ties
    raise ValueError). ``extra``: ``intercept`` (median of y − slope·x, scipy's
    convention), ``kendall_tau``."""
    x, y = _pairs(x, y)
    res = stats.theilslopes(y, x, alpha=level)
    tau = kendall_exact(x, y)
    return Estimate(
        quantity="Theil-Sen slope",
        estimate=float(res.slope),
        ci_low=float(res.low_slope),
        ci_high=float(res.high_slope),
        p_value=tau.p_value,
        n=int(x.size),
        method="Theil-Sen slope, Sen interval (scipy), exact Kendall p",
        extra={"intercept": float(res.intercept), "kendall_tau": tau.estimate},
    )


def holm(p_values, labels: Sequence[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Holm (1979) step-down adjustment of a family of p-values, statsmodels
    ``multipletests(method="holm")``: the i-th smallest p is multiplied by (m − i + 1),
    made monotone and capped at 1. Returns ``label, p_value, p_holm, reject`` (reject at
    ``alpha`` after adjustment), in the input order; NaN p-values are left out of the
    family and get NaN.

    Example (three factor tests; by hand: 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 →
    made monotone 0.06):

    >>> holm([0.01, 0.04, 0.03], labels=["a", "b", "c"]).round(3).to_dict("list")
    {'label': ['a', 'b', 'c'], 'p_value': [0.01, 0.04, 0.03], 'p_holm': [0.03, 0.06, 0.06], \
'reject': [True, False, False]}
    """
    from statsmodels.stats.multitest import multipletests

    p = as_float(p_values)
    labels = [str(i) for i in range(p.size)] if labels is None else list(labels)
    if len(labels) != p.size:
        raise ValueError("labels and p_values differ in length")
    adj = np.full(p.size, np.nan)
    rej = np.zeros(p.size, dtype=bool)
    ok = ~np.isnan(p)
    if ok.any():
        rej[ok], adj[ok], _, _ = multipletests(p[ok], alpha=alpha, method="holm")
    return pd.DataFrame({"label": labels, "p_value": p, "p_holm": adj, "reject": rej})


def within_stratum(
    df: pd.DataFrame,
    x: str,
    y: str,
    by: str,
    value,
    method: str = "pearson",
    level: float = 0.95,
) -> Estimate:
    """Association of ``y`` with ``x`` among the rows where column ``by`` equals ``value``
    (e.g. the sites of one employer).

    The estimate is the correlation (``method`` "pearson" or "spearman") with its
    Fisher-z interval and permutation p-value, from
    :func:`~casereport.stats.permutation_correlation` (exact for n <= 8). ``extra`` holds
    the OLS slope of y on x within the stratum with its t interval (``slope, slope_ci_low,
    slope_ci_high, slope_p``; :func:`~casereport.stats.site_ols`) and the exactness flag.
    Fewer than 3 complete rows in the stratum raise ValueError naming the stratum.
    """
    d = df.loc[df[by] == value].dropna(subset=[x, y])
    if len(d) < 3:
        raise ValueError(
            f"stratum {by} == {value!r} has {len(d)} complete rows; at least 3 are needed"
        )
    pc = permutation_correlation(d[x], d[y], method=method, level=level)
    ols = site_ols(d, y, x, level=level)
    return Estimate(
        quantity=f"{method} r within {by} = {value}",
        estimate=pc.statistic,
        ci_low=pc.ci_low,
        ci_high=pc.ci_high,
        p_value=pc.p_value,
        n=pc.n,
        method=f"{method} correlation, permutation p, Fisher-z interval",
        extra={
            "exact": pc.exact,
            "slope": ols.slope,
            "slope_ci_low": ols.ci_low,
            "slope_ci_high": ols.ci_high,
            "slope_p": ols.p_value,
        },
    )


def adjusted_slope(df: pd.DataFrame, y: str, x: str, by: str, level: float = 0.95) -> Estimate:
    """OLS slope of ``y`` on ``x`` adjusted for the groups of column ``by`` (one indicator
    per level but the first), with its t interval and p on n − (number of levels) − 1 df.

    The textbook least-squares fit y = a + b·x + Σ c_g·[by = g] + e (statsmodels OLS);
    within-group slope pooled across the groups. Needs more rows than parameters and ``x``
    varying within at least one group, else ValueError.
    """
    # the classes alone: statsmodels.api imports all of statsmodels (time series,
    # graphics; about 0.15 s more in every kernel and in the template)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    d = df.dropna(subset=[x, y, by])
    dummies = pd.get_dummies(d[by].astype(str), drop_first=True, dtype=float)
    design = add_constant(pd.concat([d[[x]].astype(float), dummies], axis=1))
    if len(d) <= design.shape[1]:
        raise ValueError(
            f"adjusting {x} for {by} needs more than {design.shape[1]} rows; there are {len(d)}"
        )
    fit = OLS(d[y].astype(float), design).fit()
    if not np.isfinite(fit.bse[x]) or np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        raise ValueError(f"{x} does not vary within the levels of {by}")
    lo, hi = fit.conf_int(alpha=1 - level).loc[x]
    return Estimate(
        quantity=f"slope of {y} on {x} adjusted for {by}", estimate=float(fit.params[x]),
        ci_low=float(lo), ci_high=float(hi), p_value=float(fit.pvalues[x]), n=int(len(d)),
        method="OLS with group indicators, t interval",
    )
