"""`casereport diff` on hand-made builds: what counts as a conclusion, what is noise, and
the bad inputs (no such ref, an older results format, different trials), without notebooks.

Expected values are hand calculations on the rows written here; the end-to-end tests on
real edits of data/ are in tests/test_diff_git.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from casereport import cli
from casereport.diff import compare, sides
from casereport.diff import conclusions as d
from casereport.diff import data_cells as data_diff
from casereport.diff import markdown as changes
from casereport.primitives import paths
from casereport.primitives.labels import ALPHA


def _row(analysis, quantity, est, lo=None, hi=None, p=None, n=7, pset="primary"):
    return dict(
        analysis=analysis,
        quantity=quantity,
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n=n,
        parameter_set=pset,
    )


def _frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).astype(
        {"estimate": float, "ci_low": float, "ci_high": float, "p_value": float}
    )


def _one(base_row, head_row, tol=None) -> list[d.Change]:
    return d.compare_results(_frame(base_row), _frame(head_row), tol or d.Tolerances())


def test_sign_change_is_a_conclusion():
    """A slope from +0.4 to −0.2 changes sign (and moves by 0.6 > 0.005)."""
    out = _one(_row("a", "ols_slope", 0.4), _row("a", "ols_slope", -0.2))
    assert [(c.category, c.what) for c in out] == [("conclusion", "sign"), ("moved", "estimate")]


def test_ratio_null_is_one():
    """An odds ratio's interval 1.1–2.0 (excludes 1) becomes 0.9–2.0 (includes 1); its
    estimate stays above 1 and 0, so no sign change is flagged."""
    out = _one(
        _row("a", "glm_odds_ratio", 1.5, 1.1, 2.0), _row("a", "glm_odds_ratio", 1.4, 0.9, 2.0)
    )
    assert [c.what for c in out if c.category == "conclusion"] == ["interval now includes 1"]
    assert d.null_of("rate_ratio_ot_turnover") == 1 and d.null_of("ols_slope") == 0


def test_difference_interval_leaving_zero():
    """A difference's interval −0.1 to 0.5 (includes 0) becomes 0.1 to 0.5 (excludes 0)."""
    out = _one(_row("a", "diff", 0.2, -0.1, 0.5), _row("a", "diff", 0.3, 0.1, 0.5))
    assert [c.what for c in out if c.category == "conclusion"] == ["interval no longer includes 0"]


def test_p_crossing_alpha_and_not():
    """p 0.049 -> 0.051 crosses α = 0.05; 0.022 -> 0.021 does not (both below)."""
    assert ALPHA == 0.05
    crossed = _one(_row("a", "r", 0.8, p=0.049), _row("a", "r", 0.8, p=0.051))
    assert [c.what for c in crossed if c.category == "conclusion"] == ["p no longer below α = 0.05"]
    same = _one(_row("a", "r", 0.8, p=0.022), _row("a", "r", 0.8, p=0.021))
    assert not [c for c in same if c.category == "conclusion"]


def test_below_displayed_precision_is_counted_not_moved():
    """0.8162 -> 0.8164 both display as 0.82 (two decimals below 10: tolerance 0.005);
    12.34 -> 12.36 display 12.3 / 12.4 (one decimal: tolerance 0.05) but differ by 0.02."""
    out = _one(_row("a", "r", 0.8162), _row("a", "r", 0.8164))
    assert [c.category for c in out] == ["below"]
    out = _one(_row("a", "s", 12.34), _row("a", "s", 12.36))
    assert [c.category for c in out] == ["below"]
    out = _one(_row("a", "s", 12.34), _row("a", "s", 12.44))
    assert [c.category for c in out] == ["moved"]


def test_tolerance_is_configurable_per_quantity(tmp_path):
    """With 'a.r: 0.1' a move of 0.05 is below tolerance; without it, it moved."""
    rules = tmp_path / "tol.yaml"
    rules.write_text("a.r: 0.1\n")
    tol = d.Tolerances.from_yaml(rules)
    assert [c.category for c in _one(_row("a", "r", 0.80), _row("a", "r", 0.85), tol)] == ["below"]
    assert [c.category for c in _one(_row("a", "r", 0.80), _row("a", "r", 0.85))] == ["moved"]


