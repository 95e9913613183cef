"""Participant-weighted odds ratios that allow for between-site variation: beta-binomial
regression and logistic regression with a random site intercept, both by maximum likelihood.

Both models have logit P(engaged) = a + b·x as the (conditional or mean) model and report
the odds ratio exp(b·per) with a Wald z interval (b ± z·SE from the numerical Hessian of the
log-likelihood at the optimum, statsmodels ``GenericLikelihoodModel``) or, on request, a
profile-likelihood interval (less reliant on a quadratic log-likelihood with few sites).
Neither switches method with the data, so either can be one column of a leave-one-out
table.

* Beta-binomial: k_i ~ BetaBin(n_i, μ_i s, (1 − μ_i) s) with logit μ_i = a + b x_i and
  s = 1/φ (intra-site correlation ρ = 1/(1 + s) = φ/(1 + φ)); the log-pmf is
  ``scipy.stats.betabinom.logpmf``. The odds ratio is population-averaged.
* Random intercept: k_i | u_i ~ Bin(n_i, expit(a + b x_i + τ u_i)), u_i ~ N(0, 1); the
  site's marginal likelihood is integrated by adaptive Gauss–Hermite quadrature (Liu &
  Pierce 1994, Biometrika 81:624, eq. 2: nodes centred at the mode û_i of the integrand and
  scaled by its curvature σ̂_i, L_i ≈ √2 σ̂_i Σ_j w_j exp(t_j²) g(û_i + √2 σ̂_i t_j), with
  ``numpy.polynomial.hermite.hermgauss`` nodes t_j and weights w_j). The odds ratio is
  site-specific (conditional on u), so it is further from 1 than the beta-binomial one
  when τ > 0.

Fragility: with 7 sites the between-site parameters (φ, τ) are estimated from 7 numbers;
their ML estimates are often at or near 0 (then the odds ratio is close to the binomial
GLM's and the Wald interval is too narrow), and the Hessian-based SE of log τ or log φ is
then meaningless. ``extra["converged"]`` and the variance parameter are reported so that a
reader can see this.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from ._result import Estimate

__all__ = ["beta_binomial_regression", "random_intercept_logistic", "agh_loglik"]


def _site_arrays(df: pd.DataFrame, successes: str, trials: str, x: str):
    d = df.dropna(subset=[successes, trials, x])
    d = d[d[trials].astype(float) > 0]
    k, m, xv = (d[c].to_numpy(float) for c in (successes, trials, x))
    if k.size < 3:
        raise ValueError("need at least 3 sites with trials > 0")
    return k, m, np.column_stack([np.ones(k.size), xv])


def _glm_start(k, m, exog) -> np.ndarray:
    import statsmodels.api as sm

    fit = sm.GLM(np.column_stack([k, m - k]), exog, family=sm.families.Binomial()).fit()
    return np.asarray(fit.params, float)


def _profile(model, params, level, j=1):
    """Profile-likelihood interval for params[j] and the likelihood-ratio p-value of
    params[j] = 0: ℓ_p(β) = max over the other parameters (scipy Nelder–Mead from the MLE),
    interval {β : 2(ℓ_max − ℓ_p(β)) <= χ²_1(level)} with endpoints by ``scipy.optimize.brentq``
    after stepping outwards (Pawitan 2001, In All Likelihood, sec. 3.4)."""
    from scipy import optimize

    params = np.asarray(params, float)
    free = np.arange(params.size) != j
    ll_max = float(model.loglike(params))
    crit = stats.chi2.ppf(level, 1) / 2

    def ll_prof(bj):
        def nll(theta):
            p = params.copy()
            p[free], p[j] = theta, bj
            return -float(model.loglike(p))

        r = optimize.minimize(
            nll, params[free], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11}
        )
        return -float(r.fun)

    def g(bj):
        return ll_max - ll_prof(bj) - crit

    ends = []
    for direction in (-1, 1):
        inside, step = params[j], 0.1 * max(abs(params[j]), 0.1)
        for _ in range(40):
            out = params[j] + direction * step
            if g(out) > 0:
                break
            inside, step = out, step * 2
        else:
            ends.append(direction * np.inf)
            continue
        ends.append(optimize.brentq(g, inside, out, xtol=1e-8))
    lr = max(0.0, 2 * (ll_max - ll_prof(0.0)))
    return ends[0], ends[1], float(stats.chi2.sf(lr, 1))


def _fit_wrap(
    data, make_model, x, extra_start, method, per, level, extra_name, extra_fn, interval="wald"
):
    """Fit ``make_model(k, m, exog)`` from the binomial GLM and ``extra_start``: Nelder–Mead
    then BFGS (statsmodels ``GenericLikelihoodModel.fit``); Wald z (or profile-likelihood)
    interval for the slope (params[1]) on the odds-ratio scale."""
    if interval not in ("wald", "profile"):
        raise ValueError("interval must be 'wald' or 'profile'")
    import warnings

    k, m, exog = data
    model = make_model(k, m, exog)
    start = np.append(_glm_start(k, m, exog), extra_start)
    unit = "unit" if per == 1 else f"{per:g} units"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r0 = model.fit(start_params=start, method="nm", maxiter=5000, disp=0)
        res = model.fit(start_params=r0.params, method="bfgs", maxiter=1000, disp=0)
    params = np.asarray(res.params, float)
    b = params[1]
    se = float(np.asarray(res.bse)[1])
    if interval == "wald":
        q = stats.norm.ppf(0.5 + level / 2)
        lo, hi = b - q * se, b + q * se
        p = 2 * stats.norm.sf(abs(b / se)) if se > 0 else np.nan
    else:
        lo, hi, p = _profile(model, params, level)
        method = method.replace("Wald z", "profile-likelihood interval, LR p")
    return Estimate(
        quantity=f"odds ratio per {unit} {x}",
        estimate=float(np.exp(b * per)),
        ci_low=float(np.exp(lo * per)),
        ci_high=float(np.exp(hi * per)),
        p_value=float(p),
        n=int(k.size),
        method=method,
        extra={
            "log_or": float(b),
            "se": se,
            "intercept": float(params[0]),
            extra_name: extra_fn(params[-1]),
            "loglik": float(res.llf),
            "converged": bool(res.mle_retvals.get("converged", False)),
            "params": params,
        },
    )


def _bb_model(k, m, exog):
    from statsmodels.base.model import GenericLikelihoodModel

    class BetaBinomialLogit(GenericLikelihoodModel):
        def loglikeobs(self, params):
            mu = special.expit(self.exog @ params[:-1])
            s = np.exp(-params[-1])
            return stats.betabinom.logpmf(self.endog, m, mu * s, (1 - mu) * s)

    return BetaBinomialLogit(k, exog, extra_params_names=["log_phi"])


def beta_binomial_regression(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    per: float = 1.0,
    log_phi_start: float = np.log(0.05),
    interval: str = "wald",
) -> Estimate:
    """Beta-binomial regression (logit mean) of ``successes`` of ``trials`` on ``x`` by ML.

    Likelihood: Σ_i log BetaBin(k_i; n_i, μ_i/φ, (1 − μ_i)/φ) with logit μ_i = a + b x_i
    (``scipy.stats.betabinom.logpmf``), maximised over (a, b, log φ) with statsmodels
    ``GenericLikelihoodModel`` (Nelder–Mead, then BFGS), starting at the binomial GLM.
    Returns the odds ratio exp(b·per) with a **Wald** z interval (SE from the numerical
    Hessian) and Wald p, or with ``interval="profile"`` the profile-likelihood interval and
    likelihood-ratio p (:func:`_profile`); ``extra`` holds ``rho`` = φ/(1 + φ) (intra-site
    correlation), ``loglik``, ``log_or``, ``se``, ``intercept``, ``converged`` and ``params``.
    """
    return _fit_wrap(
        _site_arrays(df, successes, trials, x),
        _bb_model,
        x,
        log_phi_start,
        "beta-binomial ML (logit mean), Wald z",
        per,
        level,
        "rho",
        lambda lp: float(np.exp(lp) / (1 + np.exp(lp))),
        interval,
    )


def agh_loglik(k, m, eta, tau: float, n_nodes: int = 20) -> np.ndarray:
    """Per-site log marginal likelihood log ∫ Bin(k_i; m_i, expit(η_i + τu)) φ(u) du by
    adaptive Gauss–Hermite quadrature (Liu & Pierce 1994, eq. 2; module docstring).

    The mode û_i of the log-integrand h_i(u) = log Bin(k_i; m_i, expit(η_i + τu)) − u²/2 −
    log √(2π) is found by Newton's method (h_i is strictly concave), and
    σ̂_i = (−h_i''(û_i))^(−1/2). τ = 0 gives the binomial log-likelihood exactly.
    """
    k, m, eta = (np.asarray(v, float) for v in (k, m, eta))
    t, w = np.polynomial.hermite.hermgauss(n_nodes)
    log_choose = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)

    def h(u):  # u broadcast against (sites, ...) arrays
        lin = eta[:, None] + tau * u
        ll = k[:, None] * special.log_expit(lin) + (m - k)[:, None] * special.log_expit(-lin)
        return log_choose[:, None] + ll - u * u / 2 - 0.5 * np.log(2 * np.pi)

    u = np.zeros(k.size)
    for _ in range(50):
        p = special.expit(eta + tau * u)
        grad = tau * (k - m * p) - u
        hess = -(tau * tau) * m * p * (1 - p) - 1.0
        step = grad / hess
        u = u - step
        if np.all(np.abs(step) < 1e-12):
            break
    p = special.expit(eta + tau * u)
    sigma = 1.0 / np.sqrt(tau * tau * m * p * (1 - p) + 1.0)
    z = u[:, None] + np.sqrt(2.0) * sigma[:, None] * t[None, :]
    terms = np.log(w)[None, :] + t[None, :] ** 2 + h(z)
    return np.log(np.sqrt(2.0) * sigma) + special.logsumexp(terms, axis=1)


def _ri_model(k, m, exog, n_nodes):
    from statsmodels.base.model import GenericLikelihoodModel

    class RandomInterceptLogit(GenericLikelihoodModel):
        def loglikeobs(self, params):
            eta = self.exog @ params[:-1]
            return agh_loglik(self.endog, m, eta, float(np.exp(params[-1])), n_nodes)

    return RandomInterceptLogit(k, exog, extra_params_names=["log_tau"])


def random_intercept_logistic(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    per: float = 1.0,
    n_nodes: int = 20,
    log_tau_start: float = np.log(0.3),
    interval: str = "wald",
) -> Estimate:
    """Logistic regression with a normal random intercept per site, ML by adaptive
    Gauss–Hermite quadrature (:func:`agh_loglik`, ``n_nodes`` nodes per site).

    Parameters (a, b, log τ) are fitted with statsmodels ``GenericLikelihoodModel``
    (Nelder–Mead, then BFGS) from the binomial GLM and τ = 0.3. Returns the conditional
    (site-specific) odds ratio exp(b·per) with a **Wald** z interval and p (or, with
    ``interval="profile"``, the profile-likelihood interval and likelihood-ratio p); ``extra`` holds
    ``tau`` (SD of the site intercepts on the logit scale), ``loglik``, ``log_or``, ``se``,
    ``intercept``, ``converged`` and ``params``.
    """
    return _fit_wrap(
        _site_arrays(df, successes, trials, x),
        lambda k, m, exog: _ri_model(k, m, exog, n_nodes),
        x,
        log_tau_start,
        f"random-intercept logistic ML ({n_nodes}-node adaptive Gauss-Hermite), Wald z",
        per,
        level,
        "tau",
        lambda lt: float(np.exp(lt)),
        interval,
    )
