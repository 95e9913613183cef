"""The ENRICH limits analyses (casereport.analyses.engagement_fidelity.limits) checked against
independent calculations: closed forms, brute-force enumeration and second
implementations written here in numpy. Site ids always come from the data: the tests
relabel the sites so that no result can be tied to the published ids."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import limits as L
from casereport.primitives import paths, results
from casereport.trialdata import loaders, trials

ENRICH = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))


def _relabelled() -> pd.DataFrame:
    """The ENRICH table with site ids 1..7 replaced by 31..37 (in the same order)."""
    return ENRICH.assign(site=[str(30 + int(s)) for s in ENRICH["site"]])


def _q(rows, quantity, column="estimate"):
    return results.lookup(pd.DataFrame(rows), rows[0]["analysis"], quantity, column)


def _slope(x, y) -> float:
    """OLS slope by the closed form Sxy / Sxx."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


# ------------------------------------------------------------------------ influence


def test_influence_sites_come_from_brute_force_refits_and_the_data():
    """Oracle: the slope refitted by the closed form without each site in turn (brute force
    over the 7 deletions) and the leverage h_i = 1/n + (x_i − x̄)²/Sxx; the sites named are
    the relabelled ids, so nothing is tied to the published numbering."""
    df = _relabelled()
    x, y = df["fidelity_score"].to_numpy(), df["engagement_pct"].to_numpy()
    without = {s: _slope(np.delete(x, i), np.delete(y, i)) for i, s in enumerate(df["site"])}
    rows = L.influence_rows(L.influence(df))
    up, down = max(without, key=without.get), min(without, key=without.get)
    assert _q(rows, "removal_strengthens_site", "label") == str(up)
    assert _q(rows, "removal_weakens_site", "label") == str(down)
    assert _q(rows, "removal_strengthens_slope") == pytest.approx(without[up])
    dx = x - x.mean()
    h = 1 / len(x) + dx**2 / (dx @ dx)
    assert _q(rows, "leverage_max_site", "label") == str(df["site"].iloc[int(h.argmax())])
    for i, s in enumerate(df["site"]):
        assert _q(rows, f"leverage_site_{s}") == pytest.approx(h[i])
        assert _q(rows, f"dfbeta_slope_site_{s}") == pytest.approx(_slope(x, y) - without[s])


def test_influence_counts_the_loo_intervals_that_include_zero():
    """Oracle: the t interval of each leave-one-out slope by the textbook formula
    b ± t(n−3) · s / sqrt(Sxx) on the 6 remaining sites, counted by hand."""
    x, y = ENRICH["fidelity_score"].to_numpy(), ENRICH["engagement_pct"].to_numpy()
    count = 0
    for i in range(len(x)):
        xi, yi = np.delete(x, i), np.delete(y, i)
        b = _slope(xi, yi)
        a = yi.mean() - b * xi.mean()
        s = math.sqrt(((yi - a - b * xi) ** 2).sum() / (len(xi) - 2))
        half = sps.t.ppf(0.975, len(xi) - 2) * s / math.sqrt(((xi - xi.mean()) ** 2).sum())
        count += b - half <= 0 <= b + half
    assert _q(L.influence_rows(L.influence(ENRICH)), "n_loo_ci_including_zero") == count


# ------------------------------------------------------------------------ odds ratios


def _logistic(k, m, x):
    """Second implementation: grouped logistic regression by Newton–Raphson in numpy;
    returns the slope, its model-based SE and the Pearson dispersion X²/(n − 2)."""
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ beta))
        w = m * p * (1 - p)
        beta = beta + np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (k - m * p))
    p = 1 / (1 + np.exp(-X @ beta))
    cov = np.linalg.inv(X.T @ ((m * p * (1 - p))[:, None] * X))
    disp = float((((k - m * p) ** 2) / (m * p * (1 - p))).sum() / (len(k) - 2))
    return beta[1], math.sqrt(cov[1, 1]), disp


def test_binomial_and_quasi_binomial_columns_match_a_second_implementation():
    """Oracle: numpy Newton–Raphson (:func:`_logistic`); binomial = Wald z interval, quasi =
    SE × sqrt(Pearson dispersion) with a t(n − 2) quantile, whatever the dispersion."""
    k, m, x = (ENRICH[c].to_numpy(float) for c in ("engaged", "with_engagement_data",
                                                   "fidelity_score"))  # fmt: skip
    b, se, disp = _logistic(k, m, x)
    mods = L.odds_ratio_models(ENRICH).set_index("key")
    z, t = sps.norm.ppf(0.975), sps.t.ppf(0.975, len(k) - 2)
    assert mods.loc["binomial", "estimate"] == pytest.approx(math.exp(b), rel=1e-6)
    assert mods.loc["binomial", "ci_low"] == pytest.approx(math.exp(b - z * se), rel=1e-6)
    qse = se * math.sqrt(disp)
    assert mods.loc["quasi_binomial", "ci_high"] == pytest.approx(math.exp(b + t * qse), rel=1e-6)
    rows = L.odds_ratio_rows(mods.reset_index())
    bounds = zip(mods["ci_low"], mods["ci_high"], strict=False)
    excl = sum((lo > 1) or (hi < 1) for lo, hi in bounds)
    assert _q(rows, "n_models_ci_excluding_1") == excl and _q(rows, "n_models") == 5


