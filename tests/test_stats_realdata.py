"""The stats layer on the project's transcribed data (data/, via casereport.trialdata.loaders):
reproduces what the papers report. Regression guards for the key numbers live here too,
with tolerances wide enough to survive harmless refactors."""

import numpy as np
import pytest

from casereport import stats as cs
from casereport.analyses.engagement_fidelity import classify as ef_classify
from casereport.analyses.mentoring_time import classify as mt_classify
from casereport.trialdata import loaders, trials


@pytest.fixture(scope="module")
def enrich():
    e = loaders.load_enrich()
    e["engagement_pct"] = ef_classify.engagement_percent(e["engaged"], e["with_engagement_data"])
    return e


def test_enrich_selection_and_outlier(enrich):
    """Gillard et al. (2024): cases 3, 5 (high–high), 4, 6 (low–low), 2 (outlier); site 2
    is also the most influential site in both models (largest Cook's D)."""
    cut = trials.get("enrich").parameters  # data/enrich/trial.yaml
    cls = ef_classify.classify_sites(enrich, **cut).set_index("site")["case_type"]
    assert cls.to_dict() == {
        "1": "other",
        "2": "outlier",
        "3": "high-high",
        "4": "low-low",
        "5": "high-high",
        "6": "low-low",
        "7": "other",
    }
    ols = cs.site_ols(enrich, "engagement_pct", "fidelity_score")
    glm = cs.binomial_glm(enrich, "engaged", "with_engagement_data", "fidelity_score")
    assert cs.most_influential(ols.influence)[0] == "2"
    assert cs.most_influential(glm.influence)[0] == "2"


def test_enrich_key_numbers(enrich):
    """Values computed from Table 2 (recomputed engagement %): Pearson r 0.816 with exact
    p = 112/5040; OLS slope 12.3 points per fidelity point; binomial OR 1.49 per point,
    Pearson dispersion 2.96 (so quasi-binomial)."""
    r = cs.permutation_correlation(enrich["fidelity_score"], enrich["engagement_pct"])
    assert r.statistic == pytest.approx(0.8162, abs=1e-4)
    assert r.p_value * 5040 == pytest.approx(112)
    ols = cs.site_ols(enrich, "engagement_pct", "fidelity_score")
    assert ols.slope == pytest.approx(12.339, abs=1e-3)
    glm = cs.binomial_glm(enrich, "engaged", "with_engagement_data", "fidelity_score")
    assert glm.odds_ratio == pytest.approx(1.4933, abs=1e-4) and glm.quasi
    assert glm.dispersion == pytest.approx(2.963, abs=1e-3)


def test_retake_groups_and_rates():
    """Craven et al. (2021): close = 9, 10, 13; less = 2; twelve more. Rate models run for
    every factor with finite rate ratios; the RETAKE truth table row with both turnover and
    low competency (sites 1, 4, 5, 11, 15) is fully consistent with above-expected time."""
    r = loaders.load_retake()
    fw = loaders.factors_wide(loaders.load_factors())
    g = mt_classify.classify_sites(r["minutes_per_month"], expected=60.0, tolerance=10.0)
    assert set(r.loc[g == "close", "site"]) == {"9", "10", "13"}
    assert set(r.loc[g == "less", "site"]) == {"2"}
    d = r.merge(fw, on="site")
    rates = cs.rate_models(d, "mentoring_minutes", "months_in_study", loaders.factor_names())
    assert len(rates) == 5 and np.isfinite(rates["estimate"]).all()
    tt = cs.truth_table(
        mt_classify.crisp_sets(r, fw, expected=60.0, tolerance=10.0),
        ["ot_turnover", "low_competency"],
        "above_expected",
    ).set_index("row")
    assert tt.loc[4, "cases"] == "1,4,5,11,15" and tt.loc[4, "incl"] == 1
