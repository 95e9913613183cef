"""Site-level count models: the binomial GLM of engagement (participants within sites,
quasi-binomial when overdispersed) and rate models of mentoring minutes with months in
study as exposure (quasi-Poisson or negative binomial)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .models import _complete, _max_cooks_row, _row, tidy

# --------------------------------------------------------------------------------------
# Binomial GLM (statsmodels)


@dataclass
class GLMResult:
    """Binomial GLM logit(p) = a + b·x on site counts.

    ``estimate/ci_low/ci_high/p_value`` are the odds ratio per ``per`` units of x,
    exp(b·per), with its Wald interval (z when binomial; t on the residual df when the
    quasi-binomial scale is used, since the scale is then estimated from n − 2 df).
    ``dispersion`` is Pearson χ²/df; ``gof_p`` the χ² goodness-of-fit p-value
    (small = overdispersed); ``quasi`` says whether SEs were scaled by sqrt(dispersion).
    ``influence``: per site ``site, fitted_prop, pearson_resid, leverage`` (diagonal of the
    weighted hat matrix), ``cooks_d`` = r_i² h_i / (2 φ (1 − h_i)²) with r_i the Pearson
    residual and φ the scale used (1 for binomial).
    """

    successes: str
    trials: str
    x: str
    n: int
    per: float
    log_or: float
    se: float
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    intercept: float
    dispersion: float
    deviance_df: float
    gof_p: float
    quasi: bool
    df_resid: int
    level: float
    influence: pd.DataFrame = field(repr=False)

    @property
    def odds_ratio(self) -> float:
        return self.estimate

    def rows(self, analysis: str = "binomial_glm") -> list[dict]:
        """Tidy rows: odds ratio, Pearson dispersion (p_value = χ² GOF p), quasi flag."""
        unit = "unit" if self.per == 1 else f"{self.per:g} units"
        return [
            _row(
                analysis,
                f"odds ratio per {unit} {self.x}",
                self.estimate,
                self.ci_low,
                self.ci_high,
                self.p_value,
                self.n,
            ),
            _row(
                analysis,
                "dispersion (Pearson chi2/df)",
                self.dispersion,
                p_value=self.gof_p,
                n=self.n,
            ),
            _row(analysis, "quasi-binomial scale used", float(self.quasi), n=self.n),
            _max_cooks_row(analysis, self.influence, self.n),
        ]


def binomial_glm(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    dispersion_threshold: float = 1.0,
    per: float = 1.0,
    site_col: str = "site",
) -> GLMResult:
    """Binomial GLM (logit link) of ``successes`` of ``trials`` on ``x``; sites with 0 trials
    or missing values are dropped.

    Overdispersion: the Pearson dispersion φ = X²/(n − 2) is computed from the binomial fit.
    If φ > ``dispersion_threshold`` the fit is quasi-binomial: same coefficients, SEs ×
    sqrt(max(φ, 1)), t reference distribution on n − 2 df. The scale is floored at one: a
    Pearson φ below one (under-dispersion, or chance with few sites) never makes the
    interval narrower than the binomial one, so a quasi-binomial interval is always at
    least as wide as the binomial Wald interval (the same rule as the modified HKSJ
    interval of :func:`casereport.stats.metareg.meta_regression`). ``dispersion`` is
    still the unfloored φ. The default
    threshold 1 means "inflate whenever the data say variance exceeds binomial, never
    deflate": with 5 residual df a χ² test has little power, so waiting for significance
    would usually keep too-narrow binomial intervals. The χ² p-value is still reported.
    """
    # the classes alone: statsmodels.api imports all of statsmodels (time series,
    # graphics; about 0.15 s more in every kernel and in the template)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    d = _complete(df, [successes, trials, x])
    d = d[d[trials].astype(float) > 0]
    k = d[successes].to_numpy(float)
    m = d[trials].to_numpy(float)
    xv = d[x].to_numpy(float)
    n = k.size
    if n < 3:
        raise ValueError("binomial_glm needs at least 3 sites")
    exog = np.column_stack([np.ones(n), xv])
    endog = np.column_stack([k, m - k])
    model = GLM(endog, exog, family=families.Binomial())
    fit = model.fit()
    df_resid = int(fit.df_resid)
    x2 = float(fit.pearson_chi2)
    dispersion = x2 / df_resid if df_resid > 0 else np.nan
    gof_p = float(stats.chi2.sf(x2, df_resid)) if df_resid > 0 else np.nan
    quasi = bool(df_resid > 0 and dispersion > dispersion_threshold)
    b, a = float(fit.params[1]), float(fit.params[0])
    # Quasi-binomial SE = binomial SE × sqrt(φ), done by hand: statsmodels' scale="X2" with
    # a two-column (successes, failures) endog estimates the scale on the wrong scale.
    phi = max(float(dispersion), 1.0) if quasi else 1.0  # the quasi scale, floored at one
    se = float(fit.bse[1] * np.sqrt(phi))
    if quasi:
        q = stats.t.ppf(0.5 + level / 2, df_resid)
        p = 2 * stats.t.sf(abs(b / se), df_resid)
    else:
        q = stats.norm.ppf(0.5 + level / 2)
        p = 2 * stats.norm.sf(abs(b / se))
    # Influence by hand too (O(n)), so Cook's D uses the same φ as the interval.
    mu = np.asarray(fit.mu)
    w = m * mu * (1 - mu)  # IRLS weights for the logit link
    xtwx_inv = np.linalg.inv(exog.T @ (w[:, None] * exog))
    lev = w * np.einsum("ij,jk,ik->i", exog, xtwx_inv, exog)
    r_p = (k - m * mu) / np.sqrt(w)
    cooks = r_p**2 * lev / (exog.shape[1] * phi * (1 - lev) ** 2)
    sites = d[site_col].astype(str).to_numpy() if site_col in d else d.index.astype(str)
    influence = pd.DataFrame(
        {
            "site": sites,
            "fitted_prop": mu,
            "pearson_resid": r_p,
            "leverage": lev,
            "cooks_d": cooks,
        }
    )
    return GLMResult(
        successes=successes,
        trials=trials,
        x=x,
        n=n,
        per=per,
        log_or=b,
        se=se,
        estimate=float(np.exp(b * per)),
        ci_low=float(np.exp((b - q * se) * per)),
        ci_high=float(np.exp((b + q * se) * per)),
        p_value=float(p),
        intercept=a,
        dispersion=float(dispersion),
        deviance_df=float(fit.deviance / df_resid) if df_resid else np.nan,
        gof_p=gof_p,
        quasi=quasi,
        df_resid=df_resid,
        level=level,
        influence=influence,
    )


# --------------------------------------------------------------------------------------
# Rate model for mentoring minutes


@dataclass
class RateResult:
    """Rate ratio for one binary site factor: minutes per month with vs without the factor.

    ``estimate/ci_low/ci_high/p_value``: rate ratio exp(b) with Wald interval (t on n − 2 df
    for quasi-Poisson, z for negative binomial). ``dispersion``: Pearson χ²/df of the Poisson
    fit (quasi-Poisson) or the NB2 α (negative binomial). ``n_present/n_absent``: sites
    with/without the factor. All NaN when the factor does not vary.
    """

    count: str
    exposure: str
    factor: str
    family: str
    n: int
    n_present: int
    n_absent: int
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    dispersion: float
    level: float

    def rows(self, analysis: str = "rate_model") -> list[dict]:
        r = _row(
            analysis,
            f"rate ratio: {self.factor}",
            self.estimate,
            self.ci_low,
            self.ci_high,
            self.p_value,
            self.n,
        )
        r.update(
            family=self.family,
            n_present=self.n_present,
            n_absent=self.n_absent,
            dispersion=self.dispersion,
        )
        return [r]


def rate_model(
    df: pd.DataFrame,
    count: str,
    exposure: str,
    factor: str,
    level: float = 0.95,
    family: str = "quasipoisson",
) -> RateResult:
    """Rate model log E[count] = log(exposure) + a + b·factor, one 0/1 factor at a time.

    family="quasipoisson": Poisson GLM with offset log(exposure), SEs × sqrt(X²/df); the
    estimated scale absorbs both over-dispersion and the arbitrary unit of the count
    (minutes are not events), so the rate ratio and its interval do not depend on whether
    time is counted in minutes or hours. Intervals use t on n − 2 df because the scale is
    estimated. family="negbin": NB2 by maximum likelihood (statsmodels ``NegativeBinomial``
    with the same offset), Wald z interval; its α is on the count scale, so prefer
    quasi-Poisson for minutes and use NB as a sensitivity analysis.

    One factor at a time because with 16 sites and 5 overlapping factors a joint model has
    too few sites per parameter; the rate ratios are unadjusted associations.
    """
    # the classes alone: statsmodels.api imports all of statsmodels (time series,
    # graphics; about 0.15 s more in every kernel and in the template)
    from statsmodels.discrete.discrete_model import NegativeBinomial
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    if family not in ("quasipoisson", "negbin"):
        raise ValueError("family must be 'quasipoisson' or 'negbin'")
    d = _complete(df, [count, exposure, factor])
    d = d[d[exposure].astype(float) > 0]
    y = d[count].to_numpy(float)
    t = d[exposure].to_numpy(float)
    f = d[factor].to_numpy(float)
    n = y.size
    n_present = int((f > 0).sum())
    head = (count, exposure, factor, family, n, n_present, n - n_present)
    nan = RateResult(*head, np.nan, np.nan, np.nan, np.nan, np.nan, level)
    if n < 3 or n_present in (0, n):
        return nan
    exog = np.column_stack([np.ones(n), f])
    offset = np.log(t)
    if family == "quasipoisson":
        model = GLM(y, exog, family=families.Poisson(), offset=offset)
        fit = model.fit()
        dfr = int(fit.df_resid)
        dispersion = float(fit.pearson_chi2 / dfr)
        # quasi-Poisson: Poisson SE × sqrt(Pearson X²/df), as in binomial_glm
        b, se = float(fit.params[1]), float(fit.bse[1]) * np.sqrt(dispersion)
        q = stats.t.ppf(0.5 + level / 2, dfr)
        p = 2 * stats.t.sf(abs(b / se), dfr)
    else:
        model = NegativeBinomial(y, exog, offset=offset, loglike_method="nb2")
        fit = model.fit(disp=0, maxiter=200)
        dispersion = float(fit.params[-1])
        b, se = float(fit.params[1]), float(fit.bse[1])
        q = stats.norm.ppf(0.5 + level / 2)
        p = 2 * stats.norm.sf(abs(b / se))
    return RateResult(
        *head,
        float(np.exp(b)),
        float(np.exp(b - q * se)),
        float(np.exp(b + q * se)),
        float(p),
        dispersion,
        level,
    )


def rate_models(
    df: pd.DataFrame,
    count: str,
    exposure: str,
    factors: Sequence[str],
    level: float = 0.95,
    family: str = "quasipoisson",
    analysis: str = "rate_model",
) -> pd.DataFrame:
    """:func:`rate_model` for each factor in turn; tidy DataFrame, one row per factor."""
    rows = []
    for fac in factors:
        rows += rate_model(df, count, exposure, fac, level=level, family=family).rows(analysis)
    return tidy(rows)
