"""Influence diagnostics against brute-force refits and textbook formulas; missing-outcome
bounds against hand calculation and enumeration of all extreme allocations."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from casereport.stats import influence_both_ways, missing_outcome_bounds

# Gillard et al. (2024) Table 2: offered, with data, engaged, fidelity
ENRICH = pd.DataFrame(
    {
        "site": [str(i) for i in range(1, 8)],
        "offered": [93, 78, 34, 33, 21, 21, 11],
        "n": [89, 76, 34, 17, 20, 20, 9],
        "k": [61, 39, 27, 8, 16, 6, 6],
        "x": [10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7],
    }
)
ENRICH["pct"] = 100 * ENRICH["k"] / ENRICH["n"]


def test_influence_against_refits_and_textbook_formulas():
    """Oracles: slope without each site by np.polyfit refits; leverage h_ii from the hat
    matrix X(X'X)⁻¹X'; Cook's D = e² h / (p s² (1 − h)²) (Cook 1977); externally
    studentised residual e / (s_(i) √(1 − h)) with s_(i) from the refit without the site;
    Bonferroni p = min(1, n · 2 · P(T_{n−3} > |t|))."""
    res = influence_both_ways(ENRICH, "pct", "x")
    t = res.table
    x, y = ENRICH["x"].to_numpy(), ENRICH["pct"].to_numpy()
    n = 7
    X = np.column_stack([np.ones(n), x])
    H = X @ np.linalg.inv(X.T @ X) @ X.T
    b, a = np.polyfit(x, y, 1)
    e = y - a - b * x
    s2 = e @ e / (n - 2)
    np.testing.assert_allclose(t["leverage"], np.diag(H), rtol=1e-10)
    h = np.diag(H)
    np.testing.assert_allclose(t["cooks_d"], e**2 * h / (2 * s2 * (1 - h) ** 2), rtol=1e-10)
    for i in range(n):
        keep = np.arange(n) != i
        bi, ai = np.polyfit(x[keep], y[keep], 1)
        assert t["slope_without"][i] == pytest.approx(bi, rel=1e-9)
        assert t["dfbeta"][i] == pytest.approx(b - bi, abs=1e-9)  # Belsley-Kuh-Welsch sign
        assert np.sign(t["dfbeta"][i]) == np.sign(t["dfbetas"][i])  # same sign as DFBETAS
        ri = y[keep] - ai - bi * x[keep]
        s_i = math.sqrt(ri @ ri / (n - 3))
        ti = e[i] / (s_i * math.sqrt(1 - h[i]))
        assert t["student_resid"][i] == pytest.approx(ti, rel=1e-9)
        assert t["bonf_p"][i] == pytest.approx(min(1, n * 2 * stats.t.sf(abs(ti), n - 3)))
    s_b = np.array([np.polyfit(x[np.arange(n) != i], y[np.arange(n) != i], 1)[0] for i in range(n)])
    assert res.strengthens == (str(np.argmax(s_b) + 1), pytest.approx(s_b.max()))
    assert res.weakens == (str(np.argmin(s_b) + 1), pytest.approx(s_b.min()))
    assert res.n_loo_including_zero == int(((t["loo_ci_low"] <= 0) & (t["loo_ci_high"] >= 0)).sum())
    assert len(res.rows("inf")) == 4


def test_influence_direction_for_a_negative_slope():
    """Hand calculation: x = 1..5, y = −1, −2, −3, −4, −3 has slope −0.6; without e the
    slope is −1 (strengthened, further from 0); without a it is −0.4 (weakened); without
    b, c or d it is −0.6, −0.6 and −0.486."""
    df = pd.DataFrame({"site": list("abcde"), "x": [1.0, 2, 3, 4, 5], "y": [-1.0, -2, -3, -4, -3]})
    res = influence_both_ways(df, "y", "x")
    assert res.slope == pytest.approx(-0.6)
    assert res.strengthens[0] == "e" and res.strengthens[1] == pytest.approx(-1.0)
    assert res.weakens[0] == "a" and res.weakens[1] == pytest.approx(-0.4)


def test_missing_bounds_by_hand_and_slope_bounds_by_enumeration():
    """Hand calculation: site 1 (61 of 89 with data, 93 offered) → [61/93, 65/93]; site 3
    has no missing data → lower = upper = 27/34. Oracle for the slope bounds: the OLS slope
    at every one of the 2^7 vertices of the box (np.polyfit); the extremes equal ours and
    random interior allocations stay inside."""
    res = missing_outcome_bounds(ENRICH, "k", "n", "offered", "x")
    t = res.table
    assert t["lower"][0] == pytest.approx(61 / 93) and t["upper"][0] == pytest.approx(65 / 93)
    assert t["lower"][2] == t["upper"][2] == pytest.approx(27 / 34)
    x = ENRICH["x"].to_numpy()
    lo, hi = t["lower"].to_numpy(), t["upper"].to_numpy()
    slopes = [
        np.polyfit(x, np.where(np.array(v) == 1, hi, lo), 1)[0]
        for v in itertools.product([0, 1], repeat=7)
    ]
    assert res.slope_bounds[0] == pytest.approx(min(slopes))
    assert res.slope_bounds[1] == pytest.approx(max(slopes))
    rng = np.random.default_rng(0)
    for _ in range(50):
        b = np.polyfit(x, lo + rng.random(7) * (hi - lo), 1)[0]
        assert res.slope_bounds[0] <= b <= res.slope_bounds[1]
    a = res.association.set_index("quantity")
    assert a.loc["slope of lower share on x", "estimate"] == pytest.approx(np.polyfit(x, lo, 1)[0])
    assert a.loc["pearson r of upper share with x", "estimate"] == pytest.approx(
        np.corrcoef(x, hi)[0, 1]
    )
    assert len(res.rows()) == 7


def test_missing_bounds_rejects_inconsistent_counts():
    """More with data than offered is impossible and raises ValueError."""
    bad = ENRICH.assign(offered=ENRICH["n"] - 1)
    with pytest.raises(ValueError):
        missing_outcome_bounds(bad, "k", "n", "offered", "x")


def test_deletion_identities_equal_statsmodels_refit_loop():
    """Oracle: statsmodels' ``OLSInfluence``, which refits the OLS without each of the 40
    sites in turn (``params_not_obsi``, ``dfbetas``, ``resid_studentized_external``) and
    ``outlier_test(method="bonf")``; our closed forms (Belsley, Kuh and Welsch 1980, eqs.
    2.1 and 2.8) agree to 1e-9, on random data with one high-leverage site."""
    import statsmodels.api as sm

    rng = np.random.default_rng(21)
    x = np.append(rng.normal(10, 1, 39), 16.0)
    y = 3 + 2 * x + rng.normal(0, 2, 40)
    df = pd.DataFrame({"site": [f"s{i}" for i in range(40)], "x": x, "y": y})
    t = influence_both_ways(df, "y", "x").table
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    inf = fit.get_influence()
    np.testing.assert_allclose(t["slope_without"], inf.params_not_obsi[:, 1], rtol=1e-9)
    np.testing.assert_allclose(t["dfbetas"], inf.dfbetas[:, 1], rtol=1e-9)
    np.testing.assert_allclose(t["student_resid"], inf.resid_studentized_external, rtol=1e-9)
    np.testing.assert_allclose(t["bonf_p"], np.asarray(fit.outlier_test(method="bonf"))[:, 2],
                               rtol=1e-9)
