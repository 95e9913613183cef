"""Exact factor permutation tests against itertools.combinations brute force, and the
negative-binomial option of rate_model against statsmodels' GLM and the Poisson limit."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from casereport.stats import (
    all_assignments,
    factor_permutation_test,
    factor_permutation_tests,
    rate_model,
)

SMALL = pd.DataFrame(
    {
        "minutes": [2815.0, 1086, 2514, 2324, 2840, 2160, 2906, 2390],
        "months": [25.0, 25, 24, 24, 24, 24, 24, 23],
        "f": [1, 0, 0, 1, 1, 1, 0, 1],
        "g": [0, 0, 1, 0, 0, 0, 1, 1],
    }
)


def _brute_p(rate, f, stat):
    """Independent oracle: loop over itertools.combinations(range(n), m) in plain Python."""
    n, m = len(rate), sum(f)

    def t(group):
        a = [rate[i] for i in range(n) if i in group]
        b = [rate[i] for i in range(n) if i not in group]
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        return math.log(ma / mb) if stat == "log_ratio" else ma - mb

    obs = t({i for i in range(n) if f[i]})
    vals = [t(set(c)) for c in itertools.combinations(range(n), m)]
    return obs, sum(abs(v) >= abs(obs) - 1e-10 for v in vals) / len(vals), len(vals)


@pytest.mark.parametrize("stat", ["log_ratio", "diff"])
@pytest.mark.parametrize("factor", ["f", "g"])
def test_exact_p_matches_brute_force(stat, factor):
    """Oracle: brute-force enumeration of all C(8, m) assignments (itertools)."""
    rate = list(SMALL["minutes"] / SMALL["months"])
    obs, p, total = _brute_p(rate, list(SMALL[factor]), stat)
    res = factor_permutation_test(SMALL, "minutes", "months", factor, statistic=stat)
    assert res.p_value == pytest.approx(p, abs=1e-12)
    assert res.extra["n_assignments"] == total
    expected = math.exp(obs) if stat == "log_ratio" else obs
    assert res.estimate == pytest.approx(expected)
    assert res.ci_low <= res.estimate <= res.ci_high


def test_interval_matches_grid_inversion():
    """Oracle: brute-force p on a grid of ratios θ (rates with the factor divided by θ,
    step 0.005 on [0.5, 3.5]); the accepted grid points (p > 0.05) form one run that lies
    inside our interval, whose ends are within one grid step of the run's ends."""
    rate = SMALL["minutes"] / SMALL["months"]
    f = list(SMALL["f"])
    res = factor_permutation_test(SMALL, "minutes", "months", "f")
    grid = np.arange(0.5, 3.5, 0.005)
    acc = []
    for th in grid:
        r = [v / th if fi else v for v, fi in zip(rate, f, strict=True)]
        acc.append(_brute_p(r, f, "log_ratio")[1] > 0.05)
    acc = np.array(acc)
    assert np.all(np.diff(np.flatnonzero(acc)) == 1)
    inside = grid[acc]
    assert res.ci_low <= inside.min() and inside.max() <= res.ci_high
    assert res.ci_low > inside.min() - 0.005 and res.ci_high < inside.max() + 0.005


def test_sanity_cases():
    """Equal rates everywhere: every assignment ties, p = 1. A factor at every site: NaN.
    C(16, 8) = 12,870 assignments for the RETAKE size."""
    df = pd.DataFrame({"y": [10.0] * 6, "t": [1.0] * 6, "f": [1, 0, 1, 0, 0, 1], "a": 1})
    assert factor_permutation_test(df, "y", "t", "f").p_value == 1.0
    assert np.isnan(factor_permutation_test(df, "y", "t", "a").estimate)
    assert all_assignments(16, 8).shape == (12870, 16)
    assert (all_assignments(5, 2).sum(axis=1) == 2).all()
    out = factor_permutation_tests(SMALL, "minutes", "months", ["f", "g"])
    assert len(out) == 2 and (out["p_holm"] >= out["p_value"]).all()


def _nb_data():
    s = pd.read_csv("data/retake/retake_sites.csv")
    f = pd.read_csv("data/retake/retake_site_factors.csv")
    f = f.pivot(index="site", columns="factor", values="present").reset_index()
    return s.merge(f, on="site")


def test_negbin_rate_model_equals_glm_nb_at_ml_alpha():
    """Oracle: statsmodels GLM NegativeBinomial with α fixed at the discrete model's ML α
    (Newton, observed information): same rate ratio and SE (the Wald interval then agrees),
    on the RETAKE minutes/months with OT turnover."""
    d = _nb_data()
    nb = rate_model(d, "mentoring_minutes", "months_in_study", "ot_turnover", family="negbin")
    y = d["mentoring_minutes"].to_numpy(float)
    X = sm.add_constant(d["ot_turnover"].to_numpy(float))
    glm = sm.GLM(
        y,
        X,
        family=sm.families.NegativeBinomial(alpha=nb.dispersion),
        offset=np.log(d["months_in_study"].to_numpy(float)),
    ).fit(method="newton")
    assert nb.estimate == pytest.approx(math.exp(glm.params[1]), rel=1e-5)
    assert nb.ci_high == pytest.approx(math.exp(glm.params[1] + 1.959964 * glm.bse[1]), rel=1e-4)


def test_negbin_approaches_poisson_without_overdispersion():
    """Oracle: statsmodels Poisson GLM. Poisson data (seeded, 40 sites): the ML α is ~0
    and the NB rate ratio equals the Poisson one."""
    rng = np.random.default_rng(1)
    f = np.tile([0, 1], 20)
    t = rng.uniform(5, 20, 40)
    y = rng.poisson(t * 3 * np.where(f == 1, 1.5, 1.0))
    df = pd.DataFrame({"y": y, "t": t, "f": f})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = rate_model(df, "y", "t", "f", family="negbin")
    pois = sm.GLM(
        y, sm.add_constant(f.astype(float)), family=sm.families.Poisson(), offset=np.log(t)
    ).fit()
    assert nb.dispersion < 1e-3
    assert nb.estimate == pytest.approx(math.exp(pois.params[1]), rel=1e-4)
