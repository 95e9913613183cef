"""Meta-regression against closed-form weighted least squares, a brute-force grid
maximisation of the REML likelihood, and hand-computed log-odds."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from casereport.stats import (
    log_odds_meta_regression,
    meta_regression,
    reml_loglik,
    site_log_odds,
)

K = np.array([61, 39, 27, 8, 16, 6, 6])
N = np.array([89, 76, 34, 17, 20, 20, 9])
X = np.array([10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7])


def _restricted_loglik(y, v, x, tau2):
    """REML log-likelihood written out for one moderator (Viechtbauer 2005, REML section):
    −½[Σ log(v+τ²) + log det(X'WX) + Σ w (y − ŷ)²] with ŷ the WLS fit, using the
    closed-form simple-regression WLS."""
    w = 1 / (v + tau2)
    xb, yb = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    sxx = (w * (x - xb) ** 2).sum()
    b1 = (w * (x - xb) * (y - yb)).sum() / sxx
    resid = y - yb - b1 * (x - xb)
    det = w.sum() * sxx  # det of [[Σw, Σwx], [Σwx, Σwx²]]
    return -0.5 * (np.log(v + tau2).sum() + math.log(det) + (w * resid**2).sum())


def test_site_log_odds_by_hand():
    """Hand calculation: 3 of 10 → log(3/7), v = 1/3 + 1/7; 0 of 5 → log(0.5/5.5),
    v = 1/0.5 + 1/5.5; 4 of 4 → log(4.5/0.5), v = 1/4.5 + 1/0.5."""
    y, v = site_log_odds([3, 0, 4], [10, 5, 4])
    np.testing.assert_allclose(y, [math.log(3 / 7), math.log(0.5 / 5.5), math.log(9)])
    np.testing.assert_allclose(v, [1 / 3 + 1 / 7, 2 + 1 / 5.5, 1 / 4.5 + 2])


def test_tau2_zero_is_weighted_least_squares():
    """Oracle: closed-form WLS slope Σw(x−x̄)(y−ȳ)/Σw(x−x̄)² with w = 1/v, and the HKSJ
    variance q/Σw(x−x̄)² with q = Σw e²/(k−2); t on k−2 df."""
    y, v = site_log_odds(K, N)
    res = meta_regression(y, v, X, tau2=0.0)
    w = 1 / v
    xb, yb = (w * X).sum() / w.sum(), (w * y).sum() / w.sum()
    sxx = (w * (X - xb) ** 2).sum()
    b1 = (w * (X - xb) * (y - yb)).sum() / sxx
    q = max((w * (y - yb - b1 * (X - xb)) ** 2).sum() / 5, 1.0)  # modified HKSJ: q ≥ 1
    se = math.sqrt(q / sxx)
    assert res.estimate == pytest.approx(b1, rel=1e-10)
    assert res.extra["se"] == pytest.approx(se, rel=1e-10)
    assert res.ci_high == pytest.approx(b1 + stats.t.ppf(0.975, 5) * se, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(b1 / se), 5), rel=1e-10)


def test_reml_tau2_is_the_grid_maximum():
    """Oracle: brute-force grid (step 1e-4 on [0, 2]) maximisation of the REML likelihood
    written above; the scoring estimate lies within one grid step of the grid argmax and
    its likelihood is no lower."""
    y, v = site_log_odds(K, N)
    res = meta_regression(y, v, X)
    grid = np.arange(0, 2, 1e-4)
    ll = np.array([_restricted_loglik(y, v, X, t) for t in grid])
    best = grid[np.argmax(ll)]
    assert res.extra["tau2"] > 0 and res.extra["converged"]
    assert abs(res.extra["tau2"] - best) <= 1e-4
    assert _restricted_loglik(y, v, X, res.extra["tau2"]) >= ll.max() - 1e-12
    assert reml_loglik(y, v, X, 0.3) == pytest.approx(_restricted_loglik(y, v, X, 0.3))


def test_reml_truncates_at_zero_when_homogeneous():
    """Oracle: the REML likelihood decreases on [0, 1] for effect sizes with less spread
    than their variances (grid check), so τ² = 0 and the fit equals WLS."""
    y = np.array([0.1, -0.1, 0.05, 0.0, -0.05])
    v = np.full(5, 0.5)
    x = np.arange(5.0)
    grid = np.linspace(0, 1, 101)
    assert np.all(np.diff([_restricted_loglik(y, v, x, t) for t in grid]) < 0)
    res = meta_regression(y, v, x)
    assert res.extra["tau2"] == 0.0
    assert res.estimate == pytest.approx(meta_regression(y, v, x, tau2=0.0).estimate)


def test_log_odds_wrapper_reports_odds_ratio():
    """The odds ratio is exp of the meta-regression slope on hand-made log-odds; its
    interval contains the estimate and the tidy row carries the method; a site with no
    trials is dropped."""
    df = pd.DataFrame({"k": list(K) + [0], "n": list(N) + [0], "x": list(X) + [9.0]})
    res = log_odds_meta_regression(df, "k", "n", "x")
    y, v = site_log_odds(K, N)
    assert res.estimate == pytest.approx(math.exp(meta_regression(y, v, X).estimate))
    assert res.n == 7 and res.ci_low < res.estimate < res.ci_high
    assert "HKSJ" in res.rows("meta")[0]["method"]
    with pytest.raises(ValueError):
        meta_regression([1.0, 2.0], [0.1, 0.1], [0.0, 1.0])


def test_modified_hksj_on_enrich_is_the_methodologists_interval():
    """Issue 19, item 3: the primary meta-regression of the ENRICH site log-odds on fidelity
    with the HKSJ scale factor floored at one gives odds ratio interval 0.94 to 2.88,
    p 0.072; unfloored (q < 1 here) 1.00 to 2.71, p 0.051. Oracle: the second
    methodologist's independent recomputation quoted in issue 19, at its printed
    precision."""
    df = pd.DataFrame({"k": K, "n": N, "x": X})
    res = log_odds_meta_regression(df, "k", "n", "x")
    assert (round(res.ci_low, 2), round(res.ci_high, 2), round(res.p_value, 3)) == (
        0.94, 2.88, 0.072
    )
    assert res.extra["q_raw"] < 1 and res.extra["q"] == 1.0
    y, v = site_log_odds(K, N)
    plain = meta_regression(y, v, X, modified=False)
    lo, hi = math.exp(plain.ci_low), math.exp(plain.ci_high)
    assert (round(lo, 2), round(hi, 2), round(plain.p_value, 3)) == (1.0, 2.71, 0.051)
    assert "modified HKSJ" in res.method
