"""Beta-binomial and random-intercept logistic fits against hand-written likelihoods,
direct numerical integration, scipy.optimize and the binomial GLM limit."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from casereport.stats import (
    agh_loglik,
    beta_binomial_regression,
    binomial_glm,
    random_intercept_logistic,
)

# Gillard et al. (2024) Table 2, as in test_stats_models.py
ENRICH = pd.DataFrame(
    {
        "n": [89, 76, 34, 17, 20, 20, 9],
        "k": [61, 39, 27, 8, 16, 6, 6],
        "x": [10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7],
    }
)


def _bb_loglik_lgamma(params, k, n, x):
    """Beta-binomial log-likelihood written from the pmf C(n,k) B(k+α, n−k+β)/B(α,β)
    (Johnson, Kemp & Kotz 2005, eq. 6.29) with math.lgamma, one site at a time."""
    a, b, log_phi = params
    total = 0.0
    for ki, ni, xi in zip(k, n, x, strict=True):
        mu = 1 / (1 + math.exp(-(a + b * xi)))
        s = math.exp(-log_phi)
        al, be = mu * s, (1 - mu) * s

        def lbeta(p, q):
            return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

        lchoose = math.lgamma(ni + 1) - math.lgamma(ki + 1) - math.lgamma(ni - ki + 1)
        total += lchoose + lbeta(ki + al, ni - ki + be) - lbeta(al, be)
    return total


def _no_extra_variation() -> pd.DataFrame:
    """9 sites of 400 whose counts are their binomial expectations, rounded."""
    x = np.linspace(-1, 1, 9)
    n = np.full(9, 400)
    return pd.DataFrame({"k": np.round(n * special.expit(0.2 + 0.8 * x)), "n": n, "x": x})


def _fd_hessian(f, p, h=1e-4):
    """Central finite-difference Hessian, written out by hand."""
    p = np.asarray(p, float)
    d = p.size
    H = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            ei, ej = np.eye(d)[i] * h, np.eye(d)[j] * h
            H[i, j] = (f(p + ei + ej) - f(p + ei - ej) - f(p - ei + ej) + f(p - ei - ej)) / (
                4 * h * h
            )
    return H


def test_beta_binomial_matches_direct_optimisation_and_brute_force_loglik():
    """Oracle: the lgamma log-likelihood above, maximised by scipy.optimize (Powell, from a
    different start); its optimum, and its value at our parameters, equal our fit; the Wald
    SE equals the one from a hand-written finite-difference Hessian."""
    res = beta_binomial_regression(ENRICH, "k", "n", "x")
    k, n, x = ENRICH["k"], ENRICH["n"], ENRICH["x"]
    assert _bb_loglik_lgamma(res.extra["params"], k, n, x) == pytest.approx(
        res.extra["loglik"], rel=1e-10
    )
    opt = optimize.minimize(
        lambda p: -_bb_loglik_lgamma(p, k, n, x),
        [0.0, 0.0, -1.0],
        method="Powell",
        options={"xtol": 1e-9, "ftol": 1e-12, "maxiter": 20000},
    )
    assert -opt.fun == pytest.approx(res.extra["loglik"], abs=1e-6)
    np.testing.assert_allclose(opt.x, res.extra["params"], rtol=2e-3, atol=2e-3)
    cov = np.linalg.inv(-_fd_hessian(lambda p: _bb_loglik_lgamma(p, k, n, x), opt.x))
    assert math.sqrt(cov[1, 1]) == pytest.approx(res.extra["se"], rel=1e-2)
    assert res.ci_low < res.estimate < res.ci_high and 0 < res.extra["rho"] < 1
    assert res.n == 7 and res.rows("bb")[0]["method"].startswith("beta-binomial")


def test_beta_binomial_without_overdispersion_is_the_binomial_glm():
    """Oracle: statsmodels' binomial GLM. Counts set to their binomial expectations
    (rounded) have no extra-binomial variation, so the ML φ goes to the boundary (ρ ≈ 0)
    and the odds ratio equals the GLM's."""
    df = _no_extra_variation()
    res = beta_binomial_regression(df, "k", "n", "x")
    glm = binomial_glm(df, "k", "n", "x", dispersion_threshold=np.inf)
    assert res.extra["rho"] < 1e-3
    assert res.estimate == pytest.approx(glm.estimate, rel=1e-3)


