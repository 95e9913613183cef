"""The reproduction audit: rounding convention, hand-computed oracles, the papers' findings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from casereport import audit
from casereport.cli import app
from casereport.primitives import paths, rounding


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return audit.audit(paths.DATA_DIR)


def _row(table: pd.DataFrame, id_: str) -> pd.Series:
    (row,) = table[table["id"] == id_].to_dict("records")
    return pd.Series(row)


# ------------------------------------------------------------------------ round_half_up


@pytest.mark.parametrize(
    ("x", "nd", "want"),
    [
        (58.5, 0, 59),  # 1053 / 18, RETAKE site 13: Python's round() gives 58
        (76.5, 0, 77),  # 612 / 8, RETAKE site 15: round() gives 76
        (8.5, 0, 9),  # 17 / 2
        (0.5, 0, 1),
        (2.5, 0, 3),
        (2.4999, 0, 2),
        (-2.5, 0, -3),  # halves go away from zero
        (0.145, 2, 0.15),  # binary 0.14499999... still rounds as printed
        (1.005, 2, 1.01),
        (61.5094, 1, 61.5),  # 163 / 265 x 100
        (88.65, 1, 88.7),
        (100, 1, 100.0),
        ("6.5", 0, 7),
    ],
)
def test_round_half_up(x, nd, want):
    """Hand-worked decimal rounding, halves up; cases marked differ from Python's round()."""
    got = rounding.round_half_up(x, nd)
    assert got == want
    assert isinstance(got, int if nd == 0 else float)


def test_python_round_would_have_been_wrong():
    """The reason round_half_up exists: banker's rounding turns 58.5 into 58, and the paper
    prints 59 for site 13."""
    assert round(58.5) == 58 and rounding.round_half_up(58.5) == 59


# ------------------------------------------------------------------------ the published data


def test_audit_columns_and_size(table):
    """Columns from the contract; 49 derived cells (7 sites x 2 ENRICH percentages + 16 sites
    x 2 RETAKE averages + the 3 printed percentages of Craven 2021 Table 1) and one row per
    claim in each trial's data/<trial>/published_claims.yaml."""
    import yaml

    n_claims = sum(
        len(yaml.safe_load(f.read_text(encoding="utf-8"))["claims"])
        for f in paths.DATA_DIR.glob("*/published_claims.yaml")
    )
    assert list(table.columns) == audit.COLUMNS
    assert (table["kind"] == "derived").sum() == 7 * 2 + 16 * 2 + 3
    assert (table["kind"] == "claim").sum() == n_claims
    assert set(table["status"]) <= set(audit.STATUSES)
    assert table["id"].is_unique


def test_rounding_halves_are_reproduced(table):
    """Hand oracles for the half cases in 001 Table 3: 1053/18 = 58.5 -> 59 (site 13),
    612/8 = 76.5 -> 77 (site 15), 17/2 = 8.5 -> 9 (site 2), 21/2 = 10.5 -> 11 (site 3),
    13/2 = 6.5 -> 7 (sites 12, 13), 11/2 = 5.5 -> 6 (site 16): all reproduced, none is a
    false alarm."""
    cases = {
        "retake_sites.minutes_per_month.site_13": (58.5, "59"),
        "retake_sites.minutes_per_month.site_15": (76.5, "77"),
        "retake_sites.participants_per_ot.site_2": (8.5, "9"),
        "retake_sites.participants_per_ot.site_3": (10.5, "11"),
        "retake_sites.participants_per_ot.site_12": (6.5, "7"),
        "retake_sites.participants_per_ot.site_13": (6.5, "7"),
        "retake_sites.participants_per_ot.site_16": (5.5, "6"),
    }
    for id_, (exact, shown) in cases.items():
        row = _row(table, id_)
        assert row["recomputed"] == exact
        assert row["recomputed_rounded"] == shown == row["published"]
        assert row["status"] == "reproduced"
        assert "half" in row["explanation"]


def test_all_retake_derived_cells_reproduce(table):
    """Every minutes-per-month and participants-per-OT cell of 001 Table 3 reproduces once
    halves round up (checked by hand: e.g. 2815/25 = 112.6 -> 113, 26/3 = 8.67 -> 9)."""
    retake = table[(table["kind"] == "derived") & (table["table"] == "retake_sites")]
    assert len(retake) == 32
    assert (retake["status"] == "reproduced").all()


