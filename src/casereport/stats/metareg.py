"""Random-effects meta-regression of site effect sizes on one moderator: REML τ² and the
Hartung–Knapp–Sidik–Jonkman (HKSJ) interval; plus site log-odds with their variances.

Model (Raudenbush 2009, in Cooper, Hedges & Valentine eds., The Handbook of Research
Synthesis and Meta-Analysis, 2nd ed., ch. 16; Viechtbauer 2005, J Educ Behav Stat 30:261):

    y_i = β0 + β1 x_i + u_i + e_i,   u_i ~ N(0, τ²),   e_i ~ N(0, v_i) with v_i known.

With W = diag(1/(v_i + τ²)) and P = W − W X (X'WX)⁻¹ X'W:

* REML τ² maximises l_R(τ²) = −½ [Σ log(v_i + τ²) + log|X'WX| + y'Py]; it is found by
  Fisher scoring τ² ← τ² + (y'PPy − tr P) / tr(PP) (the REML score y'PPy − tr P over
  its expected information tr(PP); Viechtbauer 2005, REML section), truncated at 0 (the
  usual convention; metafor does the same).
* β = (X'WX)⁻¹ X'Wy at the REML τ².
* HKSJ (Hartung & Knapp 2001, Stat Med 20:3875; Sidik & Jonkman 2002, Stat Med 21:3153):
  Var(β) = q (X'WX)⁻¹ with q = y'Py / (k − p) (the weighted residual mean square), and t
  intervals and p-values on k − p df (k sites, p = 2 coefficients). By default q is
  floored at 1 (the modified HKSJ of Knapp & Hartung 2003, Stat Med 22:2693; Röver, Knapp
  & Friede 2015, BMC Med Res Methodol 15:99), so the interval is never narrower than the
  Wald interval on the same weights: the same rule as the quasi-binomial GLM, whose scale
  is floored at one (:func:`casereport.stats.glm.binomial_glm`).

Site log-odds (:func:`site_log_odds`): y_i = log((k_i + c)/(n_i − k_i + c)), v_i = 1/(k_i + c)
+ 1/(n_i − k_i + c) with c = ½ only for sites with k_i = 0 or k_i = n_i, otherwise c = 0
(Gart & Zweifel 1967, Biometrika 54:181; the default ``add=1/2, to="only0"`` of metafor's
``escalc``). The method never changes with the data, so it can be one column of a
leave-one-out table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._result import Estimate
from ._util import as_float
from .overdispersion import _site_arrays

__all__ = ["site_log_odds", "meta_regression", "reml_loglik", "log_odds_meta_regression"]


def site_log_odds(successes, trials, add: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds and their variances per site, adding ``add`` to both cells only where
    k = 0 or k = n (module docstring). Returns (y, v)."""
    k, n = as_float(successes), as_float(trials)
    c = np.where((k == 0) | (k == n), add, 0.0)
    a, b = k + c, n - k + c
    return np.log(a / b), 1 / a + 1 / b


def _design(x) -> np.ndarray:
    x = as_float(x)
    return np.column_stack([np.ones(x.size), x])


class _Weighted:
    """The REML pieces at one τ², in O(k) (never the k × k matrix P): with W = diag(w),
    w = 1/(v + τ²), M = (X'WX)⁻¹, A = M X'W²X and B = M X'W³X,
    Py = Wy − WX M X'Wy, tr P = Σw − tr A and tr PP = Σw² − 2 tr B + tr(AA)
    (P = W − WXMX'W expanded; tr(XY) = tr(YX))."""

    def __init__(self, y, v, X, tau2):
        w = 1 / (v + tau2)
        xtw = X.T * w
        self.xtwx = xtw @ X
        self.inv = np.linalg.inv(self.xtwx)
        self.beta = self.inv @ (xtw @ y)
        self.Py = w * y - w * (X @ self.beta)
        self.yPy = float(y @ self.Py)
        self.w, self.X = w, X

    def traces(self) -> tuple[float, float]:
        w, X, inv = self.w, self.X, self.inv
        A = inv @ ((X.T * w**2) @ X)
        B = inv @ ((X.T * w**3) @ X)
        return float(w.sum() - np.trace(A)), float((w**2).sum() - 2 * np.trace(B) + np.trace(A @ A))