def test_added_and_removed_results():
    base = _frame(_row("a", "x", 1.0))
    head = _frame(_row("a", "y", 1.0))
    cats = sorted(c.category for c in d.compare_results(base, head, d.Tolerances()))
    assert cats == ["added", "removed"]


def _onehot(analysis, site, cls, classes):
    return [_row(analysis, f"{c}_site_{site}", float(c == cls), n=None) for c in classes]


def test_case_type_change_is_one_conclusion_per_site():
    """Site 4 low-low -> outlier in two analyses gives one conclusion naming both."""
    classes = ["high_high", "low_low", "outlier", "other"]
    base = _frame(
        *_onehot("enrich_cases", "4", "low_low", classes),
        *_onehot("synthesis_enrich", "4", "low_low", classes),
    )
    head = _frame(
        *_onehot("enrich_cases", "4", "outlier", classes),
        *_onehot("synthesis_enrich", "4", "outlier", classes),
    )
    out = d.compare_classifications(base, head)
    assert [(c.category, c.what, c.old, c.new) for c in out] == [
        ("conclusion", "case type", "low-low", "outlier")
    ]
    assert "ENRICH site 4" in out[0].where and "synthesis_enrich" in out[0].where
    assert not d.compare_results(base, head, d.Tolerances())  # not repeated as estimates


def test_mentoring_group_and_truth_table_outcome():
    classes = ["less", "close", "more"]
    base = _frame(
        *_onehot("retake_groups", "9", "close", classes),
        _row("qca_retake", "out_row_2", 1.0),
        _row("qca_retake", "out_row_3", None),
    )
    head = _frame(
        *_onehot("retake_groups", "9", "more", classes),
        _row("qca_retake", "out_row_2", 0.0),
        _row("qca_retake", "out_row_3", None),
    )
    out = d.compare_classifications(base, head) + d.compare_truth_tables(base, head)
    assert [(c.what, c.old, c.new) for c in out] == [
        ("mentoring group", "close", "more"),
        ("outcome", "1", "0"),
    ]


def test_audit_verdicts_are_open_strings():
    """A new status ("not comparable") is compared like any other; a recomputed value whose
    rounded display is unchanged is below precision."""
    cols = ["id", "status", "recomputed", "recomputed_rounded"]
    base = pd.DataFrame(
        [["x", "discrepancy", "47.0588", "47"], ["y", "reproduced", "9.51", "10"]], columns=cols
    )
    head = pd.DataFrame(
        [["x", "not comparable", "41.1765", "41"], ["y", "reproduced", "9.52", "10"]], columns=cols
    )
    out = d.compare_audit(base, head)
    assert [(c.category, c.what, c.where) for c in out] == [
        ("conclusion", "verdict", "x"),
        ("moved", "recomputed", "x"),
        ("below", "recomputed", "y"),
    ]


def test_data_cells_by_site_and_column(tmp_path):
    """One edited cell is named by file, site and column, old -> new."""
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(paths.DATA_DIR, a)
    shutil.copytree(paths.DATA_DIR, b)
    csv = b / "enrich" / "enrich_sites.csv"
    csv.write_text(csv.read_text().replace("\n4,71,33,17,52,8,", "\n4,71,33,17,52,7,"))
    out = data_diff.compare_data(a, b)
    assert [(c.what, c.where, c.old, c.new) for c in out] == [
        ("engaged", "enrich/enrich_sites.csv: site 4", "8", "7")
    ]
    assert data_diff.compare_data(a, a) == []


def test_markdown_empty_and_appendix():
    assert changes.diff_md([], "main", "HEAD").count("No change") == 1
    assert "No result changed" in changes.summary_line([], ["mentoring_time--primary"])
    rows = [
        dict(
            category="conclusion",
            section="audit",
            what="verdict",
            where="x",
            old="discrepancy",
            new="reproduced",
        )
    ]
    app = changes.appendix_md(rows, "main")
    assert app.startswith("## Changes since main {#sec-changes}")
    assert "{#tbl-changes}" in app and "| audit\\: verdict | x | discrepancy | reproduced |" in app