def test_enrich_site_4_engagement_is_a_discrepancy(table):
    """004 Table 2, site 4: 8 engaged of 17 with data is 47.06%, printed as 41%. 7/17 =
    41.18% would print 41, so the count or the percentage is misprinted. Difference +6."""
    row = _row(table, "enrich_sites.pct_engaged.site_4")
    assert row["status"] == "discrepancy"
    assert row["recomputed_rounded"] == "47" and row["published"] == "41"
    assert row["difference"] == 6
    assert "engaged = 7" in row["explanation"]


def test_only_site_4_among_derived_cells(table):
    """The other 45 derived cells reproduce (hand check of ENRICH: 89/93 = 95.7 -> 96,
    61/89 = 68.54 -> 69, 17/33 = 51.5 -> 52, ...)."""
    derived = table[table["kind"] == "derived"]
    bad = derived.loc[derived["status"] == "discrepancy", "id"].tolist()
    assert bad == ["enrich_sites.pct_engaged.site_4"]


def test_claim_discrepancies(table):
    """The discrepancies in the papers' text, each hand-computed (clear errors, whatever the
    reading):
    - 88.6% lowest phone/Teams share (001/002/003): the table's lowest is 91.6 (site 3), +3.0;
    - 'eight main mechanisms' (000 Results): Table 1 lists 9, +1;
    - 20 peer workers (004): 5+5+3+3+2 = 18, -2;
    - Methods' denominator 'offered': 8/33 = 24% at site 4, not Table 2's 41%.
    Three depend on this report's reading (issue 19, item 8: the reviewer's list):
    - 'larger caseloads in sites 1 and 6' read as participants per OT: the top two are 9
      (22/2 = 11) and 3 (21/2 = 10.5), Table 3; per site they are 6 and 1;
    - 'five PWCs, one from each site' read as the 7 trial sites, +2 (5 case sites);
    - OT education 2 + 16 + 4 = 22 read as one qualification per OT against 16 with data, +6.
    And one not comparable: 62.5% overall engagement (004, from the trial report, at least two
    contacts) against Table 2's definition: 163/265 = 61.51% -> 61.5, -1.0."""
    claims = table[table["kind"] == "claim"].set_index("id")
    disc = claims[claims["status"] == "discrepancy"]
    assert set(disc.index) == {
        "retake_phone_teams_min",
        "theory_mechanisms_text",
        "enrich_peer_workers_analysed",
        "enrich_engagement_denominator_offered",
    }
    assert disc["difference"].dropna().round(6).to_dict() == {
        "retake_phone_teams_min": 3.0,
        "theory_mechanisms_text": 1.0,
        "enrich_peer_workers_analysed": -2.0,
    }
    assert disc.loc["retake_phone_teams_min", "recomputed_rounded"] == "91.6"
    assert "site 3" in disc.loc["retake_phone_teams_min", "explanation"]
    assert (disc["reading"] == "").all()
    read = claims[claims["status"] == "depends on reading"]
    assert set(read.index) == {
        "retake_larger_caseload_per_ot", "enrich_pwcs_one_per_site", "retake_t1_ot_education_sum"
    }
    assert read.loc["retake_larger_caseload_per_ot", "recomputed"] == "3; 9"
    assert read["difference"].dropna().round(6).to_dict() == {
        "enrich_pwcs_one_per_site": 2.0, "retake_t1_ot_education_sum": 6.0
    }
    for _, r in read.iterrows():
        assert r["reading"] and r["explanation"].startswith("depends on reading: " + r["reading"])
    assert "participants per OT" in read.loc["retake_larger_caseload_per_ot", "reading"]
    # the other reading of the caseload sentence reproduces (participants per site)
    assert claims.loc["retake_larger_caseload_participants", "status"] == "reproduced"
    nc = claims[claims["status"] == "not comparable"]
    assert list(nc.index) == ["enrich_overall_engagement"]
    assert nc.loc["enrich_overall_engagement", "difference"] == -1.0
    expl = nc.loc["enrich_overall_engagement", "explanation"]
    assert expl.startswith("not comparable: ") and "two contacts" in expl
    # the other reading of 'participants offered peer support': 163 / 291 = 56.0%
    assert "56.0" in expl


