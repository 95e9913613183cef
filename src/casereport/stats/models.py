"""Site-level models: OLS with influence, leave-one-out refits and the tidy-row helpers
(the binomial GLM and rate models are in :mod:`casereport.stats.glm`).

Every model returns a small result object whose headline quantity is available as
``estimate, ci_low, ci_high, p_value, n`` and whose ``rows(analysis)`` gives tidy rows with
the columns in :data:`TIDY_COLUMNS` (the notebooks add ``parameter_set``).

Two estimands for engagement vs fidelity, deliberately both reported:

* :func:`site_ols` — unweighted OLS of site engagement % on site fidelity: every site counts
  once, which is the site-level question the case study asks ("do higher-fidelity sites
  engage more?"). With 7 sites the t-interval rests on normal residuals; the permutation
  test in :mod:`casereport.stats.permutation` is the assumption-light companion (the OLS
  slope's t statistic is a monotone function of Pearson r, so the Pearson permutation
  p-value is also the exact permutation p-value for the slope).
* :func:`binomial_glm` — participants within sites: logit P(engaged) on fidelity, sites
  weighted by their number of participants with data, so large sites dominate. Sites differ
  for reasons other than fidelity, so extra-binomial variation is expected; it is checked
  (Pearson χ²/df) and, when present, handled by quasi-binomial standard errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "TIDY_COLUMNS",
    "OLSResult",
    "site_ols",
    "ols_leave_one_out",
    "cooks_distance",
    "most_influential",
    "leave_one_out",
    "loo_rows",
    "pearson_without_each",
    "tidy",
]

TIDY_COLUMNS = ["analysis", "quantity", "estimate", "ci_low", "ci_high", "p_value", "n"]


def _row(analysis, quantity, estimate, ci_low=np.nan, ci_high=np.nan, p_value=np.nan, n=None):
    return {
        "analysis": analysis,
        "quantity": quantity,
        "estimate": float(estimate),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": float(p_value),
        "n": None if n is None else int(n),
    }


def tidy(rows: Iterable[dict]) -> pd.DataFrame:
    """Rows (dicts) to a DataFrame with the :data:`TIDY_COLUMNS` first, in that order."""
    df = pd.DataFrame(list(rows))
    for c in TIDY_COLUMNS:
        if c not in df:
            df[c] = np.nan
    return df[TIDY_COLUMNS + [c for c in df.columns if c not in TIDY_COLUMNS]]


def _max_cooks_row(analysis: str, influence: pd.DataFrame, n: int) -> dict:
    site, d = most_influential(influence)
    return _row(analysis, f"max Cook's distance (site {site})", d, n=n)


def _complete(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    return df.dropna(subset=list(cols))


# --------------------------------------------------------------------------------------
# OLS (closed form, O(n))


@dataclass
class OLSResult:
    """Unweighted simple linear regression y = a + b·x fitted to one row per site.

    ``estimate/ci_low/ci_high/p_value`` refer to the slope b (t-interval, n − 2 df).
    ``influence`` has one row per site: ``site, x, y, fitted, residual, leverage,
    studentized_residual`` (externally studentized), ``cooks_d``.
    """

    y: str
    x: str
    n: int
    intercept: float
    slope: float
    slope_se: float
    intercept_se: float
    ci_low: float
    ci_high: float
    intercept_ci: tuple[float, float]
    p_value: float
    r_squared: float
    sigma: float
    level: float
    influence: pd.DataFrame = field(repr=False)

    @property
    def estimate(self) -> float:
        return self.slope

    def rows(self, analysis: str = "ols") -> list[dict]:
        """Tidy rows: slope (per unit of x), intercept, r_squared, residual SD."""
        return [
            _row(
                analysis,
                f"slope: {self.y} per unit {self.x}",
                self.slope,
                self.ci_low,
                self.ci_high,
                self.p_value,
                self.n,
            ),
            _row(analysis, "intercept", self.intercept, *self.intercept_ci, n=self.n),
            _row(analysis, "r_squared", self.r_squared, n=self.n),
            _row(analysis, "residual_sd", self.sigma, n=self.n),
            _max_cooks_row(analysis, self.influence, self.n),
        ]


def site_ols(
    df: pd.DataFrame, y: str, x: str, level: float = 0.95, site_col: str = "site"
) -> OLSResult:
    """Unweighted OLS of column ``y`` on column ``x``, one row per site (rows with NaN dropped).

    Closed-form (sums of squares), so it is O(n) and needs no design matrix. Returns the
    slope with its t-interval at ``level``, the intercept, R², residual SD and per-site
    influence (leverage h_i = 1/n + (x_i − x̄)²/Sxx; Cook's D_i = e_i² h_i / (2 s² (1 − h_i)²)).
    Needs n >= 3 and x not constant.
    """
    d = _complete(df, [y, x])
    xv = d[x].to_numpy(float)
    yv = d[y].to_numpy(float)
    n = xv.size
    if n < 3:
        raise ValueError("site_ols needs at least 3 sites")
    xbar, ybar = xv.mean(), yv.mean()
    dx = xv - xbar
    sxx = float(dx @ dx)
    if sxx == 0:
        raise ValueError(f"{x} is constant")
    slope = float(dx @ (yv - ybar)) / sxx
    intercept = ybar - slope * xbar
    fitted = intercept + slope * xv
    resid = yv - fitted
    df_resid = n - 2
    rss = float(resid @ resid)
    s2 = rss / df_resid
    se_b = np.sqrt(s2 / sxx)
    se_a = np.sqrt(s2 * (1 / n + xbar**2 / sxx))
    tq = stats.t.ppf(0.5 + level / 2, df_resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = slope / se_b
        p = 2 * stats.t.sf(abs(tstat), df_resid) if se_b > 0 else 0.0
        tss = float(((yv - ybar) ** 2).sum())
        r2 = 1 - rss / tss if tss > 0 else np.nan
        h = 1 / n + dx**2 / sxx
        cooks = resid**2 * h / (2 * s2 * (1 - h) ** 2)
        # deletion variance s_(i)^2 for externally studentized residuals
        s2_i = (df_resid * s2 - resid**2 / (1 - h)) / (df_resid - 1) if n > 3 else np.nan
        t_ext = resid / np.sqrt(s2_i * (1 - h))
    sites = d[site_col].astype(str).to_numpy() if site_col in d else d.index.astype(str)
    influence = pd.DataFrame(
        {
            "site": sites,
            "x": xv,
            "y": yv,
            "fitted": fitted,
            "residual": resid,
            "leverage": h,
            "studentized_residual": t_ext,
            "cooks_d": cooks,
        }
    )
    return OLSResult(
        y=y,
        x=x,
        n=n,
        intercept=float(intercept),
        slope=slope,
        slope_se=float(se_b),
        intercept_se=float(se_a),
        ci_low=float(slope - tq * se_b),
        ci_high=float(slope + tq * se_b),
        intercept_ci=(float(intercept - tq * se_a), float(intercept + tq * se_a)),
        p_value=float(p),
        r_squared=float(r2),
        sigma=float(np.sqrt(s2)),
        level=level,
        influence=influence,
    )


def cooks_distance(df: pd.DataFrame, y: str, x: str, site_col: str = "site") -> pd.DataFrame:
    """Per-site influence table of :func:`site_ols` (Cook's D, leverage, residuals)."""
    return site_ols(df, y, x, site_col=site_col).influence


def most_influential(influence: pd.DataFrame, column: str = "cooks_d") -> tuple[str, float]:
    """The site with the largest value of ``column`` (Cook's D by default) and that value.

    A common flag is D > 4/n (or D > 1); with 7 sites report the value rather than a verdict.
    """
    i = int(np.nanargmax(influence[column].to_numpy(float)))
    return str(influence["site"].iloc[i]), float(influence[column].iloc[i])


def ols_leave_one_out(
    df: pd.DataFrame, y: str, x: str, level: float = 0.95, site_col: str = "site"
) -> pd.DataFrame:
    """Exact leave-one-site-out OLS slopes for all sites at once, O(n) (no refits).

    Uses the deletion identities b_(i) = b − (x_i − x̄) e_i / (Sxx (1 − h_i)),
    Sxx_(i) = Sxx − n (x_i − x̄)² / (n − 1) and s²_(i) = ((n−2) s² − e_i²/(1 − h_i)) / (n − 3);
    these give the same numbers as refitting without site i, so this scales to 10,000 sites
    where :func:`leave_one_out` (n refits) would not. Needs n >= 4.

    Returns one row per omitted site: ``omitted, estimate, ci_low, ci_high, p_value, n,
    change`` (change = slope without the site − full slope).
    """
    full = site_ols(df, y, x, level=level, site_col=site_col)
    inf = full.influence
    n = full.n
    if n < 4:
        raise ValueError("leave-one-out OLS needs at least 4 sites")
    xv, e, h = inf["x"].to_numpy(), inf["residual"].to_numpy(), inf["leverage"].to_numpy()
    dx = xv - xv.mean()
    sxx = float(dx @ dx)
    s2 = full.sigma**2
    with np.errstate(divide="ignore", invalid="ignore"):
        b_i = full.slope - dx * e / (sxx * (1 - h))
        sxx_i = sxx - n * dx**2 / (n - 1)
        df_i = n - 3
        s2_i = ((n - 2) * s2 - e**2 / (1 - h)) / df_i
        se_i = np.sqrt(s2_i / sxx_i)
        tq = stats.t.ppf(0.5 + level / 2, df_i)
        p_i = 2 * stats.t.sf(np.abs(b_i / se_i), df_i)
    return pd.DataFrame(
        {
            "omitted": inf["site"].to_numpy(),
            "estimate": b_i,
            "ci_low": b_i - tq * se_i,
            "ci_high": b_i + tq * se_i,
            "p_value": p_i,
            "n": n - 1,
            "change": b_i - full.slope,
        }
    )


# --------------------------------------------------------------------------------------
# Generic leave-one-out


def leave_one_out(
    df: pd.DataFrame, fit: Callable[[pd.DataFrame], object], site_col: str = "site"
) -> pd.DataFrame:
    """Refit ``fit`` without each site in turn.

    ``fit`` takes a DataFrame and returns an object with attributes (or a dict with keys)
    ``estimate, ci_low, ci_high, p_value, n`` — every result class here qualifies, e.g.
    ``lambda d: binomial_glm(d, "engaged", "with_engagement_data", "fidelity_score")``.

    Returns one row per omitted site: ``omitted, estimate, ci_low, ci_high, p_value, n,
    change`` (change = estimate without the site − full-data estimate). This is n refits,
    fine for tens of sites; for OLS on many sites use :func:`ols_leave_one_out` (O(n)).
    """

    def get(res, key):
        return res[key] if isinstance(res, dict) else getattr(res, key)

    full = get(fit(df), "estimate")
    sites = df[site_col].astype(str)
    rows = []
    for s in pd.unique(sites):
        res = fit(df[sites != s])
        rows.append(
            {
                "omitted": s,
                **{k: get(res, k) for k in ("estimate", "ci_low", "ci_high", "p_value", "n")},
            }
        )
    out = pd.DataFrame(rows)
    out["change"] = out["estimate"] - full
    return out


def loo_rows(loo: pd.DataFrame, analysis: str, quantity: str) -> list[dict]:
    """Tidy rows from a leave-one-out table: quantity becomes ``"<quantity> without site s"``."""
    return [
        _row(
            analysis,
            f"{quantity} without site {r.omitted}",
            r.estimate,
            r.ci_low,
            r.ci_high,
            r.p_value,
            r.n,
        )
        for r in loo.itertuples(index=False)
    ]


def pearson_without_each(x: Any, y: Any) -> np.ndarray:
    """Pearson r with each site left out, all at once from the sums (O(n), no refits).

    Centring first keeps the sums of squares well conditioned; r is unchanged by it.
    """
    xv = np.asarray(x, dtype=float) - np.mean(x)
    yv = np.asarray(y, dtype=float) - np.mean(y)
    m = xv.size - 1
    sx, sy = -xv, -yv  # sums without site i (the full sums are 0 after centring)
    sxx, syy, sxy = (xv @ xv) - xv**2, (yv @ yv) - yv**2, (xv @ yv) - xv * yv
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m * sxy - sx * sy) / np.sqrt((m * sxx - sx**2) * (m * syy - sy**2))

