"""Sensitivity of a site-level slope: per-site influence in both directions (OLS deletion
diagnostics) and worst/best-case bounds for an outcome with missing participants."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .models import _row, ols_leave_one_out, tidy

__all__ = ["InfluenceResult", "BoundsResult", "influence_both_ways", "missing_outcome_bounds"]


@dataclass
class InfluenceResult:
    """Per-site deletion diagnostics for OLS y ~ x and their summary.

    ``table``: one row per site with ``site, x, y, leverage, cooks_d, slope_without,
    dfbeta`` (full slope − slope without the site: DFBETA with the standard sign of
    Belsley, Kuh and Welsch 1980, so positive means the site pulls the slope up), ``dfbetas``
    (statsmodels' scaled DFBETAS for the slope, the same sign), ``student_resid``
    (externally studentised), ``bonf_p`` (Bonferroni outlier p), ``loo_ci_low,
    loo_ci_high`` (t interval of the slope without the site) and ``loo_includes_zero``.
    ``strengthens``/``weakens``: the site whose removal moves the slope furthest from 0 /
    most towards (or past) 0, with the slope without it.
    """

    slope: float
    n: int
    strengthens: tuple[str, float]
    weakens: tuple[str, float]
    n_loo_including_zero: int
    table: pd.DataFrame = field(repr=False)

    @property
    def estimate(self) -> float:
        return self.slope

    def rows(self, analysis: str = "influence") -> list[dict]:
        t = self.table.set_index("site")
        out = []
        for label, (site, b) in (("strengthens", self.strengthens), ("weakens", self.weakens)):
            r = t.loc[site]
            out.append(
                _row(
                    analysis,
                    f"slope without the site that most {label} it (site {site})",
                    b,
                    r["loo_ci_low"],
                    r["loo_ci_high"],
                    n=self.n - 1,
                )
            )
        out.append(
            _row(
                analysis,
                "leave-one-out slope intervals including 0",
                self.n_loo_including_zero,
                n=self.n,
            )
        )
        out.append(
            _row(
                analysis,
                "smallest Bonferroni outlier p",
                t["bonf_p"].min(),
                p_value=t["bonf_p"].min(),
                n=self.n,
            )
        )
        return out


def influence_both_ways(
    df: pd.DataFrame, y: str, x: str, level: float = 0.95, site_col: str = "site"
) -> InfluenceResult:
    """Deletion diagnostics of the unweighted OLS of ``y`` on ``x`` (one row per site):
    leverage and Cook's distance from statsmodels ``OLS(...).fit().get_influence()``
    (``hat_matrix_diag``, ``cooks_distance``); the slope without each site, DFBETA,
    DFBETAS, the externally studentised residual and its Bonferroni p (as statsmodels'
    ``params_not_obsi``, ``dfbetas``, ``resid_studentized_external`` and
    ``outlier_test(method="bonf")`` give them) from the exact deletion identities of
    Belsley, Kuh and Welsch (1980, eqs. 2.1 and 2.8),
    b − b_(i) = (X'X)⁻¹ x_i e_i / (1 − h_i) and
    s²_(i) = ((n − p) s² − e_i² / (1 − h_i)) / (n − p − 1),
    in O(n) where statsmodels refits once per site (quadratic: 20 s at 10,000 sites);
    leave-one-out t intervals from :func:`~casereport.stats.ols_leave_one_out`. Needs
    n >= 4.

    Direction: with s = sign(full slope), the site maximising s·slope_without
    *strengthens* the association when removed and the one minimising it *weakens* it.
    """
    # the classes alone: statsmodels.api imports all of statsmodels (time series,
    # graphics; about 0.15 s more in every kernel and in the template)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    d = df.dropna(subset=[y, x])
    if len(d) < 4:
        raise ValueError("influence_both_ways needs at least 4 sites")
    xv, yv = d[x].to_numpy(float), d[y].to_numpy(float)
    fit = OLS(yv, add_constant(xv)).fit()
    inf = fit.get_influence()
    sites = d[site_col].astype(str).to_numpy() if site_col in d else d.index.astype(str)
    loo = ols_leave_one_out(d, y, x, level=level, site_col=site_col)
    n, k = fit.model.exog.shape
    h, e = inf.hat_matrix_diag, np.asarray(fit.resid)
    xtx_inv = fit.normalized_cov_params  # (X'X)⁻¹
    with np.errstate(divide="ignore", invalid="ignore"):  # h_i = 1: no fit without site i
        dfbeta = (fit.model.exog @ xtx_inv) * (e / (1 - h))[:, None]  # rows: b − b_(i)
        s2_i = ((n - k) * fit.scale - e**2 / (1 - h)) / (n - k - 1)
        dfbetas = dfbeta / np.sqrt(s2_i)[:, None] / np.sqrt(np.diag(xtx_inv))
        t_ext = e / np.sqrt(s2_i * (1 - h))
    # outlier_test: two-sided t p on n − k − 1 df, times n (Bonferroni), at most 1
    bonf = np.minimum(1.0, n * 2 * stats.t.sf(np.abs(t_ext), n - k - 1))
    b_i = fit.params[1] - dfbeta[:, 1]
    table = pd.DataFrame(
        {
            "site": sites,
            "x": xv,
            "y": yv,
            "leverage": h,
            "cooks_d": inf.cooks_distance[0],
            "slope_without": b_i,
            "dfbeta": dfbeta[:, 1],
            "dfbetas": dfbetas[:, 1],
            "student_resid": t_ext,
            "bonf_p": bonf,
            "loo_ci_low": loo["ci_low"].to_numpy(),
            "loo_ci_high": loo["ci_high"].to_numpy(),
        }
    )
    table["loo_includes_zero"] = (table["loo_ci_low"] <= 0) & (table["loo_ci_high"] >= 0)
    s = np.sign(fit.params[1]) or 1.0
    hi, lo = int(np.argmax(s * b_i)), int(np.argmin(s * b_i))
    return InfluenceResult(
        slope=float(fit.params[1]),
        n=len(d),
        strengthens=(sites[hi], float(b_i[hi])),
        weakens=(sites[lo], float(b_i[lo])),
        n_loo_including_zero=int(table["loo_includes_zero"].sum()),
        table=table,
    )


@dataclass
class BoundsResult:
    """Worst/best-case bounds for site engagement when participants lack outcome data.

    ``table``: per site ``site, x, observed`` (k/n_data), ``lower`` (k/N: no missing
    participant engaged), ``upper`` ((k + N − n_data)/N: all engaged), ``missing_share``
    ((N − n_data)/N). ``association``: tidy rows of the OLS slope (t interval, p) and
    Pearson r of each of observed, lower and upper on x. ``slope_bounds``: the smallest
    and largest OLS slope over every choice of per-site values within [lower, upper].
    ``slope_bounds_ci``: the lower confidence limit of the smallest slope and the upper
    limit of the largest (each the t interval of the OLS fit at the vertex that attains
    the bound): an interval for the slope that allows for both the missing outcomes and
    sampling error, conservative in the manner of Imbens and Manski (2004, Econometrica
    72:1845), who cover the identified set by the union of the bounds' intervals.
    """

    association: pd.DataFrame
    slope_bounds: tuple[float, float]
    table: pd.DataFrame = field(repr=False)
    slope_bounds_ci: tuple[float, float] = (float("nan"), float("nan"))

    def rows(self, analysis: str = "missing_bounds") -> list[dict]:
        out = self.association.assign(analysis=analysis).to_dict("records")
        lo, hi = self.slope_bounds
        out.append(
            _row(
                analysis,
                "slope bounds over all missing outcomes",
                np.nan,
                lo,
                hi,
                n=len(self.table),
            )
        )
        return out


def missing_outcome_bounds(
    df: pd.DataFrame,
    successes: str,
    with_data: str,
    offered: str,
    x: str,
    site_col: str = "site",
) -> BoundsResult:
    """Manski (1989, J Human Resources 24:343; 2003, Partial Identification of Probability
    Distributions, ch. 1) worst/best-case bounds on the share engaged among the N offered,
    when k of the n_data with data engaged and N − n_data have no outcome:
    [k/N, (k + N − n_data)/N]. The "offered denominator" k/N is the lower bound.

    The association with ``x`` is reported under the observed shares and under each
    extreme (OLS slope with t interval via :func:`~casereport.stats.site_ols`, and
    Pearson r). Because the OLS slope Σ(x_i − x̄) y_i / Sxx is linear in the y_i, its sharp
    bounds over the box of per-site bounds are attained at a vertex: the largest slope
    takes the upper bound where x_i > x̄ and the lower bound elsewhere, the smallest the
    reverse (``slope_bounds``). Pearson r is not linear, so no sharp bounds are given for r.
    """
    from .models import site_ols

    d = df.dropna(subset=[successes, with_data, offered, x])
    k, m, big_n = (d[c].to_numpy(float) for c in (successes, with_data, offered))
    if np.any(k > m) or np.any(m > big_n) or np.any(big_n <= 0):
        raise ValueError("need 0 <= successes <= with_data <= offered and offered > 0")
    xv = d[x].to_numpy(float)
    sites = d[site_col].astype(str).to_numpy() if site_col in d else d.index.astype(str)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(m > 0, k / m, np.nan)
    table = pd.DataFrame(
        {
            "site": sites,
            "x": xv,
            "observed": observed,
            "lower": k / big_n,
            "upper": (k + big_n - m) / big_n,
            "missing_share": (big_n - m) / big_n,
        }
    )
    rows = []
    for col in ("observed", "lower", "upper"):
        ols = site_ols(table.rename(columns={"x": "_x"}), col, "_x", site_col="site")
        rows.append(
            _row(
                "missing_bounds",
                f"slope of {col} share on {x}",
                ols.slope,
                ols.ci_low,
                ols.ci_high,
                ols.p_value,
                ols.n,
            )
        )
        ok = ~np.isnan(table[col])
        r = np.corrcoef(xv[ok], table[col][ok])[0, 1]
        rows.append(_row("missing_bounds", f"pearson r of {col} share with {x}", r, n=ok.sum()))
    dx = xv - xv.mean()
    sxx = float(dx @ dx)
    up = np.where(dx > 0, table["upper"], table["lower"])
    down = np.where(dx > 0, table["lower"], table["upper"])
    bounds = (float(dx @ down / sxx), float(dx @ up / sxx))
    vertex = pd.DataFrame({"site": sites, "_x": xv, "down": down, "up": up})
    ci = (site_ols(vertex, "down", "_x").ci_low, site_ols(vertex, "up", "_x").ci_high)
    return BoundsResult(association=tidy(rows), slope_bounds=bounds, table=table,
                        slope_bounds_ci=(float(ci[0]), float(ci[1])))
