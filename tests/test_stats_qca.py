"""QCA truth tables and set measures against a published example and hand computations.

Published example: the Lipset (1959) binary crisp data ``LC`` of the R package QCA
(Dusa, A. QCA with R, Springer 2019; data from Rihoux & De Meur 2009). The package's
documented example ``truthTable(LC, "SURV")`` with ``show.cases = TRUE`` prints, for
conditions DEV URB LIT IND STB (QCA 3.15, inst/staticdocs/truthTable.html in the CRAN
sources, github.com/cran/QCA):

    row DEV URB LIT IND STB OUT n incl  PRI   cases
     1   0   0   0   0   0   0  3 0.000 0.000 GR,PT,ES
     2   0   0   0   0   1   0  2 0.000 0.000 IT,RO
     5   0   0   1   0   0   0  2 0.000 0.000 HU,PL
     6   0   0   1   0   1   0  1 0.000 0.000 EE
    22   1   0   1   0   1   1  2 1.000 1.000 FI,IE
    23   1   0   1   1   0   0  1 0.000 0.000 AU
    24   1   0   1   1   1   1  2 1.000 1.000 FR,SE
    31   1   1   1   1   0   0  1 0.000 0.000 DE
    32   1   1   1   1   1   1  4 1.000 1.000 BE,CZ,NL,UK

Because every case is listed with its configuration and outcome, the 18-case data set is
reconstructed from this table (in the package's row order, alphabetical by country name).
"""

import numpy as np
import pandas as pd
import pytest

from casereport.stats import necessity, set_measures, sufficiency, truth_table

CONDS = ["DEV", "URB", "LIT", "IND", "STB"]
_PUBLISHED = [
    (1, "00000", 0, ["GR", "PT", "ES"]),
    (2, "00001", 0, ["IT", "RO"]),
    (5, "00100", 0, ["HU", "PL"]),
    (6, "00101", 0, ["EE"]),
    (22, "10101", 1, ["FI", "IE"]),
    (23, "10110", 0, ["AU"]),
    (24, "10111", 1, ["FR", "SE"]),
    (31, "11110", 0, ["DE"]),
    (32, "11111", 1, ["BE", "CZ", "NL", "UK"]),
]
_ORDER = "AU BE CZ EE FI FR DE GR HU IE IT NL PL PT RO ES SE UK".split()


def _lc() -> pd.DataFrame:
    rows = {}
    for _, bits, surv, cases in _PUBLISHED:
        for c in cases:
            rows[c] = [int(b) for b in bits] + [surv]
    df = pd.DataFrame([rows[c] for c in _ORDER], columns=CONDS + ["SURV"])
    df.insert(0, "case", _ORDER)
    return df


def test_lipset_crisp_truth_table_matches_published():
    """Row numbers, configurations, OUT, n, incl, PRI and case lists equal the published
    QCA::truthTable(LC, "SURV") output (module docstring)."""
    tt = truth_table(_lc(), CONDS, "SURV", case_col="case")
    assert list(tt["row"]) == [r for r, *_ in _PUBLISHED]
    for (_, bits, surv, cases), got in zip(_PUBLISHED, tt.itertuples(index=False), strict=True):
        assert "".join(str(getattr(got, c)) for c in CONDS) == bits
        assert got.n == len(cases) and got.cases == ",".join(cases)
        assert got.OUT == surv
        assert got.incl == pytest.approx(surv) and got.PRI == pytest.approx(surv)


def test_lipset_complete_table_has_remainders():
    """complete=True lists all 2^5 = 32 rows; the 23 unobserved ones are remainders ('?',
    n = 0), as in the published complete table."""
    tt = truth_table(_lc(), CONDS, "SURV", case_col="case", complete=True)
    assert len(tt) == 32 and (tt["OUT"] == "?").sum() == 23 and tt["n"].sum() == 18


def test_lipset_reduced_conditions_contradiction_by_hand():
    """Only LIT and STB, derived by hand from the published case list: LIT=1, STB=1 holds
    EE (SURV 0) and the 8 surviving democracies, so incl = 8/9, PRI = 8/9 (crisp: PRI =
    incl), raw coverage = 8/8; with incl_cut = 0.8 the row is OUT = 1."""
    tt = truth_table(_lc(), ["LIT", "STB"], "SURV", case_col="case", incl_cut=0.8)
    row = tt.set_index("row").loc[4]
    assert row["n"] == 9
    assert row["incl"] == pytest.approx(8 / 9) and row["PRI"] == pytest.approx(8 / 9)
    assert row["cov"] == pytest.approx(1.0) and row["OUT"] == 1
    assert row["cases"] == "BE,CZ,EE,FI,FR,IE,NL,SE,UK"  # data (alphabetical) order
    assert tt.set_index("row").loc[3, "cases"] == "AU,DE,HU,PL"