def test_leave_one_out_odds_ratio_uses_one_method_in_every_row():
    """Oracle: :func:`_logistic` on each 6-site subset with the quasi-binomial t interval;
    every row of the leave-one-out GLM column uses it, including the row whose dispersion
    falls below 1 (the old rule switched that row to a z interval), with the scale
    floored at one (issue 19, item 3: without site 2 φ = 0.108 would narrow the interval)."""
    loo = enrich.leave_one_out(ENRICH).set_index("site")
    t = sps.t.ppf(0.975, len(ENRICH) - 3)
    for i, s in enumerate(ENRICH["site"]):
        d = ENRICH.drop(index=i)
        cols = ("engaged", "with_engagement_data", "fidelity_score")
        b, se, disp = _logistic(*(d[c].to_numpy(float) for c in cols))
        assert loo.loc[s, "glm_ci_low"] == pytest.approx(
            math.exp(b - t * se * math.sqrt(max(disp, 1.0))), rel=1e-5
        ), s


# ------------------------------------------------------------- non-normal inference


def test_permutation_p_and_theil_sen_by_brute_force():
    """Oracle: all 7! = 5040 pairings of fidelity with engagement (the share with |r| at
    least the observed), and the Theil–Sen slope as the median of all 21 pairwise slopes."""
    x, y = ENRICH["fidelity_score"].to_numpy(), ENRICH["engagement_pct"].to_numpy()
    r0 = abs(np.corrcoef(x, y)[0, 1])
    hits = sum(abs(np.corrcoef(x, y[list(p)])[0, 1]) >= r0 - 1e-12
               for p in itertools.permutations(range(len(x))))  # fmt: skip
    rows = L.nonnormal_rows(L.nonnormal(ENRICH))
    assert _q(rows, "permutation_slope", "p_value") == pytest.approx(hits / math.factorial(7))
    pair = [(y[j] - y[i]) / (x[j] - x[i]) for i, j in itertools.combinations(range(7), 2)]
    assert _q(rows, "theil_sen_slope") == pytest.approx(float(np.median(pair)))
    assert _q(rows, "kendall_exact") == 1


def test_kendall_with_ties_falls_back_to_the_asymptotic_p():
    """Oracle: tau-b by counting concordant and discordant pairs by hand (ties in x); the
    exact p is unavailable with ties, so the row says so (kendall_exact = 0)."""
    df = ENRICH.copy()
    df.loc[1, "fidelity_score"] = df.loc[0, "fidelity_score"]  # a tie
    x, y = df["fidelity_score"].to_numpy(), df["engagement_pct"].to_numpy()
    c = d = tx = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        s = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
        c, d, tx = c + (s > 0), d + (s < 0), tx + (x[i] == x[j])
    n0 = len(x) * (len(x) - 1) / 2
    tau_b = (c - d) / math.sqrt((n0 - tx) * n0)
    rows = L.nonnormal_rows(L.nonnormal(df))
    assert _q(rows, "kendall_tau") == pytest.approx(tau_b)
    assert _q(rows, "kendall_exact") == 0


# ------------------------------------------------------------------- missing data


def test_missing_bounds_closed_form_and_slope_bounds_by_enumeration():
    """Oracle: per-site bounds k/N and (k + N − m)/N; the slope bounds by enumerating all
    2^7 choices of lower or upper bound per site (the slope is linear in each y_i, so its
    extremes over the box lie at a vertex)."""
    df = _relabelled()
    rows = L.missing_rows(L.missing(df))
    k, m, big = (df[c].to_numpy(float) for c in ("engaged", "with_engagement_data",
                                                 "offered_peer_support"))  # fmt: skip
    lo, hi = 100 * k / big, 100 * (k + big - m) / big
    for i, s in enumerate(df["site"]):
        assert _q(rows, f"engaged_lower_site_{s}") == pytest.approx(lo[i])
        assert _q(rows, f"engaged_upper_site_{s}") == pytest.approx(hi[i])
    x = df["fidelity_score"].to_numpy(float)
    slopes = [_slope(x, np.where(np.array(c), hi, lo))
              for c in itertools.product([0, 1], repeat=len(x))]  # fmt: skip
    assert _q(rows, "slope_bounds", "ci_low") == pytest.approx(min(slopes))
    assert _q(rows, "slope_bounds", "ci_high") == pytest.approx(max(slopes))
    assert _q(rows, "slope_lower") == pytest.approx(_slope(x, lo))
    share = (big - m) / big
    assert _q(rows, "max_missing_site", "label") == str(df["site"].iloc[int(share.argmax())])


