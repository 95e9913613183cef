"""Direct calibration against its closed-form log-odds identities; fuzzy set measures
against Ragin's formulas computed by hand; negated outcomes and threshold sweeps against
the existing crisp functions."""

import math

import numpy as np
import pandas as pd
import pytest

from casereport.stats import (
    RAGIN_LOG_ODDS,
    calibrate_direct,
    necessity,
    negate_outcome,
    set_measures,
    threshold_sweep,
    truth_table,
)
from tests.test_stats_qca import CONDS, _lc


def test_calibration_anchors_and_log_odds_identities():
    """Closed form: at the anchors the log odds are −3, 0, +3 (Ragin 2008 ch. 5), i.e.
    memberships 1/(1+e³) = 0.0474, 0.5, 0.9526; halfway between the crossover and an anchor
    the log odds are ±1.5; with log_odds = log 19 the anchors map to exactly 0.05 and 0.95;
    log(m/(1−m)) is linear with slope 3/(full − crossover) above the crossover and
    3/(crossover − full_non) below. Hand calculation for Ragin's income anchors (2,500,
    5,000, 20,000): 17,090 → 3·12,090/15,000 = 2.418 → 0.918; 4,670 → −3·330/2,500 →
    0.402."""
    m = calibrate_direct([2500, 5000, 20000, 12500, 3750], 2500, 5000, 20000)
    e3 = 1 / (1 + math.exp(-3))
    np.testing.assert_allclose(m[:3], [1 - e3, 0.5, e3], rtol=1e-12)
    np.testing.assert_allclose(m[3:], [1 / (1 + math.exp(-1.5)), 1 / (1 + math.exp(1.5))])
    np.testing.assert_allclose(
        calibrate_direct([2500, 5000, 20000], 2500, 5000, 20000, log_odds=math.log(19)),
        [0.05, 0.5, 0.95],
    )
    xs = np.array([6000.0, 9000.0, 15000.0, 30000.0])
    lo = np.log(calibrate_direct(xs, 2500, 5000, 20000))
    lo -= np.log(1 - calibrate_direct(xs, 2500, 5000, 20000))
    np.testing.assert_allclose(np.diff(lo) / np.diff(xs), 3 / 15000, rtol=1e-9)
    got = calibrate_direct([17090, 4670], 2500, 5000, 20000)
    np.testing.assert_allclose(got, [0.918, 0.402], atol=5e-4)
    assert RAGIN_LOG_ODDS == 3.0


def test_calibration_decreasing_anchors_and_errors():
    """A set whose membership falls as x rises (full = 0, crossover = 5, full_non = 10)
    mirrors the increasing one: calibrate(x; 10, 5, 0) = 1 − calibrate(x; 0, 5, 10).
    Anchors out of order raise ValueError; NaN stays NaN."""
    x = np.array([0.0, 2.0, 5.0, 7.5, 10.0, np.nan])
    down = calibrate_direct(x, 10, 5, 0)
    up = calibrate_direct(x, 0, 5, 10)
    np.testing.assert_allclose(down[:5], 1 - up[:5])
    assert np.isnan(down[5])
    with pytest.raises(ValueError):
        calibrate_direct(x, 5, 0, 10)


def test_fuzzy_measures_by_hand():
    """Ragin (2006) formulas computed by hand for X = (0.2, 0.7, 0.9, 0.4),
    Y = (0.3, 0.8, 0.6, 0.1): Σmin = 0.2+0.7+0.6+0.1 = 1.6, ΣX = 2.2, ΣY = 1.8 →
    incl = 1.6/2.2, cov = 1.6/1.8; Σmin(X,Y,1−Y) = 0.2+0.2+0.4+0.1 = 0.9 →
    PRI = 0.7/1.3; RoN = Σ(1−X)/Σ(1−min) = 1.8/2.4."""
    m = set_measures([0.2, 0.7, 0.9, 0.4], [0.3, 0.8, 0.6, 0.1])
    assert m["incl"] == pytest.approx(1.6 / 2.2)
    assert m["cov"] == pytest.approx(1.6 / 1.8)
    assert m["pri"] == pytest.approx(0.7 / 1.3)
    assert m["nec_incl"] == pytest.approx(1.6 / 1.8)
    assert m["ron"] == pytest.approx(1.8 / 2.4)


def test_negated_outcome_against_crisp_lipset():
    """~SURV by column: each published Lipset row's incl for ~SURV is 1 − its incl for SURV
    (all rows are pure), and necessity of ~DEV for ~SURV is 8/10 (the 10 non-survivors:
    8 have DEV = 0)."""
    df = negate_outcome(_lc(), "SURV")
    tt = truth_table(df, CONDS, "~SURV", case_col="case")
    base = truth_table(_lc(), CONDS, "SURV", case_col="case")
    np.testing.assert_allclose(tt["incl"], 1 - base["incl"])
    nec = necessity(df, ["DEV"], "~SURV").set_index("condition")
    assert nec.loc["~DEV", "incl"] == pytest.approx(0.8)
    with pytest.raises(ValueError):
        negate_outcome(pd.DataFrame({"y": [2.0]}), "y")


def test_threshold_sweep_matches_truth_tables_at_each_threshold():
    """Oracle: the existing truth_table and necessity on the outcome dichotomised by hand
    (raw >= t) at each threshold; with negate=True, on raw < t."""
    df = pd.DataFrame(
        {
            "site": list("abcdefg"),
            "A": [1, 1, 0, 0, 1, 0, 1],
            "B": [0, 1, 1, 0, 1, 0, 0],
            "raw": [80.0, 51, 79, 41, 80, 30, 67],
        }
    )
    sw = threshold_sweep(df, ["A", "B"], "raw", [50, 70])
    for t in (50, 70):
        dd = df.assign(Y=(df["raw"] >= t).astype(float))
        tt = truth_table(dd, ["A", "B"], "Y")
        got = sw[(sw.threshold == t) & (sw.kind == "sufficiency")]
        np.testing.assert_allclose(got["incl"], tt["incl"])
        assert list(got["set"]) == ["~A*~B", "~A*B", "A*~B", "A*B"]
        nec = necessity(dd, ["A", "B"], "Y")
        got_n = sw[(sw.threshold == t) & (sw.kind == "necessity")]
        np.testing.assert_allclose(got_n["incl"], nec["incl"])
    neg = threshold_sweep(df, ["A", "B"], "raw", [70], negate=True)
    assert neg["n_outcome"].iloc[0] == 4  # 51, 41, 30, 67 are below 70
    # A*~B at t = 70: sites a (80), g (67) → incl 1/2 for Y, 1/2 for ~Y
    row = neg[(neg.kind == "sufficiency") & (neg.set == "A*~B")]
    assert row["incl"].iloc[0] == pytest.approx(0.5)