def test_lipset_single_condition_sufficiency_and_necessity_by_hand():
    """DEV = 1 for 10 countries of which 8 survived; all 8 survivors have DEV = 1.
    Sufficiency: incl = 8/10, cov = 8/8. Necessity: incl = 8/8, cov = 8/10,
    RoN = Σ(1 − X)/Σ(1 − min(X, Y)) = 8/10 (Schneider & Wagemann 2012)."""
    suf = sufficiency(_lc(), ["DEV"], "SURV").set_index("condition")
    assert suf.loc["DEV", "incl"] == pytest.approx(0.8) and suf.loc["DEV", "cov"] == 1
    assert suf.loc["~DEV", "incl"] == 0
    nec = necessity(_lc(), ["DEV"], "SURV").set_index("condition")
    assert nec.loc["DEV", "incl"] == 1 and nec.loc["DEV", "cov"] == pytest.approx(0.8)
    assert nec.loc["DEV", "RoN"] == pytest.approx(0.8)


def test_fuzzy_set_measures_by_hand():
    """Ragin (2006, 2008) formulas on four fuzzy cases, computed by hand:
    X = (.2, .6, .8, .9), Y = (.4, .5, .9, .7): min(X,Y) = (.2, .5, .8, .7), Σ = 2.2;
    ΣX = 2.5, ΣY = 2.5; min(X,Y,1−Y) = (.2, .5, .1, .3), Σ = 1.1.
    incl = 2.2/2.5 = .88; cov = .88; PRI = (2.2 − 1.1)/(2.5 − 1.1) = 1.1/1.4;
    RoN = Σ(1−X)/Σ(1−min) = 1.5/1.8."""
    m = set_measures([0.2, 0.6, 0.8, 0.9], [0.4, 0.5, 0.9, 0.7])
    assert m["incl"] == pytest.approx(0.88) and m["cov"] == pytest.approx(0.88)
    assert m["pri"] == pytest.approx(1.1 / 1.4)
    assert m["nec_incl"] == pytest.approx(0.88) and m["ron"] == pytest.approx(1.5 / 1.8)


def test_fuzzy_truth_table_row_membership():
    """Fuzzy rows: a case belongs to the corner where all memberships (negated when the
    condition is 0) exceed 0.5; row incl uses every case's min-membership. By hand for
    A = (.8, .3, .9), B = (.7, .6, .2), Y = (.9, .2, .4): row A·B has memberships
    (.7, .3, .2) → incl = (.7 + .2 + .2)/1.2; row A·~B has (.3, .3, .8) →
    incl = (.3 + .2 + .4)/1.4. Case ids are the index (0, 1, 2). A membership of exactly
    0.5 belongs to no row and is rejected."""
    df = pd.DataFrame({"A": [0.8, 0.3, 0.9], "B": [0.7, 0.6, 0.2], "Y": [0.9, 0.2, 0.4]})
    tt = truth_table(df, ["A", "B"], "Y", case_col=None).set_index("row")
    assert tt.loc[4, "n"] == 1 and tt.loc[4, "incl"] == pytest.approx(1.1 / 1.2)
    assert tt.loc[3, "incl"] == pytest.approx(0.9 / 1.4) and tt.loc[2, "cases"] == "1"
    with pytest.raises(ValueError):
        truth_table(df.assign(A=[0.5, 0.3, 0.9]), ["A", "B"], "Y", case_col=None)


def test_enrich_and_retake_tables_on_published_data():
    """ENRICH (Gillard et al. 2024 Table 2; NHS, urban, fidelity >= 10.5 → engagement >= 70%):
    the NHS·urban·high-fidelity row holds sites 2, 3, 5 with incl 2/3 (site 2 is the
    outlier). RETAKE (Craven et al. 2021): turnover·low-competency → above-expected
    mentoring: both present (1, 4, 5, 11, 15) incl 1; neither (2, 3, 9, 10, 12, 13, 14)
    incl 3/7."""
    enrich = pd.DataFrame(
        {
            "site": list("1234567"),
            "nhs": [1, 1, 1, 0, 1, 0, 1],
            "urban": [1, 1, 1, 0, 1, 0, 0],
            "high_fidelity": [0, 1, 1, 0, 1, 0, 0],
            "high_engagement": [0, 0, 1, 0, 1, 0, 0],
        }
    )
    tt = truth_table(enrich, ["nhs", "urban", "high_fidelity"], "high_engagement").set_index("row")
    assert tt.loc[8, "cases"] == "2,3,5" and tt.loc[8, "incl"] == pytest.approx(2 / 3)
    assert tt.loc[8, "cov"] == 1 and tt.loc[1, "cases"] == "4,6"
    sites = [str(i) for i in range(1, 17)]
    turnover = {"1", "4", "5", "6", "8", "11", "15"}
    lowcomp = {"1", "4", "5", "7", "11", "15", "16"}
    retake = pd.DataFrame(
        {
            "site": sites,
            "t": [int(s in turnover) for s in sites],
            "c": [int(s in lowcomp) for s in sites],
            "above": [int(s not in {"2", "9", "10", "13"}) for s in sites],
        }
    )
    tt = truth_table(retake, ["t", "c"], "above").set_index("row")
    assert tt.loc[4, "cases"] == "1,4,5,11,15" and tt.loc[4, "incl"] == 1
    assert tt.loc[1, "incl"] == pytest.approx(3 / 7) and tt.loc[1, "OUT"] == 0


def test_crisp_grouping_scales():
    """50,000 crisp cases with 3 conditions: grouped, not compared pairwise."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(0, 2, size=(50_000, 4)), columns=list("ABCY"))
    tt = truth_table(df, list("ABC"), "Y", case_col=None)
    assert tt["n"].sum() == 50_000 and len(tt) == 8