def test_offered_denominator_odds_ratio_matches_a_second_implementation():
    """Oracle: :func:`_logistic` with the offered (Methods) denominator."""
    k, big, x = (ENRICH[c].to_numpy(float) for c in ("engaged", "offered_peer_support",
                                                     "fidelity_score"))  # fmt: skip
    b, _, _ = _logistic(k, big, x)
    rows = L.missing_rows(L.missing(ENRICH))
    assert _q(rows, "odds_ratio_offered") == pytest.approx(math.exp(b), rel=1e-6)


# --------------------------------------------------------------------- employer


@pytest.mark.parametrize("value", ["NHS", "Voluntary"])
def test_stratum_is_the_parameter_and_its_exact_p_by_enumeration(value):
    """Oracle: Pearson r of the rows with the chosen employer (np.corrcoef) and its exact
    permutation p over all n! pairings; the stratum is the parameter, not a typed site
    list. Two voluntary sites are too few (fewer than 3): the analysis is not estimable and
    says why, and its rows carry the reason (issue 20, item 4: a report, not a traceback)."""
    d = ENRICH[ENRICH["employer"] == value]
    if len(d) < 3:
        st = L.stratum(ENRICH, "employer", value)
        assert "needs at least 3 sites; the stratum has 2" in st.reason
        assert _q(L.stratum_rows(st), "not_estimable", "label") == st.reason
        return
    x, y = d["fidelity_score"].to_numpy(), d["engagement_pct"].to_numpy()
    r0 = np.corrcoef(x, y)[0, 1]
    perms = list(itertools.permutations(range(len(x))))
    p = sum(abs(np.corrcoef(x, y[list(q)])[0, 1]) >= abs(r0) - 1e-12 for q in perms) / len(perms)
    rows = L.stratum_rows(L.stratum(ENRICH, "employer", value))
    assert _q(rows, "pearson_r_within") == pytest.approx(r0)
    assert _q(rows, "pearson_r_within", "p_value") == pytest.approx(p)
    other = ENRICH.loc[ENRICH["employer"] != value, "fidelity_score"]
    assert _q(rows, "fidelity_max_outside") == other.max()
    assert _q(rows, "n_sites_within") == len(d)


# ---------------------------------------------------------------- cut-off sweep


def test_cutoff_sweep_respects_its_parameters():
    """Oracle: the case rules applied by hand (engagement ≥ high and fidelity ≥ high:
    high–high; both ≤ low: low–low) for one shifted setting; the zero step appears once."""
    cut = enrich.cutoffs(**trials.get("enrich").parameters)
    sweep = L.cutoff_sweep(ENRICH, cut, [-10.0, 0.0, 10.0], [0.0, 1.0])
    assert list(sweep["shifted"]) == ["engagement", "none", "engagement", "fidelity"]
    r = sweep.iloc[3]
    hh = ENRICH[(ENRICH["engagement_pct"] >= cut["high_engagement"])
                & (ENRICH["fidelity_score"] >= cut["high_fidelity"] + 1)]  # fmt: skip
    assert r["high-high"] == ", ".join(hh["site"])
    assert bool(sweep.iloc[1]["same"])
    rows = L.cutoff_sweep_rows(sweep)
    assert _q(rows, "n_shifts") == 3
    assert _q(rows, "n_shifts_same_selection") == int(sweep.loc[sweep["step"] != 0, "same"].sum())


def test_kendall_above_the_exact_size_is_asymptotic():
    """Oracle: scipy.stats.kendalltau(method="asymptotic") on the same columns. With more
    sites than KENDALL_EXACT_MAX_SITES (no ties) the notebook's Kendall p is the normal
    approximation and says so; the Theil-Sen slope is scipy's theilslopes."""
    n = L.KENDALL_EXACT_MAX_SITES + 1
    rng = np.random.default_rng(7)
    x = rng.permutation(n) / 10 + 5
    df = pd.DataFrame({L.X: x, L.Y: 40 + 3 * x + rng.normal(0, 5, n), "site": range(n)})
    nn = L.nonnormal(df)
    want = sps.kendalltau(df[L.X], df[L.Y], method="asymptotic")
    assert nn["kendall_note"] == f"asymptotic (more than {n - 1} sites)"
    assert nn["kendall"].estimate == pytest.approx(want.statistic, rel=1e-12)
    assert nn["kendall"].p_value == pytest.approx(want.pvalue, rel=1e-9)
    assert nn["theil_sen"].estimate == pytest.approx(sps.theilslopes(df[L.Y], df[L.X]).slope)
