"""Clopper–Pearson intervals against closed forms, the defining tail equations and a
textbook value."""

import numpy as np
import pytest
from scipy import stats

from casereport.stats import clopper_pearson


def test_zero_and_all_successes_closed_form():
    """k = 0: upper = 1 − (α/2)^(1/n); k = n: lower = (α/2)^(1/n) (Clopper & Pearson 1934;
    e.g. Brown, Cai & DasGupta 2001, Stat Sci 16:101, section 2)."""
    n = 10
    lo, hi = clopper_pearson(0, n)
    assert float(lo) == 0.0
    assert float(hi) == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-10)
    lo, hi = clopper_pearson(n, n)
    assert float(hi) == 1.0
    assert float(lo) == pytest.approx(0.025 ** (1 / n), rel=1e-10)


def test_textbook_value_5_of_10():
    """5/10, 95%: (0.1871, 0.8129), the exact interval tabulated in textbooks (e.g. Agresti,
    Categorical Data Analysis, and most binomial CI calculators)."""
    lo, hi = clopper_pearson(5, 10)
    assert float(lo) == pytest.approx(0.1871, abs=5e-5)
    assert float(hi) == pytest.approx(0.8129, abs=5e-5)


def test_defining_tail_equations_vectorised():
    """The bounds solve P(X >= k | p_lo) = α/2 and P(X <= k | p_hi) = α/2 (the definition),
    checked with scipy's binomial tails on the ENRICH counts (Gillard et al. 2024, Table 2)."""
    k = np.array([61, 39, 27, 8, 16, 6, 6])
    n = np.array([89, 76, 34, 17, 20, 20, 9])
    lo, hi = clopper_pearson(k, n, level=0.9)
    assert lo.shape == hi.shape == (7,)
    np.testing.assert_allclose(stats.binom.sf(k - 1, n, lo), 0.05, rtol=1e-7)
    np.testing.assert_allclose(stats.binom.cdf(k, n, hi), 0.05, rtol=1e-7)
    assert np.all(lo < k / n) and np.all(k / n < hi)


def test_invalid_input():
    """k > n and n = 0 are errors, not silent NaNs."""
    with pytest.raises(ValueError):
        clopper_pearson(5, 4)
    with pytest.raises(ValueError):
        clopper_pearson(0, 0)


def test_missing_counts_and_site_table():
    """Nullable integers with pd.NA (as the loaders give for optional columns) produce NaN
    bounds; site_proportions reports % with the same bounds × 100 (8/17 = 47.1% at ENRICH
    site 4, Gillard et al. 2024 Table 2)."""
    import pandas as pd

    k = pd.Series([8, pd.NA], dtype="Int64")
    n = pd.Series([17, 20], dtype="Int64")
    lo, hi = clopper_pearson(k, n)
    assert np.isnan(lo[1]) and np.isnan(hi[1]) and 0 < lo[0] < hi[0] < 1
    from casereport.stats import site_proportions

    df = pd.DataFrame({"site": ["4", "x"], "engaged": k, "with_data": n})
    tab = site_proportions(df, "engaged", "with_data")
    assert tab.loc[0, "pct"] == pytest.approx(100 * 8 / 17)
    assert tab.loc[0, "ci_low"] == pytest.approx(100 * lo[0])
