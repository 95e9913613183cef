"""One primary ENRICH estimand, the rest sensitivity (issue 19, item 2), the employer stratum
told as uninformative (item 13) and the missing-data bounds with sampling error (item 12),
each checked against an independent calculation named in its docstring."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps

from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import estimands as E
from casereport.analyses.engagement_fidelity import limits as L
from casereport.primitives import paths, results
from casereport.trialdata import loaders

ENRICH = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))


def _q(rows, analysis, quantity, column="estimate"):
    return results.lookup(pd.DataFrame(rows), analysis, quantity, column)


def _get(rows, analysis, quantity) -> pd.Series:
    """The whole result row of ``analysis.quantity``."""
    df = pd.DataFrame(rows)
    hit = df[(df["analysis"] == analysis) & (df["quantity"] == quantity)]
    assert len(hit) == 1, (analysis, quantity, len(hit))
    return hit.iloc[0]


def _fake_results(p: dict[str, float]) -> pd.DataFrame:
    """A results frame holding every estimand with the given p (by key), estimate 1."""
    return pd.DataFrame(
        [results.row(e.analysis, e.quantity, 1.0, 0.5, 2.0, p[e.key], 7) for e in E.ESTIMANDS]
    )


# ----------------------------------------------------------------- primary and sensitivity


def test_sensitivity_counts_each_test_once_by_hand():
    """Oracle: a hand count. With the quasi-binomial primary, the sensitivity tests are the
    other test ids of ESTIMANDS, each once: perm_r (Pearson's r and the permutation slope
    share it), t_slope, perm_rho, kendall (Kendall's tau and Theil–Sen share it),
    beta_binomial, random_intercept, meta_regression, binomial = 8. With the p-values below,
    those under 0.05 are perm_r (0.02), binomial (0.001) and beta_binomial (0.04): 3; of
    the 7 that allow between-site variation (all but binomial), 2."""
    p = {e.key: 0.5 for e in E.ESTIMANDS} | {
        "odds_ratio_quasi_binomial": 0.2, "permutation_slope": 0.02, "pearson_r": 0.02,
        "odds_ratio_binomial": 0.001, "odds_ratio_beta_binomial": 0.04, "ols_slope": 0.3,
    }
    rows = E.rows(E.table(_fake_results(p), "odds_ratio_quasi_binomial"))
    assert _q(rows, "enrich_sensitivity", "n_tests") == 8
    assert _q(rows, "enrich_sensitivity", "n_tests_below_alpha") == 3
    assert _q(rows, "enrich_sensitivity", "n_tests_site_variation") == 7
    assert _q(rows, "enrich_sensitivity", "n_tests_site_variation_below_alpha") == 2
    assert _q(rows, "enrich_sensitivity", "min_p") == pytest.approx(0.001)
    assert _q(rows, "enrich_primary", "estimate", "p_value") == pytest.approx(0.2)
    assert _q(rows, "enrich_primary", "key", "label") == "odds_ratio_quasi_binomial"


def test_a_primary_that_shares_a_test_leaves_it_out_of_the_sensitivity_counts():
    """Oracle: a hand count. With the permutation slope primary, Pearson's r (the same
    permutation statistic) is not a second test: the 9 test ids less perm_r leave 8, and
    the one p below 0.05 (Pearson's 0.01, the primary's own test) is not counted."""
    p = {e.key: 0.5 for e in E.ESTIMANDS} | {"pearson_r": 0.01, "permutation_slope": 0.01}
    t = E.table(_fake_results(p), "permutation_slope")
    rows = E.rows(t)
    assert _q(rows, "enrich_sensitivity", "n_tests") == 8
    assert _q(rows, "enrich_sensitivity", "n_tests_below_alpha") == 0
    assert bool(t.set_index("key").loc["pearson_r", "same_test_as_primary"])


def test_unknown_primary_names_the_choices():
    """A mistyped parameter stops the notebook with the list of keys it may take."""
    with pytest.raises(ValueError, match="odds_ratio_quasi_binomial"):
        E.check_primary("odds_ratio_quasibinomial")


def test_primary_is_declared_in_params_with_its_reason_and_matches_the_notebook():
    """The primary set names the estimand (issue 19: a parameter in
    params/engagement_fidelity/primary.yaml, with the reason in a comment), and the
    notebook's default is the same, so the sensitivity parameter sets (which override only
    what they change) answer with the same primary estimand."""
    path = paths.PARAMS_DIR / "engagement_fidelity" / "primary.yaml"
    text = path.read_text(encoding="utf-8")
    key = yaml.safe_load(text)["primary_estimand"]
    assert key in E.BY_KEY and "Why" in text and "not a pre-registered" in text
    nb = json.loads((paths.ROOT / "notebooks" / "engagement_fidelity.ipynb").read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert f'primary_estimand: str = "{key}"' in "".join(params["source"])
    for other in sorted(path.parent.glob("*.yaml")):
        assert "primary_estimand" not in (yaml.safe_load(other.read_text()) or {}) or (
            other == path
        ), f"{other.name} changes the primary estimand"


def test_primary_quasi_binomial_by_a_second_implementation():
    """Oracle: a second implementation with statsmodels' GLM (binomial family on the
    counts, the standard Pearson X²/(n − 2) dispersion floored at 1, t on n − 2 df): the
    odds ratio per fidelity point 1.49 (0.80 to 2.79), p 0.159 as the reviewer recomputed."""
    import statsmodels.api as sm

    d = ENRICH
    endog = np.column_stack([d["engaged"], d["with_engagement_data"] - d["engaged"]])
    fit = sm.GLM(endog, sm.add_constant(d["fidelity_score"].to_numpy(float)),
                 family=sm.families.Binomial()).fit()
    n = len(d)
    phi = max(1.0, float(fit.pearson_chi2) / (n - 2))
    se = float(fit.bse[1]) * math.sqrt(phi)
    t = sps.t.ppf(0.975, n - 2)
    b = float(fit.params[1])
    models = L.odds_ratio_models(ENRICH)
    rows = E.rows(E.table(pd.DataFrame(L.odds_ratio_rows(models)), "odds_ratio_quasi_binomial"))
    got = _get(rows, "enrich_primary", "estimate")
    assert got["estimate"] == pytest.approx(math.exp(b), rel=1e-6)
    assert got["ci_low"] == pytest.approx(math.exp(b - t * se), rel=1e-6)
    assert got["ci_high"] == pytest.approx(math.exp(b + t * se), rel=1e-6)
    assert got["p_value"] == pytest.approx(2 * sps.t.sf(abs(b / se), n - 2), rel=1e-6)
    assert (round(got["ci_low"], 2), round(got["ci_high"], 2)) == (0.80, 2.79)


# ----------------------------------------------------------------- the employer stratum


def test_adjusted_slope_by_the_normal_equations():
    """Oracle: least squares by hand, b = (X'X)⁻¹X'y with X = [1, fidelity, voluntary],
    SE from s²(X'X)⁻¹ and t on n − 3 df; the reviewer's 6.8 (−16.9 to 30.5)."""
    d = ENRICH
    vol = d["employer"] != "NHS"
    X = np.column_stack([np.ones(len(d)), d["fidelity_score"], vol]).astype(float)
    y = d["engagement_pct"].to_numpy(float)
    xtx = np.linalg.inv(X.T @ X)
    b = xtx @ X.T @ y
    e = y - X @ b
    s2 = e @ e / (len(y) - 3)
    se = math.sqrt(s2 * xtx[1, 1])
    t = sps.t.ppf(0.975, len(y) - 3)
    rows = L.stratum_rows(L.stratum(ENRICH, "employer", "NHS"))
    got = _get(rows, "enrich_stratum", "ols_slope_adjusted")
    assert got["estimate"] == pytest.approx(b[1], rel=1e-9)
    assert got["ci_low"] == pytest.approx(b[1] - t * se, rel=1e-9)
    assert got["ci_high"] == pytest.approx(b[1] + t * se, rel=1e-9)
    assert (round(b[1], 1), round(b[1] - t * se, 1), round(b[1] + t * se, 1)) == (6.8, -16.9, 30.5)


def test_within_stratum_without_its_most_influential_site_by_enumeration():
    """Oracle: brute force. Refit Pearson's r without each NHS site (numpy corrcoef), take
    the largest change; its exact p over all 4! pairings; and the smallest p any y can give
    on those fidelity scores, by enumerating every ordering of y = x. The reviewer: without
    site 2, r 0.92 and p 0.083."""
    nhs = ENRICH[ENRICH["employer"] == "NHS"].reset_index(drop=True)
    x, y = nhs["fidelity_score"].to_numpy(float), nhs["engagement_pct"].to_numpy(float)
    r_all = np.corrcoef(x, y)[0, 1]
    changes = [abs(np.corrcoef(np.delete(x, i), np.delete(y, i))[0, 1] - r_all)
               for i in range(len(x))]  # fmt: skip
    i = int(np.argmax(changes))
    xs, ys = np.delete(x, i), np.delete(y, i)
    r = np.corrcoef(xs, ys)[0, 1]
    perms = list(itertools.permutations(range(len(xs))))
    p = sum(abs(np.corrcoef(xs, ys[list(q)])[0, 1]) >= abs(r) - 1e-12 for q in perms) / len(perms)
    floor = min(
        sum(abs(np.corrcoef(xs, v[list(q)])[0, 1]) >= abs(np.corrcoef(xs, v)[0, 1]) - 1e-12
            for q in perms) / len(perms)
        for v in (xs[list(o)] for o in perms)
    )
    rows = pd.DataFrame(L.stratum_rows(L.stratum(ENRICH, "employer", "NHS")))
    assert results.lookup(rows, "enrich_stratum", "within_influential_site", "label") == str(
        nhs["site"][i]
    )
    got = _get(rows, "enrich_stratum", "pearson_r_within_without")
    assert got["estimate"] == pytest.approx(r) and got["p_value"] == pytest.approx(p)
    floor_got = results.lookup(rows, "enrich_stratum", "min_attainable_p_without")
    assert floor_got == pytest.approx(floor)
    assert (round(r, 2), round(p, 3)) == (0.92, 0.083)
    assert results.lookup(rows, "enrich_stratum", "fidelity_max_within") == x.max()


def test_a_stratum_too_small_for_the_extras_reports_them_missing():
    """With 3 sites in the stratum no site can be left out (3 must remain), and with one
    employer nothing can be adjusted: the rows say so with NaN instead of raising (so the
    report's quotes of them read "not estimable", report/variables.py)."""
    small = ENRICH.assign(employer="NHS").iloc[:3]
    rows = pd.DataFrame(L.stratum_rows(L.stratum(small, "employer", "NHS")))
    for q in ("ols_slope_adjusted", "pearson_r_within_without", "min_attainable_p_without"):
        assert np.isnan(results.lookup(rows, "enrich_stratum", q)), q
    site = rows[rows["quantity"] == "within_influential_site"]
    assert len(site) == 1 and not site["label"].iloc[0]  # no site named


# ----------------------------------------------------------------- missing-data bounds


def test_bounds_with_sampling_error_at_the_vertices_by_enumeration():
    """Oracle: enumerate all 2^7 vertices of the per-site bounds (np.polyfit slope, t
    interval from the textbook SE s/√Sxx on n − 2 df); the vertices with the smallest and
    largest slope give the lower limit and the upper limit. Imbens & Manski (2004) cover the
    identified set by the union of the bounds' intervals; zero lies inside."""
    k, m, big = (ENRICH[c].to_numpy(float) for c in ("engaged", "with_engagement_data",
                                                     "offered_peer_support"))  # fmt: skip
    x = ENRICH["fidelity_score"].to_numpy(float)
    lo, hi = 100 * k / big, 100 * (k + big - m) / big
    n, t = len(x), sps.t.ppf(0.975, len(x) - 2)

    def fit(y):
        b, a = np.polyfit(x, y, 1)
        e = y - a - b * x
        se = math.sqrt(e @ e / (n - 2) / ((x - x.mean()) @ (x - x.mean())))
        return b, b - t * se, b + t * se

    fits = [fit(np.where(np.array(c), hi, lo)) for c in itertools.product([0, 1], repeat=n)]
    smallest, largest = min(fits), max(fits)
    got = _get(L.missing_rows(L.missing(ENRICH)), "enrich_missing", "slope_bounds_ci")
    assert got["ci_low"] == pytest.approx(smallest[1])
    assert got["ci_high"] == pytest.approx(largest[2])
    assert got["ci_low"] < 0 < got["ci_high"]
