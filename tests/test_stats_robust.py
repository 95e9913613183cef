"""Distribution-free slope inference against brute-force grids, pair counting,
enumeration of all orderings and hand-computed Holm adjustments."""

import itertools
import statistics

import numpy as np
import pandas as pd
import pytest

from casereport.stats import (
    holm,
    kendall_exact,
    permutation_correlation,
    permutation_slope_interval,
    theil_sen,
    within_stratum,
)

FID = np.array([10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7])
PCT = np.array([61 / 89, 39 / 76, 27 / 34, 8 / 17, 16 / 20, 6 / 20, 6 / 9]) * 100


def test_permutation_slope_interval_matches_grid_of_tests():
    """Oracle: a brute-force grid over b (step 0.05 on [-40, 60]) of the existing exact
    Pearson permutation test of corr(x, y − b x) (permutation_correlation, a separate code
    path); the accepted grid points (p > 0.05) form one run whose ends lie within one grid
    step inside our bisection endpoints. At b = OLS slope p = 1, and p_value = p(0)."""
    res = permutation_slope_interval(FID, PCT)
    grid = np.arange(-40, 60, 0.05)
    acc = np.array([permutation_correlation(FID, PCT - b * FID).p_value > 0.05 for b in grid])
    idx = np.flatnonzero(acc)
    assert np.all(np.diff(idx) == 1)  # one interval
    lo, hi = grid[idx[0]], grid[idx[-1]]
    assert res.ci_low <= lo < res.ci_low + 0.05 and hi <= res.ci_high < hi + 0.05
    slope = np.polyfit(FID, PCT, 1)[0]
    assert res.estimate == pytest.approx(slope)
    assert permutation_correlation(FID, PCT - slope * FID).p_value == 1.0
    assert res.p_value == pytest.approx(permutation_correlation(FID, PCT).p_value)
    assert res.extra["n_permutations"] == 5040 and res.extra["exact"]


def test_permutation_slope_interval_three_points_is_unbounded():
    """Oracle: with n = 3 there are 6 pairings, so no p can be <= 0.05 and no slope is
    rejected: the interval is the whole line."""
    res = permutation_slope_interval([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert res.ci_low == -np.inf and res.ci_high == np.inf


def test_permutation_slope_interval_monte_carlo_contains_truth():
    """Oracle: the data-generating slope 2 (t-distributed errors, 12 sites, seeded); the
    Monte Carlo interval (fixed pairings) brackets it and the OLS slope."""
    rng = np.random.default_rng(4)
    x = np.arange(12.0)
    y = 1 + 2 * x + rng.standard_t(3, size=12)
    res = permutation_slope_interval(x, y, n_resamples=2000)
    assert not res.extra["exact"]
    assert res.ci_low < 2 < res.ci_high and res.ci_low < res.estimate < res.ci_high


def test_theil_sen_and_kendall_against_brute_force():
    """Oracle: the median of all 21 pairwise slopes (statistics.median); Kendall's τ from
    counting concordant minus discordant pairs over 21; its exact p from enumerating all
    7! = 5040 orderings of y and counting |τ_perm| >= |τ_obs|."""
    pairs = list(itertools.combinations(range(7), 2))
    slopes = [(PCT[j] - PCT[i]) / (FID[j] - FID[i]) for i, j in pairs]
    ts = theil_sen(FID, PCT)
    assert ts.estimate == pytest.approx(statistics.median(slopes))
    assert ts.ci_low <= ts.estimate <= ts.ci_high

    def tau(y):
        s = sum(np.sign(FID[j] - FID[i]) * np.sign(y[j] - y[i]) for i, j in pairs)
        return s / len(pairs)

    t_obs = tau(PCT)
    perms = list(itertools.permutations(PCT))
    p = sum(abs(tau(np.array(q))) >= abs(t_obs) - 1e-12 for q in perms) / len(perms)
    kt = kendall_exact(FID, PCT)
    assert kt.estimate == pytest.approx(t_obs)
    assert kt.p_value == pytest.approx(p, abs=1e-12)
    assert ts.p_value == kt.p_value
    with pytest.raises(ValueError, match="ties"):
        kendall_exact([1, 2, 2, 3], [1, 2, 3, 4])


def test_holm_by_hand():
    """Hand calculation for p = (0.01, 0.04, 0.03, 0.20): sorted 0.01·4 = 0.04,
    0.03·3 = 0.09, 0.04·2 = 0.08 → monotone 0.09, 0.20·1 = 0.20; a NaN is left out of the
    family."""
    out = holm([0.01, 0.04, 0.03, 0.20, np.nan], labels=list("abcde"))
    np.testing.assert_allclose(out["p_holm"][:4], [0.04, 0.09, 0.09, 0.20])
    assert np.isnan(out["p_holm"][4])
    assert list(out["reject"]) == [True, False, False, False, False]
    assert list(out["label"]) == list("abcde")


def test_holm_docstring_example_runs():
    """The usage example in holm's docstring (a doctest) gives the hand-computed values it
    shows."""
    import doctest

    from casereport.stats import robust

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for t in finder.find(robust.holm, "holm", globs={"holm": holm}):
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.attempted == 1 and result.failed == 0


def test_within_stratum_subset_and_guard():
    """Oracle: permutation_correlation on the hand-selected NHS rows (sites 1, 2, 3, 5, 7);
    the two-site Voluntary stratum raises ValueError naming the stratum."""
    df = pd.DataFrame(
        {
            "x": FID,
            "y": PCT,
            "employer": ["NHS", "NHS", "NHS", "Voluntary", "NHS", "Voluntary", "NHS"],
        }
    )
    res = within_stratum(df, "x", "y", "employer", "NHS")
    nhs = [0, 1, 2, 4, 6]
    ref = permutation_correlation(FID[nhs], PCT[nhs])
    assert res.n == 5 and res.estimate == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.p_value)
    assert res.extra["slope"] == pytest.approx(np.polyfit(FID[nhs], PCT[nhs], 1)[0])
    with pytest.raises(ValueError, match="Voluntary"):
        within_stratum(df, "x", "y", "employer", "Voluntary")
