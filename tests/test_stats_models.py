"""Site-level models against closed forms and brute-force refits."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from casereport.stats import (
    TIDY_COLUMNS,
    binomial_glm,
    leave_one_out,
    loo_rows,
    most_influential,
    ols_leave_one_out,
    rate_model,
    rate_models,
    site_ols,
    tidy,
)

# Gillard et al. (2024) Table 2
ENRICH = pd.DataFrame(
    {
        "site": [str(i) for i in range(1, 8)],
        "with_engagement_data": [89, 76, 34, 17, 20, 20, 9],
        "engaged": [61, 39, 27, 8, 16, 6, 6],
        "fidelity_score": [10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7],
    }
)
ENRICH["engagement_pct"] = 100 * ENRICH["engaged"] / ENRICH["with_engagement_data"]

SMALL = pd.DataFrame(
    {
        "site": list("abcdef"),
        "x": [1.0, 2.0, 3.0, 5.0, 6.0, 9.0],
        "y": [2.1, 2.9, 4.2, 4.8, 7.5, 8.1],
    }
)


def test_ols_matches_normal_equations():
    """Oracle: β = (XᵀX)⁻¹Xᵀy, s² = RSS/(n−2), Var β = s²(XᵀX)⁻¹, t-interval on n−2 df,
    all by matrix algebra (a different route from the sums-of-squares implementation)."""
    X = np.column_stack([np.ones(6), SMALL["x"]])
    y = SMALL["y"].to_numpy()
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    e = y - X @ beta
    s2 = e @ e / 4
    se = np.sqrt(np.diag(s2 * xtx_inv))
    t = stats.t.ppf(0.975, 4)
    res = site_ols(SMALL, "y", "x")
    assert res.intercept == pytest.approx(beta[0]) and res.slope == pytest.approx(beta[1])
    assert res.slope_se == pytest.approx(se[1]) and res.intercept_se == pytest.approx(se[0])
    assert (res.ci_low, res.ci_high) == pytest.approx((beta[1] - t * se[1], beta[1] + t * se[1]))
    assert res.p_value == pytest.approx(2 * stats.t.sf(beta[1] / se[1], 4))
    assert res.r_squared == pytest.approx(1 - e @ e / ((y - y.mean()) ** 2).sum())
    H = X @ xtx_inv @ X.T
    np.testing.assert_allclose(res.influence["leverage"], np.diag(H))


def test_cooks_distance_matches_refit_definition():
    """Oracle: Cook's D_i = Σ_j (ŷ_j − ŷ_j(i))² / (p s²), refitting without each site with
    numpy.polyfit (Cook 1977's definition, not the leverage shortcut used in the code)."""
    res = site_ols(SMALL, "y", "x")
    x, y = SMALL["x"].to_numpy(), SMALL["y"].to_numpy()
    full = np.polyval(np.polyfit(x, y, 1), x)
    d = []
    for i in range(6):
        keep = np.arange(6) != i
        d.append(((full - np.polyval(np.polyfit(x[keep], y[keep], 1), x)) ** 2).sum())
    np.testing.assert_allclose(res.influence["cooks_d"], np.array(d) / (2 * res.sigma**2))


def test_ols_leave_one_out_equals_refits():
    """The O(n) deletion formulas give exactly the refit slopes, intervals and p-values."""
    fast = ols_leave_one_out(ENRICH, "engagement_pct", "fidelity_score")
    slow = leave_one_out(ENRICH, lambda d: site_ols(d, "engagement_pct", "fidelity_score"))
    cols = ["estimate", "ci_low", "ci_high", "p_value", "change"]
    np.testing.assert_allclose(fast[cols].to_numpy(float), slow[cols].to_numpy(float))
    assert list(fast["omitted"]) == list(slow["omitted"]) == list(ENRICH["site"])
    rows = loo_rows(fast, "loo", "slope")
    assert rows[1]["quantity"] == "slope without site 2" and rows[1]["n"] == 6


def test_enrich_outlier_is_site_2():
    """Reproduces the paper: the largest Cook's distance in the unweighted OLS of
    engagement % on fidelity is site 2 (Gillard et al. 2024: "one outlier, site 2")."""
    res = site_ols(ENRICH, "engagement_pct", "fidelity_score")
    site, d = most_influential(res.influence)
    assert site == "2" and d > 4 / 7
    assert res.slope > 0


def _two_group(k, m):
    return pd.DataFrame({"site": list("abcd"), "k": k, "m": m, "g": [0, 0, 1, 1]})


# statsmodels flags the exact within-group fit (X² = 0) as "perfect separation"; it is not.
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_binomial_glm_two_group_odds_ratio_and_wald_se():
    """Two groups (x = 0/1), homogeneous sites: the MLE odds ratio is the pooled sample odds
    ratio (c/d)/(a/b) and its Wald SE is sqrt(1/a + 1/b + 1/c + 1/d) (Agresti 2013, 3.1).
    Within-group proportions are identical, so Pearson X² = 0 and no quasi scaling."""
    df = _two_group([10, 20, 30, 15], [30, 60, 50, 25])  # 30/90 vs 45/75
    a, b, c, d = 30, 60, 45, 30
    res = binomial_glm(df, "k", "m", "g")
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = stats.norm.ppf(0.975)
    assert res.odds_ratio == pytest.approx((c / d) / (a / b))
    assert res.se == pytest.approx(se, rel=1e-6)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        (3 * np.exp(-z * se), 3 * np.exp(z * se)), rel=1e-6
    )
    assert res.dispersion == pytest.approx(0, abs=1e-10) and not res.quasi