def test_agh_equals_direct_integration_and_binomial_limit():
    """Oracle: scipy.integrate.quad of Bin(k; m, expit(η + τu)) φ(u) over the real line,
    site by site, at the fitted parameters; and at τ = 0 the binomial log-pmf
    (scipy.stats.binom)."""
    res = random_intercept_logistic(ENRICH, "k", "n", "x")
    a, b, log_tau = res.extra["params"]
    tau = math.exp(log_tau)
    k, n, x = (ENRICH[c].to_numpy(float) for c in ("k", "n", "x"))
    eta = a + b * x
    got = agh_loglik(k, n, eta, tau)
    for i in range(k.size):

        def f(u, i=i):
            return stats.binom.pmf(k[i], n[i], special.expit(eta[i] + tau * u)) * stats.norm.pdf(u)

        val, _ = integrate.quad(f, -12, 12, epsabs=0, epsrel=1e-12, limit=200)
        assert got[i] == pytest.approx(math.log(val), rel=1e-8)
    assert got.sum() == pytest.approx(res.extra["loglik"], rel=1e-10)
    np.testing.assert_allclose(
        agh_loglik(k, n, eta, 0.0), stats.binom.logpmf(k, n, special.expit(eta)), rtol=1e-12
    )


def test_agh_is_accurate_for_a_large_variance():
    """Oracle: scipy.integrate.quad again, for τ = 3 and a site with k = 0 (a skewed,
    off-centre integrand) and one with k = n: agreement to 1e-5 relative (the quadrature
    error in this extreme case is about 1e-6)."""
    k, n, eta = np.array([0.0, 30.0]), np.array([30.0, 30.0]), np.array([-1.0, 2.0])
    got = agh_loglik(k, n, eta, 3.0, n_nodes=30)
    for i in range(2):
        val, _ = integrate.quad(
            lambda u, i=i: (
                stats.binom.pmf(k[i], n[i], special.expit(eta[i] + 3 * u)) * stats.norm.pdf(u)
            ),
            -12,
            12,
            epsabs=0,
            epsrel=1e-12,
            limit=200,
        )
        assert got[i] == pytest.approx(math.log(val), rel=1e-5)


def test_agh_mode_is_found_where_plain_newton_overshoots():
    """Oracle: scipy.integrate.quad. ENRICH with site 1 at 0 of 89 engaged, at the point of
    its random-intercept profile (τ = e^1.015, intercept −0.4529 on centred fidelity, slope
    −1.1116) where Newton's method for the mode û of the site-1 integrand used to overshoot
    and return a log-likelihood of about −424 instead of about −25.5 (so the fit never
    converged); each site's value now agrees with direct integration to 1e-4 relative (the
    20-node quadrature error at this extreme site is about 6e-6)."""
    k = ENRICH["k"].to_numpy(float).copy()
    k[0] = 0.0
    n, x = ENRICH["n"].to_numpy(float), ENRICH["x"].to_numpy(float)
    tau = math.exp(1.015)
    eta = -0.453 + 1e-4 + (-1.1116) * (x - x.mean())
    got = agh_loglik(k, n, eta, tau)
    for i in range(k.size):
        val, _ = integrate.quad(
            lambda u, i=i: (
                stats.binom.pmf(k[i], n[i], special.expit(eta[i] + tau * u)) * stats.norm.pdf(u)
            ),
            -12, 12, epsabs=0, epsrel=1e-12, limit=400,
        )  # fmt: skip
        assert got[i] == pytest.approx(math.log(val), rel=1e-4), i


