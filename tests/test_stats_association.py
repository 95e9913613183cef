"""The side-by-side odds-ratio table and its leave-one-out version against the single
model functions called directly."""

import numpy as np
import pytest

from casereport.stats import (
    ODDS_RATIO_MODELS,
    beta_binomial_regression,
    binomial_glm,
    log_odds_meta_regression,
    odds_ratio_models,
    odds_ratio_models_loo,
)
from tests.test_stats_models import ENRICH

COLS = ("engaged", "with_engagement_data", "fidelity_score")


def test_table_rows_equal_direct_calls():
    """Oracle: each model function called directly; the GLM row is always quasi-binomial
    (binomial_glm with dispersion_threshold=-inf), whatever the dispersion."""
    tab = odds_ratio_models(ENRICH, *COLS).set_index("model")
    assert len(tab) == len(ODDS_RATIO_MODELS) == 4
    glm = binomial_glm(ENRICH, *COLS, dispersion_threshold=-np.inf)
    assert glm.quasi and tab.loc["quasi-binomial GLM", "ci_low"] == pytest.approx(glm.ci_low)
    bb = beta_binomial_regression(ENRICH, *COLS)
    assert tab.loc["beta-binomial", "estimate"] == pytest.approx(bb.estimate)
    mr = log_odds_meta_regression(ENRICH, *COLS)
    assert tab.loc["meta-regression of log-odds (REML, HKSJ)", "p_value"] == pytest.approx(
        mr.p_value
    )
    assert (tab["ci_low"] < tab["estimate"]).all() and (tab["estimate"] < tab["ci_high"]).all()


def test_leave_one_out_columns():
    """Oracle: the meta-regression refitted by hand without site 6; every model gives 7
    leave-one-out rows on 6 sites."""
    loo = odds_ratio_models_loo(ENRICH, *COLS)
    assert loo.groupby("model").size().eq(7).all() and (loo["n"] == 6).all()
    row = loo[(loo.model.str.startswith("meta")) & (loo.omitted == "6")]
    direct = log_odds_meta_regression(ENRICH[ENRICH.site != "6"], *COLS)
    assert row["estimate"].iloc[0] == pytest.approx(direct.estimate)