def test_binomial_glm_overdispersed_uses_quasi_scale():
    """Same pooled 2×2 table, heterogeneous sites. Hand computation: fitted p = pooled group
    proportion; φ = Σ (k − m p)² / (m p (1 − p)) / (4 − 2); quasi SE = Wald SE × sqrt(φ);
    interval on t with 2 df (McCullagh & Nelder 1989, 4.5)."""
    df = _two_group([5, 25, 35, 10], [30, 60, 50, 25])
    p = np.array([1 / 3, 1 / 3, 0.6, 0.6])
    k, m = df["k"].to_numpy(), df["m"].to_numpy()
    phi = (((k - m * p) ** 2) / (m * p * (1 - p))).sum() / 2
    se = np.sqrt(1 / 30 + 1 / 60 + 1 / 45 + 1 / 30) * np.sqrt(phi)
    t = stats.t.ppf(0.975, 2)
    res = binomial_glm(df, "k", "m", "g")
    assert res.quasi and res.dispersion == pytest.approx(phi)
    assert res.gof_p == pytest.approx(stats.chi2.sf(phi * 2, 2))
    assert res.odds_ratio == pytest.approx(3.0)
    assert res.se == pytest.approx(se, rel=1e-6)
    assert res.ci_high == pytest.approx(3 * np.exp(t * se), rel=1e-6)
    plain = binomial_glm(df, "k", "m", "g", dispersion_threshold=np.inf)
    assert not plain.quasi and plain.se == pytest.approx(se / np.sqrt(phi), rel=1e-6)


def test_quasi_binomial_scale_is_floored_at_one():
    """Issue 19, item 3: with Pearson φ < 1 the quasi-binomial SE is the binomial Wald SE
    (scale max(φ, 1) = 1), on t with n − 2 df, never narrower. Oracle: the hand formula of
    the test above (φ = Σ (k − m p)² / (m p (1 − p)) / 2) on sites close to their group
    proportion, and the closed-form Wald SE sqrt(1/a + 1/b + 1/c + 1/d)."""
    df = _two_group([9, 21, 31, 14], [30, 60, 50, 25])  # 30/90 vs 45/75 again
    p = np.array([1 / 3, 1 / 3, 0.6, 0.6])
    k, m = df["k"].to_numpy(), df["m"].to_numpy()
    phi = (((k - m * p) ** 2) / (m * p * (1 - p))).sum() / 2
    assert 0 < phi < 1
    se = np.sqrt(1 / 30 + 1 / 60 + 1 / 45 + 1 / 30)
    res = binomial_glm(df, "k", "m", "g", dispersion_threshold=-np.inf)
    assert res.quasi and res.dispersion == pytest.approx(phi)
    assert res.se == pytest.approx(se, rel=1e-6)
    assert res.ci_high == pytest.approx(3 * np.exp(stats.t.ppf(0.975, 2) * se), rel=1e-6)
    plain = binomial_glm(df, "k", "m", "g", dispersion_threshold=np.inf)
    assert res.ci_high > plain.ci_high and res.ci_low < plain.ci_low


def test_binomial_glm_enrich_is_overdispersed():
    """ENRICH counts: positive log-OR per fidelity point, Pearson φ > 1 so quasi-binomial,
    Cook's D largest at site 2 (the published outlier)."""
    res = binomial_glm(ENRICH, "engaged", "with_engagement_data", "fidelity_score")
    assert res.odds_ratio > 1 and res.quasi and res.dispersion > 1
    assert most_influential(res.influence)[0] == "2"
    rows = res.rows("glm")
    assert rows[0]["quantity"] == "odds ratio per unit fidelity_score"
    assert set(TIDY_COLUMNS) <= set(tidy(rows).columns)