def test_comment_cut_to_githubs_limit_keeps_conclusions_first():
    """GitHub refuses a pull-request comment over 65,536 characters (its REST API's limit on
    an issue comment body). 2,000 moved estimates make a summary far over it: the comment
    version keeps whole lines up to the limit, starts as the full summary does (heading,
    count line, conclusions), and says how many lines it shows. A summary under the limit is
    returned unchanged."""
    row = dict(category="conclusion", section="audit", what="verdict", where="x",
               old="discrepancy", new="reproduced")
    moved = [dict(category="moved", section="enrich", what=f"estimate {i}", where="ols",
                  old=f"{i}.0", new=f"{i}.5") for i in range(2000)]
    full = changes.diff_md([row, *moved], "main", "HEAD")
    assert len(full) > 65_536
    cut = changes.fit(full)
    assert len(cut) <= changes.COMMENT_LIMIT < 65_536
    kept = cut.split("\n\n*Cut to fit")[0]
    assert full.startswith(kept) and "Conclusions that changed (1)" in kept
    shown = len(kept.splitlines())
    assert f"{shown} of {len(full.splitlines())} lines shown" in cut
    assert changes.fit(changes.diff_md([row], "main", "HEAD")) == changes.diff_md(
        [row], "main", "HEAD")


# ------------------------------------------------------------------ CLI and bad input


def _fake_build(folder: Path, trial: str = "T", results: pd.DataFrame | None = None) -> Path:
    """A minimal build folder of the current results format."""
    (folder / "results").mkdir(parents=True)
    res = results if results is not None else _frame(_row("a", "r", 0.5))
    res.to_csv(folder / "results" / "all_results.csv", index=False)
    pd.DataFrame(
        [["x", "reproduced", "1", "1"]],
        columns=["id", "status", "recomputed", "recomputed_rounded"],
    ).to_csv(folder / "audit.csv", index=False)
    manifest = {"runs": [], "results_format": sides.RESULTS_FORMAT, "trial": trial}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _diff(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["diff", *args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_same_build_is_empty_exit_0(tmp_path, capsys):
    b = _fake_build(tmp_path / "b")
    code, out, _ = _diff([str(b), str(b), "--json", str(tmp_path / "d.json")], capsys)
    assert code == 0 and "No change" in out
    assert json.loads((tmp_path / "d.json").read_text())["changes"] == []


def test_changes_exit_1_and_fail_on_conclusions(tmp_path, capsys):
    """0.5 -> 0.6 moved (exit 1), but no conclusion changed (exit 0 with --fail-on)."""
    a = _fake_build(tmp_path / "a")
    b = _fake_build(tmp_path / "b", results=_frame(_row("a", "r", 0.6)))
    assert _diff([str(a), str(b), "--csv", str(tmp_path / "d.csv")], capsys)[0] == 1
    assert pd.read_csv(tmp_path / "d.csv")["category"].tolist() == ["moved"]
    assert _diff([str(a), str(b), "--fail-on", "conclusions"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda t: [_fake_build(t / "a", "ENRICH and RETAKE"), _fake_build(t / "b", "Other")],
            "different trials",
        ),
        (
            lambda t: [
                _fake_build(t / "a"),
                _fake_build(
                    t / "b", results=_frame(_row("a", "r", 0.5)).drop(columns="parameter_set")
                ),
            ],
            "results format",
        ),
        (lambda t: [_fake_build(t / "a"), t / "not-a-build"], "is not a build folder"),
        (lambda t: [_fake_build(t / "a"), "no-such-ref-xyz"], "neither a build folder nor"),
    ],
)
def test_bad_sides_exit_2_with_a_message(make, says, tmp_path, capsys):
    """No traceback: one message naming the problem, exit 2."""
    (tmp_path / "not-a-build").mkdir()
    a, b = make(tmp_path)
    code, _, err = _diff([str(a), str(b)], capsys)
    assert code == 2 and says in err and "Traceback" not in err, err


def test_compare_is_whole_diff(tmp_path):
    """compare() puts conclusions first and counts below-precision changes last."""
    a = sides.load(
        _fake_build(
            tmp_path / "a", results=_frame(_row("a", "r", 0.8, p=0.04), _row("a", "s", 0.8162))
        ),
        "a",
    )
    b = sides.load(
        _fake_build(
            tmp_path / "b", results=_frame(_row("a", "r", 0.8, p=0.06), _row("a", "s", 0.8164))
        ),
        "b",
    )
    out = compare.compare(a, b)
    assert [c.category for c in out.changes] == ["conclusion", "moved", "below"]
