"""The ENRICH QCA calibration, sweep, minimisation and fuzzy option
(casereport.analyses.cross_case.qca_engagement) checked against hand calculations of the
set-theoretic
formulas (Ragin 2008, ch. 3 and 5): crisp necessity consistency |X ∩ Y| / |Y|, fuzzy
consistency Σ min(x, y) / Σ y, and the direct method's closed form at its anchors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from casereport import stats
from casereport.analyses.cross_case import qca_engagement as Q
from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import classify as ef_classify
from casereport.primitives import paths, results
from casereport.trialdata import loaders, trials

ENRICH = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))
CUT = trials.get("enrich").parameters  # data/enrich/trial.yaml
HIGH = {"high_engagement": CUT["high_engagement"], "high_fidelity": CUT["high_fidelity"]}
SETS = ef_classify.crisp_sets(ENRICH, **HIGH)


def test_calibration_respects_the_urban_parameter():
    """Oracle: counting the locations in the list by hand; a mixed location is urban only
    when the parameter lists it."""
    loc = ENRICH["location"]
    for urban in (["Urban"], ["Urban", "Urban/rural"]):
        sets = ef_classify.crisp_sets(ENRICH, urban_values=tuple(urban), **HIGH)
        rows = Q.calibration_rows(sets, enrich.cutoffs(**CUT))
        got = results.lookup(pd.DataFrame(rows), "qca_enrich_calibration", "n_urban")
        assert got == loc.isin(urban).sum()
        table = Q.calibration(ENRICH, enrich.cutoffs(**CUT), ["NHS"], urban)
        assert table.loc[1, "In the set (1)"] == ", ".join(sorted(set(loc) & set(urban)))


@pytest.mark.parametrize("negate", [False, True])
def test_sweep_necessity_by_hand(negate):
    """Oracle: crisp necessity consistency of high fidelity, |X ∩ Y| / |Y|, with Y =
    engagement >= t (or its negation), counted for each threshold."""
    thresholds = [55.0, 70.0, 80.0]
    sweep = Q.threshold_sweep(ENRICH, SETS, thresholds, negate=negate)
    x = SETS["high_fidelity"].to_numpy()
    for t, r in zip(thresholds, sweep.itertuples(index=False), strict=True):
        y = (ENRICH["engagement_pct"].to_numpy() >= t).astype(int)
        y = 1 - y if negate else y
        assert r.n_outcome == y.sum()
        assert r.nec_high_fidelity == pytest.approx((x & y).sum() / y.sum())


def test_minimisation_low_engagement_covers_its_sites():
    """Oracle: consistency and coverage of the low-engagement solution recomputed by hand
    from the sites its expression covers; no configuration is fully consistent for high
    engagement, so none is reported."""
    m = Q.minimisation(SETS).set_index(["outcome", "solution"])
    assert m.loc[("high engagement", "conservative"), "expression"] == "no sufficient row"
    expr = m.loc[("low engagement", "parsimonious"), "expression"]
    covered = np.zeros(len(SETS), bool)
    for term in expr.split(" + "):
        hit = np.ones(len(SETS), bool)
        for lit in term.split("*"):
            neg, name = lit.startswith("~"), lit.lstrip("~")
            hit &= (SETS[name].to_numpy() == 0) if neg else (SETS[name].to_numpy() == 1)
        covered |= hit
    y = 1 - SETS["high_engagement"].to_numpy()
    assert m.loc[("low engagement", "parsimonious"), "incl"] == pytest.approx(
        (covered & (y == 1)).sum() / covered.sum()
    )
    assert m.loc[("low engagement", "parsimonious"), "cov"] == pytest.approx(
        (covered & (y == 1)).sum() / y.sum()
    )
    observed = len(SETS[Q.CONDITIONS].drop_duplicates())
    assert m["diversity"].iloc[0] == pytest.approx(observed / 8)


def _direct(x, full_non, cross, full):
    """Ragin's direct method by hand: log odds 3·(x − crossover)/(full − crossover) above the
    crossover, 3·(x − crossover)/(crossover − full_non) below it; membership = expit."""
    lam = [3 * (v - cross) / ((full - cross) if v >= cross else (cross - full_non)) for v in x]
    return np.array([1 / (1 + math.exp(-v)) for v in lam])


def test_fuzzy_option_memberships_and_necessity_by_hand():
    """Oracle: the direct method by hand (:func:`_direct`; the anchors are the parameters)
    and fuzzy necessity consistency Σ min(x, y) / Σ y."""
    anchors_e, anchors_f = [50.0, 70.0, 85.0], [9.0, 10.5, 11.5]
    out = Q.fuzzy(ENRICH, SETS, anchors_e, anchors_f)
    x = _direct(ENRICH["fidelity_score"], *anchors_f)
    y = _direct(ENRICH["engagement_pct"], *anchors_e)
    assert out["sets"]["high_fidelity"].to_numpy() == pytest.approx(x)
    assert out["sets"]["high_engagement"].to_numpy() == pytest.approx(y)
    rows = pd.DataFrame(Q.fuzzy_rows(out))
    assert results.lookup(rows, "qca_enrich_fuzzy", "nec_incl_high_fidelity") == pytest.approx(
        np.minimum(x, y).sum() / y.sum()
    )


# ------------------------------------------------------------- issue 19, item 5: reported fully


def test_relevance_of_necessity_by_hand():
    """RoN = Σ(1 − X) / Σ(1 − min(X, Y)) (Schneider & Wagemann 2012, p. 236), by hand on
    Table 2's crisp sets: high engagement is sites 3 and 5 (2 of 7). NHS (sites 1, 2, 3, 5,
    7): Σ(1 − X) = 2 (sites 4, 6), Σ(1 − min) = 7 − 2 = 5, RoN = 0.4; high fidelity (sites 2,
    3, 5): 4 / 5 = 0.8; urban (sites 1, 2, 3, 5): 3 / 5 = 0.6. Consistency 1 for all three
    (both high-engagement sites are in each set); coverage 2/5, 2/3, 2/4. And a fuzzy case:
    X = (0.8, 0.3, 0.6), Y = (0.6, 0.2, 0.9): 1.3 / 1.6 = 0.8125."""
    nec = Q.necessity(SETS).set_index("condition")
    assert nec.loc["nhs", "RoN"] == pytest.approx(2 / 5)
    assert nec.loc["high_fidelity", "RoN"] == pytest.approx(4 / 5)
    assert nec.loc["urban", "RoN"] == pytest.approx(3 / 5)
    assert (nec.loc[["nhs", "urban", "high_fidelity"], "incl"] == 1).all()
    assert nec.loc[["nhs", "high_fidelity", "urban"], "cov"].tolist() == pytest.approx(
        [2 / 5, 2 / 3, 2 / 4]
    )
    assert nec.loc[["nhs", "~nhs", "high_fidelity"], "n_in_set"].tolist() == [5, 2, 3]
    m = stats.set_measures([0.8, 0.3, 0.6], [0.6, 0.2, 0.9])
    assert m["ron"] == pytest.approx(1.3 / 1.6)
    rows = pd.DataFrame(Q.necessity_rows(Q.necessity(SETS), 7))
    assert results.lookup(rows, "qca_enrich_necessity", "ron_nhs") == pytest.approx(0.4)
    assert results.lookup(rows, "qca_enrich_necessity", "n_in_set_not_nhs") == 2


def test_contradictory_configurations_named_with_consistency_and_treatment():
    """Oracle: Table 2 by hand. Sites 2, 3 and 5 are NHS, urban and high fidelity (row 8);
    3 and 5 have high engagement, 2 does not: consistency 2/3, below the cut-off of 1, so
    coded 0. No other observed row mixes outcomes (sites 4, 6: row 1; 7: row 5; 1: row 7,
    all without high engagement). With a cut-off of 0.6 the same row is coded 1."""
    from casereport.analyses.cross_case import analysis as cross_case

    tt = stats.truth_table(SETS, Q.CONDITIONS, Q.OUTCOME, complete=True)
    contra = stats.contradictions(tt)
    assert contra["row"].tolist() == [8] and contra["incl"].iloc[0] == pytest.approx(2 / 3)
    rows = pd.DataFrame(cross_case.qca_rows("qca_enrich", tt, 3, incl_cut=1.0))
    text = rows.set_index("quantity").loc["contradictory_rows", "label"]
    assert text == "row 8 (sites 2, 3, 5): consistency 0.67, coded 0, not sufficient"
    assert results.lookup(rows, "qca_enrich", "n_contradictory") == 1
    assert results.lookup(rows, "qca_enrich", "incl_cut") == 1
    tt6 = stats.truth_table(SETS, Q.CONDITIONS, Q.OUTCOME, complete=True, incl_cut=0.6)
    assert "coded 1, sufficient" in cross_case.describe_contradictions(stats.contradictions(tt6))


def test_article_reports_the_qca_completely():
    """The QCA text quotes the inclusion cut-off, the contradictory rows and the necessity
    table through variables, says the crisp cut-offs restate the post hoc selection, calls
    the fuzzy anchors illustrative, and keeps the RETAKE table as a description only."""
    import re

    from casereport.report import shortcodes

    text = shortcodes.article_source(paths.ROOT / "index.qmd")
    qca = re.sub(r"\s+", " ", text[text.index("## Cross-case"):text.index("## Limitations")])
    for var in ("qca_enrich.incl_cut", "qca_enrich.contradictory_rows",
                "qca_retake.contradictory_rows", "qca_enrich_necessity.ron_nhs",
                "qca_enrich_necessity.nec_cov_high_fidelity"):  # fmt: skip
        assert shortcodes.var_shortcode(var) in qca, var
    assert "#tbl-qca-enrich-necessity >}}" in qca
    assert "restates the case selection" in qca and "illustrative anchors" in qca
    assert "never as a finding" in qca