def test_rate_model_closed_form_and_unit_invariance():
    """Poisson GLM with log(exposure) offset and one 0/1 factor: the MLE rate ratio is
    (Σy₁/Σt₁)/(Σy₀/Σt₀) with SE(log RR) = sqrt(1/Σy₁ + 1/Σy₀); quasi-Poisson multiplies the
    SE by sqrt(X²/(n−2)) with fitted μᵢ = tᵢ × group rate (all computed by hand here).
    Counting time in hours instead of minutes leaves the rate ratio and interval unchanged."""
    df = pd.DataFrame(
        {
            "y": [2815, 1086, 2514, 2324, 2840, 2160],
            "t": [25, 25, 24, 24, 24, 24],
            "f": [1, 0, 0, 1, 1, 1],
        }
    )
    y, t, f = df["y"].to_numpy(float), df["t"].to_numpy(float), df["f"].to_numpy()
    r1, r0 = y[f == 1].sum() / t[f == 1].sum(), y[f == 0].sum() / t[f == 0].sum()
    mu = t * np.where(f == 1, r1, r0)
    phi = ((y - mu) ** 2 / mu).sum() / 4
    se = np.sqrt(1 / y[f == 1].sum() + 1 / y[f == 0].sum()) * np.sqrt(phi)
    q = stats.t.ppf(0.975, 4)
    res = rate_model(df, "y", "t", "f")
    assert res.estimate == pytest.approx(r1 / r0)
    assert res.dispersion == pytest.approx(phi)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        (r1 / r0 * np.exp(-q * se), r1 / r0 * np.exp(q * se)), rel=1e-6
    )
    hours = rate_model(df.assign(y=df["y"] / 60), "y", "t", "f")
    assert (hours.estimate, hours.ci_low, hours.ci_high) == pytest.approx(
        (res.estimate, res.ci_low, res.ci_high), rel=1e-6
    )


def test_rate_model_negbin_and_constant_factor():
    """Negative binomial gives a finite rate ratio near the quasi-Poisson one; a factor
    present at every site cannot be estimated and gives NaN, not an error."""
    rng = np.random.default_rng(5)
    n = 16
    f = np.tile([0, 1], n // 2)
    t = rng.integers(8, 26, size=n).astype(float)
    y = rng.poisson(t * 80 * np.where(f == 1, 1.3, 1.0) * rng.gamma(20, 1 / 20, size=n))
    df = pd.DataFrame({"y": y, "t": t, "f": f, "all": 1})
    qp = rate_model(df, "y", "t", "f")
    nb = rate_model(df, "y", "t", "f", family="negbin")
    assert nb.ci_low < nb.estimate < nb.ci_high
    assert nb.estimate == pytest.approx(qp.estimate, rel=0.1)
    assert np.isnan(rate_model(df, "y", "t", "all").estimate)
    out = rate_models(df, "y", "t", ["f", "all"])
    assert list(out.columns[:7]) == TIDY_COLUMNS and len(out) == 2


def test_scales_linearly_to_10000_sites():
    """OLS, O(n) leave-one-out and the binomial GLM on 10,000 synthetic sites (no n × n
    arrays are formed)."""
    rng = np.random.default_rng(1)
    n = 10_000
    x = rng.uniform(3, 12, n)
    m = rng.integers(5, 100, n)
    k = rng.binomial(m, 1 / (1 + np.exp(-(-3 + 0.35 * x))))
    df = pd.DataFrame({"site": np.arange(n).astype(str), "x": x, "m": m, "k": k, "p": k / m})
    assert site_ols(df, "p", "x").slope > 0
    assert len(ols_leave_one_out(df, "p", "x")) == n
    assert binomial_glm(df, "k", "m", "x").log_or == pytest.approx(0.35, abs=0.03)


def test_generic_leave_one_out_with_glm_and_dicts():
    """leave_one_out accepts any fit returning the headline attributes or a dict; with the
    binomial GLM it refits without each site (7 refits for ENRICH)."""
    loo = leave_one_out(
        ENRICH, lambda d: binomial_glm(d, "engaged", "with_engagement_data", "fidelity_score")
    )
    assert len(loo) == 7 and (loo["n"] == 6).all()
    full = binomial_glm(ENRICH, "engaged", "with_engagement_data", "fidelity_score")
    assert loo["change"].to_numpy() == pytest.approx(loo["estimate"].to_numpy() - full.estimate)
    as_dict = leave_one_out(
        ENRICH,
        lambda d: {"estimate": len(d), "ci_low": 0, "ci_high": 1, "p_value": 1, "n": len(d)},
    )
    assert (as_dict["estimate"] == 6).all() and (as_dict["change"] == -1).all()
