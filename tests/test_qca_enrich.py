"""The ENRICH QCA calibration, sweep, minimisation and fuzzy option
(casereport.analyses.qca_enrich) checked against hand calculations of the set-theoretic
formulas (Ragin 2008, ch. 3 and 5): crisp necessity consistency |X ∩ Y| / |Y|, fuzzy
consistency Σ min(x, y) / Σ y, and the direct method's closed form at its anchors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from casereport import data, paths, results, stats
from casereport.analyses import enrich
from casereport.analyses import qca_enrich as Q

ENRICH = enrich.prepare(data.load_enrich(paths.DATA_DIR / "enrich_sites.csv"))
SETS = stats.enrich_crisp_sets(ENRICH)


def test_calibration_respects_the_urban_parameter():
    """Oracle: counting the locations in the list by hand; a mixed location is urban only
    when the parameter lists it."""
    loc = ENRICH["location"]
    for urban in (["Urban"], ["Urban", "Urban/rural"]):
        sets = stats.enrich_crisp_sets(ENRICH, urban_values=tuple(urban))
        rows = Q.calibration_rows(sets, enrich.cutoffs())
        got = results.lookup(pd.DataFrame(rows), "qca_enrich_calibration", "n_urban")
        assert got == loc.isin(urban).sum()
        table = Q.calibration(ENRICH, enrich.cutoffs(), ["NHS"], urban)
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