def test_true_false_checks_read_as_sentences(table):
    """A true/false claim shows 'holds' / 'does not hold', never 'True'; one that fails is
    explained as a sentence naming what the text states and where the data disagree (the
    Methods' denominator: by hand, only site 3 has everyone offered with data, 33/33)."""
    claims = table[table["kind"] == "claim"].set_index("id")
    tf = claims[claims["published"].isin(["holds", "does not hold"])]
    assert len(tf) == 7
    assert not table[["published", "recomputed", "recomputed_rounded", "explanation"]].apply(
        lambda c: c.astype(str).str.contains(r"\bTrue\b|\bFalse\b")).any().any()
    expl = claims.loc["enrich_engagement_denominator_offered", "explanation"]
    assert expl.startswith("The text states that Table 2's engaged % is reproduced")
    assert "in the data this does not hold (fails at site(s) 1; 2; 4; 5; 6; 7)" in expl


def test_a_reading_never_hides_a_reproduced_claim(tmp_path):
    """A claim with a reading that reproduces stays 'reproduced' (the status says what the
    check found; the reading is still recorded)."""
    folder = _copy_data(tmp_path)
    p = folder / "retake" / "published_claims.yaml"
    text = p.read_text(encoding="utf-8").replace(
        "    compute: {table: retake_sites, agg: count}\n",
        "    compute: {table: retake_sites, agg: count}\n"
        "    reading: sites as rows of Table 3\n", 1)
    p.write_text(text, encoding="utf-8")
    row = audit.audit(folder).set_index("id").loc["retake_n_sites"]
    assert row["status"] == "reproduced" and row["reading"] == "sites as rows of Table 3"


def test_turnover_claims_are_checked_against_table3(table):
    """Turnover from Table 3, not from the flags transcribed from the same sentence: two OTs
    recruited per site (001 Methods), so sites with > 2 OTs are 1 (3), 4 (4), 5 (3), 6 (3),
    8 (3), 11 (3), 15 (4): 7 sites, sum of (OTs - 2) = 1+2+1+1+1+1+2 = 9 (hand count from
    Table 3); site 2 has 2 OTs, consistent with its leaver never being replaced."""
    claims = table[table["kind"] == "claim"].set_index("id")
    assert claims.loc["retake_turnover_sites", "table"] == "retake_sites"
    assert claims.loc["retake_turnover_sites", "recomputed"] == "1; 4; 5; 6; 8; 11; 15"
    assert claims.loc["retake_leaver_sites", "recomputed_rounded"] == "7"
    assert claims.loc["retake_leavers_table3", "recomputed_rounded"] == "9"
    assert claims.loc["retake_site2_not_replaced", "recomputed"] == "holds"
    for cid in ("retake_turnover_sites", "retake_leaver_sites", "retake_leavers_table3"):
        assert claims.loc[cid, "status"] == "reproduced"


def test_table1_percentages_audited(table):
    """Craven 2021 Table 1: 1/19 = 5.26 -> 5.3, 18/19 = 94.74 -> 94.7, 6/6 = 100 (hand
    division); Band 6 + Band 7 = 12 + 7 = 19; OT employment 14 + 3 + 1 + 1 = 19."""
    t1 = table[table["table"] == "retake_demographics"].set_index("id")
    derived = t1[t1["kind"] == "derived"]
    assert sorted(derived["recomputed_rounded"]) == ["100", "5.3", "94.7"]
    assert (derived["status"] == "reproduced").all()
    for cid in ("retake_t1_ot_band_sum", "retake_t1_ot_gender_sum", "retake_t1_ot_employment_sum"):
        assert t1.loc[cid, "recomputed_rounded"] == "19" and t1.loc[cid, "status"] == "reproduced"


def test_claims_that_reproduce(table):
    """Hand-checked claims: 41 OTs (3+2+2+4+3+3+2+3+2+2+3+2+2+2+4+2), 16 sites, site 2 least
    per month at 1086/25 = 43.44 -> 43, sites 9, 10, 13 close to 60 (50.9, 54.8, 58.5), the
    other twelve 72.95 -> 73 to 121.08 -> 121, cases 3 and 5 the highest engagement."""
    claims = table[table["kind"] == "claim"].set_index("id")
    for id_, value in {
        "retake_total_ots": "41",
        "retake_n_sites": "16",
        "retake_least_mentoring_site": "2",
        "retake_least_mentoring_minutes": "43",
        "retake_close_to_60_sites": "9; 10; 13",
        "retake_more_time_count": "12",
        "retake_more_time_min": "73",
        "retake_more_time_max": "121",
        "enrich_high_engagement_sites": "3; 5",
        "enrich_low_engagement_sites": "4; 6",
        "theory_mechanisms": "9",
    }.items():
        assert claims.loc[id_, "recomputed_rounded"] == value, id_
        assert claims.loc[id_, "status"] == "reproduced", id_


