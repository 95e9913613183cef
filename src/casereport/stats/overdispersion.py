"""Participant-weighted odds ratios that allow for between-site variation: beta-binomial
regression and logistic regression with a random site intercept, both by maximum likelihood.

Both models have logit P(engaged) = a + b·x as the (conditional or mean) model and report
the odds ratio exp(b·per) with a Wald z interval (b ± z·SE from the Hessian of the
log-likelihood at the optimum) or, on request, a profile-likelihood interval
(:mod:`casereport.stats.mle`; less reliant on a quadratic log-likelihood with few
sites). Neither switches method with the data, so either can be one column of a
leave-one-out table.

* Beta-binomial: k_i ~ BetaBin(n_i, μ_i s, (1 − μ_i) s) with logit μ_i = a + b x_i and
  s = 1/φ (intra-site correlation ρ = 1/(1 + s) = φ/(1 + φ)); log-pmf
  log C(n,k) + log B(k + α, n − k + β) − log B(α, β) (Johnson, Kemp & Kotz 2005, Univariate
  Discrete Distributions, eq. 6.29), computed in its product form (:class:`_BetaBinomial`).
  The odds ratio is population-averaged.
* Random intercept: k_i | u_i ~ Bin(n_i, expit(a + b x_i + τ u_i)), u_i ~ N(0, 1); the
  site's marginal likelihood is integrated by adaptive Gauss–Hermite quadrature (Liu &
  Pierce 1994, Biometrika 81:624, eq. 2: nodes centred at the mode û_i of the integrand and
  scaled by its curvature σ̂_i, L_i ≈ √2 σ̂_i Σ_j w_j exp(t_j²) g(û_i + √2 σ̂_i t_j), with
  ``numpy.polynomial.hermite.hermgauss`` nodes t_j and weights w_j, computed once per
  order). The odds ratio is site-specific (conditional on u), so it is further from 1 than
  the beta-binomial one when τ > 0.

Fitting: Newton's method on the analytic gradient (:func:`casereport.stats.mle.maximise`),
from the binomial GLM, with the log variance parameter (log φ or log τ) bounded to [−16, 6]: φ
or τ below e^−16 (10⁻⁷) is no overdispersion, and the bound keeps the optimiser off an infinite
flat ridge. The gradients: for the beta-binomial, ∂ℓ/∂μ = Σ_{j<k} 1/(μ + jφ) − Σ_{j<n−k} 1/(1 −
μ + jφ) and ∂ℓ/∂φ = Σ_{j<k} j/(μ + jφ) + Σ_{j<n−k} j/(1 − μ + jφ) − Σ_{j<n} j/(1 + jφ), chained
through μ = expit(η) and φ = exp(log φ); for the random intercept, Fisher's (Louis's) identity:
the score of the marginal likelihood is the posterior mean of the complete-data score, ∂ log
L_i/∂θ = E[∂ log g_i(u; θ)/∂θ | k_i] (Louis 1982, J R Stat Soc B 44:226, eq. 3.1), evaluated
with the same quadrature nodes.
The Hessian for the Wald SE is the central difference of the analytic gradient over the
parameters not at a bound (:func:`casereport.stats.mle.wald_se`: at the bound, the variance
parameter is held there, and the SE is that of the model without extra variation).

No well-kept maximum-likelihood implementation of either model is in the lock: statsmodels
has no beta-binomial regression, and its ``BinomialBayesMixedGLM`` fits a random-intercept
logistic model by variational Bayes (a posterior approximation, not the ML fit, and no
profile likelihood), so both are written here and tested against independent oracles.

Fragility: with 7 sites the between-site parameters (φ, τ) are estimated from 7 numbers;
their ML estimates are often at or near 0 (then the odds ratio is close to the binomial
GLM's and the Wald interval is too narrow), and the SE of log τ or log φ is then
meaningless. ``extra["converged"]`` and the variance parameter are reported so that a
reader can see this.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from scipy import special, stats

from ._result import Estimate
from .mle import maximise, profile_interval, wald_se

__all__ = ["beta_binomial_regression", "random_intercept_logistic", "agh_loglik"]

#: Bounds of the log variance parameter (log φ, log τ) in every fit.
LOG_VARIANCE_BOUNDS = (-16.0, 6.0)


def _site_arrays(df: pd.DataFrame, successes: str, trials: str, x: str):
    d = df.dropna(subset=[successes, trials, x])
    d = d[d[trials].astype(float) > 0]
    k, m, xv = (d[c].to_numpy(float) for c in (successes, trials, x))
    if k.size < 3:
        raise ValueError("need at least 3 sites with trials > 0")
    return k, m, np.column_stack([np.ones(k.size), xv])


def _glm_start(k, m, exog) -> np.ndarray:
    # the classes alone: statsmodels.api imports all of statsmodels (time series,
    # graphics; about 0.15 s more in every kernel and in the template)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    fit = GLM(np.column_stack([k, m - k]), exog, family=families.Binomial()).fit()
    return np.asarray(fit.params, float)


def _log_choose(k, m):
    return special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)


# --- beta-binomial -----------------------------------------------------------------------


class _BetaBinomial:
    """Log-likelihood and its gradient in (a, b, log φ), in the product form of the
    beta-binomial pmf (Griffiths 1973, Biometrics 29:637, eq. 2):
    log C(n,k) + Σ_{j<k} log(μ + jφ) + Σ_{j<n−k} log(1 − μ + jφ) − Σ_{j<n} log(1 + jφ),
    equal to the log-beta form of the module docstring for integer counts, but free of
    its cancellation when φ is small (it is the binomial log-pmf at φ = 0)."""

    def __init__(self, k, m, exog):
        self.exog = exog
        self.const = _log_choose(k, m)
        self.n_sites = k.size
        # one entry per j of each of the three sums, with the site it belongs to
        ki, fi, mi = (np.asarray(v, int) for v in (k, m - k, m))
        self.site_k, self.j_k = _ragged(ki)
        self.site_f, self.j_f = _ragged(fi)
        self.site_m, self.j_m = _ragged(mi)

    def _sum(self, site, w):
        return np.bincount(site, weights=w, minlength=self.n_sites)

    def loglike_and_grad(self, params):
        mu = special.expit(self.exog @ params[:-1])
        phi = np.exp(params[-1])
        dk = mu[self.site_k] + self.j_k * phi
        df = (1 - mu)[self.site_f] + self.j_f * phi
        dm = 1 + self.j_m * phi
        ll = (
            self.const
            + self._sum(self.site_k, np.log(dk))
            + self._sum(self.site_f, np.log(df))
            - self._sum(self.site_m, np.log(dm))
        )
        d_mu = self._sum(self.site_k, 1 / dk) - self._sum(self.site_f, 1 / df)
        d_phi = (
            self._sum(self.site_k, self.j_k / dk)
            + self._sum(self.site_f, self.j_f / df)
            - self._sum(self.site_m, self.j_m / dm)
        )
        grad = np.append(self.exog.T @ (mu * (1 - mu) * d_mu), phi * d_phi.sum())
        return float(ll.sum()), grad


def _ragged(counts):
    """(site index, j) for j = 0 .. counts[i] − 1 of every site i, concatenated."""
    site = np.repeat(np.arange(counts.size), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    return site, (np.arange(site.size) - start).astype(float)


# --- random intercept --------------------------------------------------------------------


@cache
def _nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes t_j and log(w_j) + t_j² (computed once per order, read-only)."""
    t, w = np.polynomial.hermite.hermgauss(n_nodes)
    lw = np.log(w) + t * t
    t.flags.writeable = lw.flags.writeable = False
    return t, lw