def reml_loglik(y, v, x, tau2: float) -> float:
    """Restricted log-likelihood l_R(τ²) of the module docstring (constants dropped)."""
    y, v, X = as_float(y), as_float(v), _design(x)
    f = _Weighted(y, v, X, tau2)
    return float(-0.5 * (np.log(v + tau2).sum() + np.linalg.slogdet(f.xtwx)[1] + f.yPy))


def _reml_tau2(y, v, X, tol=1e-12, max_iter=500) -> tuple[float, bool]:
    k = y.size
    # start at the DerSimonian–Laird-like moment value max(0, var(y) − mean(v))
    tau2 = max(0.0, float(np.var(y, ddof=X.shape[1]) * k / (k - 1) - v.mean()) if k > 2 else 0.0)
    for _ in range(max_iter):
        f = _Weighted(y, v, X, tau2)
        tr_p, tr_pp = f.traces()
        step = (f.Py @ f.Py - tr_p) / tr_pp
        new = max(0.0, tau2 + step)
        if abs(new - tau2) < tol * max(1.0, tau2):
            return new, True
        tau2 = new
    return tau2, False


def meta_regression(
    y, v, x, level: float = 0.95, tau2: float | None = None, modified: bool = True
) -> Estimate:
    """Random-effects meta-regression of effect sizes ``y`` (sampling variances ``v``) on
    moderator ``x``: REML τ² (or the given ``tau2``), HKSJ t interval for the slope on
    k − 2 df (module docstring). NaN entries are dropped; needs at least 3 sites.

    Returns the slope β1 (on the scale of y) with interval and p; ``extra`` holds ``tau2``,
    ``intercept``, ``se`` (HKSJ), ``q`` (HKSJ scale factor used: floored at one when
    ``modified``, the default), ``q_raw`` (unfloored), ``df``, ``converged``.
    """
    y, v, x = as_float(y), as_float(v), as_float(x)
    keep = ~(np.isnan(y) | np.isnan(v) | np.isnan(x))
    y, v, x = y[keep], v[keep], x[keep]
    k = y.size
    if k < 3:
        raise ValueError("meta-regression needs at least 3 sites")
    X = _design(x)
    converged = True
    if tau2 is None:
        tau2, converged = _reml_tau2(y, v, X)
    f = _Weighted(y, v, X, tau2)
    beta, inv = f.beta, f.inv
    df = k - X.shape[1]
    q_raw = f.yPy / df
    # modified HKSJ (Knapp & Hartung 2003; Röver, Knapp & Friede 2015, BMC Med Res Methodol
    # 15:99): the scale factor is floored at one, so the interval is never narrower than
    # the fixed-τ² Wald interval on the same weights.
    q = max(q_raw, 1.0) if modified else q_raw
    se = float(np.sqrt(q * inv[1, 1]))
    tq = stats.t.ppf(0.5 + level / 2, df)
    p = 2 * stats.t.sf(abs(beta[1] / se), df) if se > 0 else np.nan
    return Estimate(
        quantity="slope",
        estimate=float(beta[1]),
        ci_low=float(beta[1] - tq * se),
        ci_high=float(beta[1] + tq * se),
        p_value=float(p),
        n=k,
        method="random-effects meta-regression, REML tau2, "
        + ("modified HKSJ t interval" if modified else "HKSJ t interval"),
        extra={
            "tau2": float(tau2),
            "intercept": float(beta[0]),
            "se": se,
            "q": q,
            "q_raw": q_raw,
            "df": df,
            "converged": converged,
        },
    )


def log_odds_meta_regression(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    per: float = 1.0,
    add: float = 0.5,
) -> Estimate:
    """:func:`meta_regression` of the site log-odds (:func:`site_log_odds`) on column ``x``,
    reported as the odds ratio exp(β1·per) with the HKSJ interval and t p-value. Sites with
    no trials or missing values are dropped. ``extra`` as in :func:`meta_regression` plus
    ``log_or``."""
    k, m, exog = _site_arrays(df, successes, trials, x)
    y, v = site_log_odds(k, m, add=add)
    res = meta_regression(y, v, exog[:, 1], level=level)
    unit = "unit" if per == 1 else f"{per:g} units"
    return Estimate(
        quantity=f"odds ratio per {unit} {x}",
        estimate=float(np.exp(res.estimate * per)),
        ci_low=float(np.exp(res.ci_low * per)),
        ci_high=float(np.exp(res.ci_high * per)),
        p_value=res.p_value,
        n=res.n,
        method=res.method + " (site log-odds)",
        extra={**res.extra, "log_or": res.estimate},
    )