# ------------------------------------------------------------------------ oracles on edits


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_half_rounded_down_is_flagged(tmp_path):
    """If the paper had printed 58 for 1053/18 = 58.5 (banker's rounding), the audit says
    discrepancy of +1: the convention is enforced, not merely tolerated."""
    folder = _copy_data(tmp_path)
    csv = folder / "retake" / "retake_sites.csv"
    _edit(csv, "13,18,1053,97.2,13,2,59,7", "13,18,1053,97.2,13,2,58,7")
    row = _row(audit.audit(folder), "retake_sites.minutes_per_month.site_13")
    assert row["status"] == "discrepancy" and row["difference"] == 1


def test_truncation_is_named(tmp_path):
    """61/89 = 68.54%: a printed 68 is what truncation gives; the explanation says so."""
    folder = _copy_data(tmp_path)
    _edit(folder / "enrich" / "enrich_sites.csv", "1,181,93,89,96,61,69,", "1,181,93,89,96,61,68,")
    row = _row(audit.audit(folder), "enrich_sites.pct_engaged.site_1")
    assert row["status"] == "discrepancy" and row["difference"] == 1
    assert "truncation" in row["explanation"]


def test_audit_without_claims_file(tmp_path):
    """A user's trial without published_claims.yaml still gets the 49 derived rows."""
    folder = _copy_data(tmp_path)
    for trial in ("enrich", "retake"):
        (folder / trial / "published_claims.yaml").unlink()
    table = audit.audit(folder)
    assert len(table) == 49 and set(table["kind"]) == {"derived"}


# ------------------------------------------------------------------------ run / CLI


def test_cli_audit_writes_csv_and_exits_0(tmp_path):
    """Discrepancies are findings: exit 0; --out writes the same table as audit()."""
    out = tmp_path / "sub" / "audit.csv"
    result = CliRunner().invoke(app, ["audit", "--out", str(out), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "| id | kind |" in result.output and "discrepancies" in result.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == audit.COLUMNS
    assert (written["status"] == "discrepancy").sum() == 5
    assert (written["status"] == "depends on reading").sum() == 3
    assert (written["status"] == "not comparable").sum() == 1
    assert "3 depend on reading, 1 not comparable" in result.output
    assert not list(out.parent.glob(".*.tmp"))  # atomic write leaves no temp file


def test_cli_audit_csv_format():
    """--format csv prints a CSV with the contract's header and nothing else."""
    result = CliRunner().invoke(app, ["audit", "--format", "csv"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == ",".join(audit.COLUMNS)


def test_cli_audit_on_invalid_data_fails_and_writes_nothing(tmp_path):
    """Invalid data (140%) -> exit 1, problems printed, no CSV written."""
    folder = _copy_data(tmp_path)
    _edit(folder / "enrich" / "enrich_sites.csv", "3,69,34,34,100,", "3,69,34,34,140,")
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(app, ["audit", "--data-dir", str(folder), "--out", str(out)])
    assert result.exit_code == 1
    assert "line 4" in result.output and not out.exists()


def test_bad_recipe_is_a_data_error(tmp_path):
    """A claim whose recipe names a column that does not exist stops the audit with a
    problem naming the claim (exit 1), rather than a traceback or a silent skip."""
    folder = _copy_data(tmp_path)
    claims_file = folder / "retake" / "published_claims.yaml"
    _edit(claims_file, "agg: sum, expr: ots}", "agg: sum, expr: otz}")
    with pytest.raises(audit.DataError) as info:
        audit.audit(folder)
    assert info.value.problems[0].column == "retake_total_ots.compute"
    result = CliRunner().invoke(app, ["audit", "--data-dir", str(folder)])
    assert result.exit_code == 1 and "retake_total_ots" in result.output


def test_unknown_recipe_is_caught_by_validate(tmp_path):
    """`casereport validate` checks the claims file too: an unknown agg is reported with the
    list of known ones."""
    from casereport.trialdata import validate

    folder = _copy_data(tmp_path)
    claims_file = folder / "retake" / "published_claims.yaml"
    _edit(claims_file, "agg: sum, expr: ots}", "agg: total, expr: ots}")
    (p,) = validate.validate_dir(folder).problems
    assert (
        p.file == "retake/published_claims.yaml"
        and p.value == "total"
        and "ratio_of_sums" in p.expected
    )