def test_random_intercept_reduces_to_glm_without_site_variation():
    """Oracle: statsmodels' binomial GLM; with counts at their binomial expectations the
    ML τ is ~0 and the conditional odds ratio equals the GLM's."""
    df = _no_extra_variation()
    res = random_intercept_logistic(df, "k", "n", "x")
    glm = binomial_glm(df, "k", "n", "x", dispersion_threshold=np.inf)
    assert res.extra["tau"] < 0.02
    assert res.estimate == pytest.approx(glm.estimate, rel=2e-3)


def test_random_intercept_recovers_a_simulated_slope():
    """Oracle: the data-generating values. 40 sites, τ = 0.5, b = 1: the 95% interval
    contains b and τ is estimated within 0.25 of the truth (seeded)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    n = rng.integers(20, 80, size=40)
    k = rng.binomial(n, special.expit(-0.3 + 1.0 * x + 0.5 * rng.normal(size=40)))
    res = random_intercept_logistic(pd.DataFrame({"k": k, "n": n, "x": x}), "k", "n", "x")
    assert res.ci_low < math.e < res.ci_high
    assert abs(res.extra["tau"] - 0.5) < 0.25


def test_beta_binomial_profile_interval_by_independent_reoptimisation():
    """Oracle: at each profile endpoint b*, re-maximising the hand-written lgamma
    likelihood over (a, log φ) with scipy Powell gives 2(ℓ_max − ℓ_p(b*)) = χ²_1(0.95) =
    3.8415; the LR p at b = 0 equals χ²_1 sf of the same re-maximised statistic."""
    res = beta_binomial_regression(ENRICH, "k", "n", "x", interval="profile")
    k, n, x = ENRICH["k"], ENRICH["n"], ENRICH["x"]
    a, b, lp = res.extra["params"]
    ll_max = _bb_loglik_lgamma(res.extra["params"], k, n, x)

    def ll_prof(bj):
        r = optimize.minimize(
            lambda t: -_bb_loglik_lgamma([t[0], bj, t[1]], k, n, x),
            [a + (b - bj) * 10, lp],
            method="Powell",
            options={"xtol": 1e-10, "ftol": 1e-13, "maxiter": 20000},
        )
        return -r.fun

    for end in (math.log(res.ci_low), math.log(res.ci_high)):
        assert 2 * (ll_max - ll_prof(end)) == pytest.approx(stats.chi2.ppf(0.95, 1), abs=2e-3)
    lr = 2 * (ll_max - ll_prof(0.0))
    assert res.p_value == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-2)
    assert "profile" in res.method
    with pytest.raises(ValueError):
        beta_binomial_regression(ENRICH, "k", "n", "x", interval="bootstrap")


def test_random_intercept_profile_endpoint_by_reoptimisation():
    """The profile interval of the random-intercept model brackets the estimate and its
    LR statistic at the endpoints is χ²_1(0.95) (re-maximised with scipy Powell over
    (a, log τ) using agh_loglik summed, a separate call path from the fit)."""
    res = random_intercept_logistic(ENRICH, "k", "n", "x", interval="profile")
    k, n, x = (ENRICH[c].to_numpy(float) for c in ("k", "n", "x"))
    a, b, lt = res.extra["params"]

    def ll(p):
        return agh_loglik(k, n, p[0] + p[1] * x, math.exp(p[2])).sum()

    ll_max = ll(res.extra["params"])
    end = math.log(res.ci_high)
    r = optimize.minimize(
        lambda t: -ll([t[0], end, t[1]]),
        [a + (b - end) * 10, lt],
        method="Powell",
        options={"xtol": 1e-10, "ftol": 1e-13},
    )
    assert 2 * (ll_max + r.fun) == pytest.approx(stats.chi2.ppf(0.95, 1), abs=5e-3)
    assert res.ci_low < res.estimate < res.ci_high
