"""Permutation correlation tests against brute-force enumeration and scipy statistics."""

import itertools

import numpy as np
import pytest
from scipy import stats

from casereport.stats import EXACT_MAX_N, permutation_correlation

ENRICH_FIDELITY = [10.4, 11.0, 11.2, 9.0, 10.9, 7.9, 9.7]
ENRICH_PCT = [61 / 89, 39 / 76, 27 / 34, 8 / 17, 16 / 20, 6 / 20, 6 / 9]


def _brute_force_p(x, y, corr):
    """Independent oracle: loop over every permutation with a plain Python loop and count
    |r_perm| >= |r_obs| (relative tolerance 1e-9 for ties)."""
    r_obs = corr(x, y)
    hits = total = 0
    for perm in itertools.permutations(range(len(y))):
        r = corr(x, [y[i] for i in perm])
        hits += abs(r) >= abs(r_obs) - 1e-9
        total += 1
    return r_obs, hits / total, total


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_exact_matches_brute_force_n5(method):
    """n = 5 (120 permutations) with a tie in y: the vectorised exact p equals brute force
    with scipy.stats.pearsonr / spearmanr as the statistic."""
    x = [1.0, 2.5, 3.0, 4.2, 7.0]
    y = [2.0, 1.0, 4.0, 4.0, 6.5]

    def corr(a, b):
        f = stats.pearsonr if method == "pearson" else stats.spearmanr
        return f(a, b)[0]

    r_obs, p, total = _brute_force_p(x, y, corr)
    res = permutation_correlation(x, y, method=method)
    assert res.exact and res.n_permutations == total == 120
    assert res.statistic == pytest.approx(r_obs, abs=1e-12)
    assert res.p_value == pytest.approx(p, abs=1e-12)


def test_enrich_enumerates_all_5040_pairings():
    """7 sites: all 7! = 5,040 pairings (issue 4); statistic equals scipy's Pearson r."""
    res = permutation_correlation(ENRICH_FIDELITY, ENRICH_PCT)
    assert res.exact and res.n_permutations == 5040 and res.seed is None
    assert res.statistic == pytest.approx(stats.pearsonr(ENRICH_FIDELITY, ENRICH_PCT)[0])
    # p is a count over 5,040
    assert (res.p_value * 5040) == pytest.approx(round(res.p_value * 5040), abs=1e-9)


def test_monte_carlo_above_exact_max_n_reproducible_and_close_to_exact():
    """n = 9 > EXACT_MAX_N switches to Monte Carlo: p = (b + 1)/(m + 1), identical for the
    same seed, and within Monte Carlo error of the exact p from enumerating all 9!."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=9)
    y = 0.6 * x + rng.normal(size=9)
    assert EXACT_MAX_N == 8
    mc = permutation_correlation(x, y, n_resamples=20_000, seed=11)
    assert not mc.exact and mc.n_permutations == 20_000 and mc.seed == 11
    b = mc.p_value * 20_001 - 1
    assert b == pytest.approx(round(b), abs=1e-6)
    again = permutation_correlation(x, y, n_resamples=20_000, seed=11)
    assert again.p_value == mc.p_value
    exact = permutation_correlation(x, y, exact_max_n=9)
    assert exact.exact and exact.n_permutations == 362_880
    se = np.sqrt(exact.p_value * (1 - exact.p_value) / 20_000)
    assert abs(mc.p_value - exact.p_value) < 4 * se + 1e-4


def test_constant_input_gives_nan_and_missing_pairs_dropped():
    """A constant variable has no correlation: NaN statistic and p; NaN pairs are dropped."""
    res = permutation_correlation([1, 1, 1, 1], [1, 2, 3, 4])
    assert np.isnan(res.statistic) and np.isnan(res.p_value)
    res = permutation_correlation([1, 2, 3, 4, np.nan], [1, 3, 2, 4, 5])
    assert res.n == 4 and res.n_permutations == 24


def test_many_sites_is_fast_and_chunked():
    """10,000 sites × 1,000 resamples runs in chunks (no n² arrays)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=10_000)
    res = permutation_correlation(x, x + rng.normal(size=10_000), "spearman", n_resamples=1000)
    assert res.p_value == pytest.approx(1 / 1001)


def test_fisher_interval_and_tidy_row():
    """Fisher z interval: tanh(atanh(r) ± z/sqrt(n − 3)) (Pearson) and the Bonett–Wright SE
    sqrt((1 + r²/2)/(n − 3)) (Spearman), computed by hand; rows() gives one tidy row."""
    res = permutation_correlation(ENRICH_FIDELITY, ENRICH_PCT)
    z, q = np.arctanh(res.statistic), stats.norm.ppf(0.975)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        (np.tanh(z - q / 2), np.tanh(z + q / 2))  # n − 3 = 4
    )
    sp = permutation_correlation(ENRICH_FIDELITY, ENRICH_PCT, "spearman")
    se = np.sqrt((1 + sp.statistic**2 / 2) / 4)
    assert sp.ci_high == pytest.approx(np.tanh(np.arctanh(sp.statistic) + q * se))
    row = res.rows("enrich")[0]
    assert row["quantity"] == "pearson r" and row["n"] == 7 and row["exact"]