def _agh(k, m, eta, tau: float, n_nodes: int, const=None):
    """Per-site log marginal likelihood by adaptive Gauss–Hermite quadrature, and its
    derivatives in η_i and τ as posterior means of the complete-data score (module
    docstring). Returns (loglik per site, ∂/∂η_i, ∂/∂τ per site)."""
    t, lw = _nodes(n_nodes)
    if const is None:
        const = _log_choose(k, m)
    # The mode û_i: Newton's method on h_i'(u) = τ(k_i − m_i p) − u, which is strictly
    # decreasing, safeguarded by bisection (Press et al. 2007, Numerical Recipes, sec. 9.4,
    # rtsafe): since 0 <= p <= 1 the root lies in [τ(k_i − m_i), τ k_i], and a Newton step
    # leaving the current bracket is replaced by its midpoint. Unsafeguarded, the steps
    # can overshoot where p is near 0 or 1 (a site with no one or everyone engaged and a
    # large τ) and never return.
    u = np.zeros(k.size)
    lo, hi = tau * (k - m) - 1e-12, tau * k + 1e-12
    for _ in range(200):
        p = special.expit(eta + tau * u)
        slope = tau * (k - m * p) - u
        lo, hi = np.where(slope > 0, u, lo), np.where(slope > 0, hi, u)
        new = u - slope / (-(tau * tau) * m * p * (1 - p) - 1.0)
        new = np.where((new > lo) & (new < hi), new, (lo + hi) / 2)
        step, u = new - u, new
        if np.all(np.abs(step) < 1e-12):
            break
    p = special.expit(eta + tau * u)
    sigma = 1.0 / np.sqrt(tau * tau * m * p * (1 - p) + 1.0)
    z = u[:, None] + np.sqrt(2.0) * sigma[:, None] * t[None, :]
    lin = eta[:, None] + tau * z
    h = k[:, None] * special.log_expit(lin) + (m - k)[:, None] * special.log_expit(-lin)
    terms = lw[None, :] + h - z * z / 2
    top = terms.max(axis=1, keepdims=True)
    e = np.exp(terms - top)
    tot = e.sum(axis=1)
    ll = const - 0.5 * np.log(2 * np.pi) + np.log(np.sqrt(2.0) * sigma) + top[:, 0] + np.log(tot)
    post = e / tot[:, None]  # posterior weights of the nodes
    score = k[:, None] - m[:, None] * special.expit(lin)  # ∂ log g/∂η at each node
    d_eta = (post * score).sum(axis=1)
    d_tau = (post * score * z).sum(axis=1)
    return ll, d_eta, d_tau


def agh_loglik(k, m, eta, tau: float, n_nodes: int = 20) -> np.ndarray:
    """Per-site log marginal likelihood log ∫ Bin(k_i; m_i, expit(η_i + τu)) φ(u) du by
    adaptive Gauss–Hermite quadrature (Liu & Pierce 1994, eq. 2; module docstring).

    The mode û_i of the log-integrand h_i(u) = log Bin(k_i; m_i, expit(η_i + τu)) − u²/2 −
    log √(2π) is found by Newton's method (h_i is strictly concave), and
    σ̂_i = (−h_i''(û_i))^(−1/2). τ = 0 gives the binomial log-likelihood exactly.
    """
    k, m, eta = (np.asarray(v, float) for v in (k, m, eta))
    return _agh(k, m, eta, float(tau), n_nodes)[0]


class _RandomIntercept:
    """Log-likelihood and its gradient in (a, b, log τ) (module docstring)."""

    def __init__(self, k, m, exog, n_nodes):
        self.k, self.m, self.exog, self.n_nodes = k, m, exog, n_nodes
        self.const = _log_choose(k, m)

    def loglike_and_grad(self, params):
        tau = float(np.exp(params[-1]))
        eta = self.exog @ params[:-1]
        ll, d_eta, d_tau = _agh(self.k, self.m, eta, tau, self.n_nodes, self.const)
        return float(ll.sum()), np.append(self.exog.T @ d_eta, tau * d_tau.sum())


# --- fitting -------------------------------------------------------------------------------


def _refit(model, start, bj):
    """The fit with the slope fixed at ``bj``, from ``start`` with its variance parameter
    raised to at least −4: in log φ or log τ, no extra variation is a flat region where a
    fit started there stays, even when the optimum with this slope is well inside (as it
    is far from the MLE's slope); from −4 the fit finds either
    (:func:`casereport.stats.mle.maximise`)."""
    start = np.append(start[:-1], max(start[-1], -4.0))
    return maximise(model, start, LOG_VARIANCE_BOUNDS, {1: bj})[:2]


def _fit_wrap(
    data, make_model, x, extra_start, method, per, level, extra_name, extra_fn, interval="wald"
):
    """Fit ``make_model(k, m, exog)`` from the binomial GLM and ``extra_start``
    (:func:`casereport.stats.mle.maximise`); Wald z (or profile-likelihood) interval for the
    slope (params[1]) on the odds-ratio scale."""
    if interval not in ("wald", "profile"):
        raise ValueError("interval must be 'wald' or 'profile'")
    k, m, exog = data
    # fit on x − mean(x) (a better-conditioned problem: the intercept is then nearly
    # orthogonal to the slope), report the intercept at x = 0
    centre = exog[:, 1].mean()
    model = make_model(k, m, np.column_stack([exog[:, 0], exog[:, 1] - centre]))
    start = np.append(_glm_start(k, m, exog), extra_start)
    start[0] += start[1] * centre
    unit = "unit" if per == 1 else f"{per:g} units"
    params, llf, converged = maximise(model, start, LOG_VARIANCE_BOUNDS)
    b = params[1]
    se = wald_se(model, params, LOG_VARIANCE_BOUNDS)
    if interval == "wald":
        q = stats.norm.ppf(0.5 + level / 2)
        lo, hi = b - q * se, b + q * se
        p = 2 * stats.norm.sf(abs(b / se)) if se > 0 else np.nan
    else:
        lo, hi, p = profile_interval(
            lambda bj, start: _refit(model, start, bj), params, llf, level, se
        )
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
            "intercept": float(params[0] - b * centre),
            extra_name: extra_fn(params[-1]),
            "loglik": llf,
            "converged": converged,
            "params": params - np.array([b * centre, 0.0, 0.0]),
        },
    )


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

    Likelihood: Σ_i log BetaBin(k_i; n_i, μ_i/φ, (1 − μ_i)/φ) with logit μ_i = a + b x_i,
    maximised over (a, b, log φ) by Newton's method on the analytic gradient (module docstring),
    starting at the binomial GLM. Returns the odds ratio exp(b·per) with a **Wald** z
    interval (SE from the Hessian) and Wald p, or with ``interval="profile"`` the
    profile-likelihood interval and likelihood-ratio p
    (:func:`casereport.stats.mle.profile_interval`); ``extra`` holds ``rho`` =
    φ/(1 + φ) (intra-site correlation), ``loglik``, ``log_or``, ``se``, ``intercept``,
    ``converged`` and ``params``.
    """
    return _fit_wrap(
        _site_arrays(df, successes, trials, x),
        _BetaBinomial,
        x,
        log_phi_start,
        "beta-binomial ML (logit mean), Wald z",
        per,
        level,
        "rho",
        lambda lp: float(np.exp(lp) / (1 + np.exp(lp))),
        interval,
    )


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

    Parameters (a, b, log τ) are fitted by Newton's method on the analytic gradient (module
    docstring) from the binomial GLM and τ = 0.3. Returns the conditional (site-specific)
    odds ratio exp(b·per) with a **Wald** z interval and p (or, with
    ``interval="profile"``, the profile-likelihood interval and likelihood-ratio p);
    ``extra`` holds ``tau`` (SD of the site intercepts on the logit scale), ``loglik``,
    ``log_or``, ``se``, ``intercept``, ``converged`` and ``params``.
    """
    return _fit_wrap(
        _site_arrays(df, successes, trials, x),
        lambda k, m, exog: _RandomIntercept(k, m, exog, n_nodes),
        x,
        log_tau_start,
        f"random-intercept logistic ML ({n_nodes}-node adaptive Gauss-Hermite), Wald z",
        per,
        level,
        "tau",
        lambda lt: float(np.exp(lt)),
        interval,
    )
