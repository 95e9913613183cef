"""Markdown fragments and _variables.yml.

Expected values are computed here from the inputs each test builds (results rows,
the audit table, the manifest, the data files), or stated in the test."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pypandoc
import pytest
import yaml

from casereport import audit
from casereport.primitives import format as number_format
from casereport.primitives import markdown as md
from casereport.primitives import paths
from casereport.report import case_appendix, colophon, fragments, variables
from casereport.trialdata import codebook

SCRIPT = "<script>window.__pwned=1</script>"


def _html(markdown: str) -> str:
    """How Quarto's reader (pandoc Markdown, raw HTML allowed) would see the fragment."""
    return pypandoc.convert_text(markdown, "html", format="markdown")


def _results() -> pd.DataFrame:
    rows = [
        ("enrich_association", "ols_slope", 7.123, 1.5, 12.25, 0.0123, 7, "primary"),
        ("enrich_association", "ols_slope", 6.5, 0.2, 11.0, 0.04, 6, "weighted"),
        ("enrich_table2", "n_sites", 7, None, None, None, 7, "primary"),
        ("enrich_table2", "n_sites", 6, None, None, None, 6, "weighted"),
        ("enrich_association", "pearson_r", 0.8123, 0.2, 0.97, 0.0004, 7, "primary"),
        ("enrich_loo", "ols_slope_without_site_4", 9.0, 2.0, 16.0, 0.02, 6, "primary"),
        ("enrich_loo", "ols_slope_without_site_4", 8.0, 1.0, 15.0, 0.03, 5, "weighted"),
        ("case_profile", "engaged_site_3", 27, None, None, None, 34, "enrich-3"),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "analysis",
            "quantity",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "n",
            "parameter_set",
        ],
    )


def _manifest(sites=("3", "1", "10")) -> dict:
    runs = [
        {
            "run_id": "engagement_fidelity--primary",
            "notebook": "engagement_fidelity",
            "parameter_set": "primary",
            "parameters": {"enrich_csv": "data/enrich/enrich_sites.csv"},
            "inputs": {"data/enrich/enrich_sites.csv": "ab" * 32},
        },
    ]
    for s in sites:
        runs.append(
            {
                "run_id": f"case_profile--enrich-{s}",
                "notebook": "case_profile",
                "parameter_set": f"enrich-{s}",
                "parameters": {"trial": "enrich", "site": s},
            }
        )
    runs.append(
        {
            "run_id": "case_profile--retake-2",
            "notebook": "case_profile",
            "parameter_set": "retake-2",
            "parameters": {"trial": "retake", "site": "2"},
        }
    )
    return {"created": "2026-01-01T00:00:00+00:00", "runs": runs}


# ---------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "text",
    [SCRIPT, "a|b", "@key", "{{< include /etc/passwd >}}", "*x* _y_ [z](w) `c`", "# h", "1. x"],
)
def test_escape_shows_text_exactly(text):
    """md.escape: pandoc renders the escaped text as the original characters, no markup."""
    html = _html(md.escape(text))
    import html as h

    assert html.strip() == f"<p>{h.escape(text, quote=False)}</p>"


def test_table_escapes_cells_and_keeps_rows():
    """A pipe table with a '|' and a script in cells keeps 2 columns and escapes both."""
    html = _html(md.table(["site", "location"], [("1", SCRIPT), ("2", "a|b")]))
    assert html.count("<tr") == 3
    assert "<script" not in html and "&lt;script&gt;" in html and "a|b" in html


# ---------------------------------------------------------------- fragments


def test_write_fragments_writes_all_five(tmp_path):
    """write_fragments writes the five files named in the brief, nothing else."""
    fragments.write_fragments(tmp_path, _results(), audit.audit(paths.DATA_DIR), _manifest())
    names = sorted(p.name for p in (tmp_path / "fragments").iterdir())
    assert names == sorted(f"{n}.md" for n in fragments.FRAGMENTS)
    for p in (tmp_path / "fragments").iterdir():
        assert oct(p.stat().st_mode & 0o777) == "0o644"


def test_data_dictionary_lists_every_codebook_column():
    """Every (file, column) of codebook.data_dictionary() appears in the fragment."""
    text = fragments.data_dictionary_md()
    dd = codebook.data_dictionary()
    for file, group in dd.groupby("file"):
        assert f"`{file}`" in text
        for col in group["column"]:
            assert md.escape(col) in text


def test_audit_fragment_counts_match_the_audit():
    """The counts in the sentence are those of audit.audit() on data/; the article's
    table lists each check that does not reproduce with its status (one row each), the
    supplement's explains each (its explanation in full), and the supplement's list of all
    checks has one row each."""
    table = audit.audit(paths.DATA_DIR)
    text = fragments.audit_md(table)
    bad = table[table["status"] != "reproduced"]
    n_bad = len(bad)
    assert f"recomputed {len(table)} published numbers" in text
    assert f"{len(table) - n_bad} reproduce exactly" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ")][1:]
    assert len(rows) == n_bad and text.rstrip().endswith("{#tbl-audit-discrepancies}")
    assert 'ref="tbl-audit-explained"' in text
    explained = fragments.audit_explained_md(table)
    for expl in bad["explanation"]:
        assert md.escape(expl) in explained
    assert explained.rstrip().endswith("{#tbl-audit-explained}")
    full = fragments.audit_all_md(table)
    body = [ln for ln in full.splitlines() if ln.startswith("| ")][1:]
    assert len(body) == len(table) and full.rstrip().endswith("{#tbl-audit-all}")


def test_sensitivity_headline_and_appendix():
    """_results(): 'weighted' changed ols_slope and n_sites and left out pearson_r (blank),
    so those 3 headline rows show, labelled (report.quantities), grouped by analysis with
    its label once; the leave-one-out slope is not a headline estimate and shows only in the
    appendix table, which lists all 4. The case-profile set enrich-3 is no parameter set.
    Numbers by variables.fmt_estimate."""
    text = fragments.sensitivity_md(_results())
    assert "| Analysis | Estimate | primary | weighted |" in text
    assert (
        "| 7\\.12 \\(1\\.50 to 12\\.25\\), p \\= 0\\.012 "
        "| 6\\.50 \\(0\\.20 to 11\\.00\\), p \\= 0\\.040 |" in text
    )
    rows = [line.split(" | ")[:2] for line in text.splitlines() if line.startswith("| ")][1:]
    assert [r[1] for r in rows] == [
        md.escape("OLS slope (points of engagement % per fidelity point)"),
        md.escape("Pearson's r"),
        md.escape("Sites (n)"),
    ]
    assert [r[0] for r in rows] == ["| ENRICH association", "| ", "| ENRICH site table"]
    assert "without site 4" not in text and "enrich\\-3" not in text
    assert text.rstrip().endswith("{#tbl-sensitivity}")
    full = fragments.sensitivity_all_md(_results())
    label = "OLS slope (points of engagement % per fidelity point), without site 4"
    assert md.escape(label) in full
    assert full.rstrip().endswith("{#tbl-sensitivity-all}")


def test_sensitivity_unchanged_estimates_are_left_out():
    """A set that reproduces every primary estimate leaves nothing to show."""
    r = _results()
    same = r[r["parameter_set"] == "primary"].assign(parameter_set="copy")
    text = fragments.sensitivity_md(pd.concat([r[r["parameter_set"] == "primary"], same]))
    assert text == "The alternative parameter sets left every estimate unchanged.\n"


def _profile_results(sites=("3", "1", "10")) -> pd.DataFrame:
    """Case-profile rows as the case_profile notebook writes them: engagement of site s is
    float(s) + 0.2, its rank 1, and each site is a high-high case; RETAKE site 2 has
    OT turnover and is in the 'more than expected' group."""
    rows = []
    for s in sites:
        rows += [
            ("case_profile_enrich", f"engagement_pct_site_{s}", float(s) + 0.2),
            ("case_profile_enrich", f"rank_engagement_pct_site_{s}", 1),
            ("case_profile_enrich", f"high_high_site_{s}", 1.0),
            ("case_profile_enrich", f"low_low_site_{s}", 0.0),
        ]
    rows += [
        ("case_profile_retake", "mpm_site_2", 43.44),
        ("case_profile_retake", "rank_mpm_site_2", 16),
        ("case_profile_retake", "more_site_2", 1.0),
        ("case_profile_retake", "ot_turnover_site_2", 1),
        ("case_profile_retake", "low_competency_site_2", 0),
    ]
    return pd.DataFrame(rows, columns=["analysis", "quantity", "estimate"])


def test_case_appendix_follows_the_manifest():
    """One captioned table per trial, ENRICH before RETAKE; a row per case-profile run of
    _manifest, sites in natural order 1, 3, 10; each value with its rank in brackets, the
    classification and (RETAKE) the reasons, from _profile_results; no embed (Quarto would
    not resolve one inside a fragment)."""
    text = case_appendix.case_appendix_md(_manifest(), _profile_results())
    rows = [ln.split(" | ") for ln in text.splitlines() if ln.startswith("| ")]
    enrich = [r for r in rows if r[0] in ("| 1", "| 3", "| 10")]
    assert [r[0] for r in enrich] == ["| 1", "| 3", "| 10"]
    assert enrich[2][1] == "10\\.2 \\[1\\]"
    assert "high engagement, high fidelity" in " ".join(enrich[0])
    retake = [r for r in rows if r[0] == "| 2"]
    assert retake[0][1] == "43\\.4 \\[16\\]" and "OT turnover" in retake[0][-1]
    assert "more than expected" in " ".join(retake[0])
    assert text.index("{#tbl-profiles-enrich}") < text.index("{#tbl-profiles-retake}")
    assert "{{<" not in text


def test_case_appendix_escapes_site_names():
    """A site id holding markup is escaped in its table row."""
    man = {
        "runs": [
            {
                "run_id": "case_profile--enrich-x",
                "notebook": "case_profile",
                "parameter_set": "enrich-x",
                "parameters": {"trial": "enrich", "site": SCRIPT},
            }
        ]
    }
    res = pd.DataFrame([("case_profile_enrich", "n_sites", 1.0)],
                       columns=["analysis", "quantity", "estimate"])  # fmt: skip
    html = _html(case_appendix.case_appendix_md(man, res))
    assert "<script" not in html and "&lt;script&gt;" in html


def test_colophon_hashes_versions_parameters_commit():
    """Data hashes from the manifest's inputs; versions from importlib.metadata; each run's
    parameters; the git commit (this checkout is a git repository)."""
    import importlib.metadata as im

    text = colophon.colophon_md(_manifest())
    assert "`" + "ab" * 32 + "`" in text
    assert f"| pandas | {md.escape(im.version('pandas'))} |" in text
    assert "`case_profile--enrich-10`" in text and '`"enrich"`' not in text
    commit = colophon.git_commit()
    assert commit != "not a git checkout" and commit.split()[0] in text


def test_colophon_hashes_data_dir_without_manifest_inputs(tmp_path):
    """No inputs in the manifest: every file in the data folder, hashed with hashlib."""
    (tmp_path / "a.csv").write_text("x\n1\n")
    text = colophon.colophon_md({"runs": []}, tmp_path)
    assert hashlib.sha256(b"x\n1\n").hexdigest() in text


def test_git_commit_outside_a_checkout(tmp_path):
    """A folder that is not a git checkout says so (the brief's wording)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    os.environ.clear()
    os.environ.update({**env, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    try:
        assert colophon.git_commit(tmp_path) == "not a git checkout"
    finally:
        os.environ.clear()
        os.environ.update(env)


# ---------------------------------------------------------------- variables


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7, "7"),
        (7.0, "7"),
        (0.8123, "0.81"),
        (12.25, "12.3"),
        (0.145, "0.15"),
        (-1.5, "\u22121.50"),
        (-0.004, "0.00"),
        (113.4, "113"),
        (29120, "29,120"),
        (51.26, "51.3"),
        (float("nan"), ""),
        (None, ""),
    ],
)
def test_number_style(value, text):
    """Rules in the casereport.primitives.format docstring: half up in decimal (12.25 -> 12.3 where
    Python's round gives 12.2), U+2212 minus, no sign on a value that rounds to zero."""
    assert number_format.number(value) == text


def test_p_value_style_is_the_same_in_tables_and_prose():
    assert [number_format.p_value(p) for p in (0.0004, 0.0123, 0.5, None)] == [
        "<0.001",
        "0.012",
        "0.500",
        "",
    ]
    assert number_format.p_relation(0.0004) == "p < 0.001"


def test_write_variables_primary_only(tmp_path):
    """Keys for the primary rows of _results(): estimate, _lo/_hi/_ci, _p, _n; the
    sensitivity set 'weighted' under sets.weighted; the case-profile set 'enrich-3' not
    written; the file parses to the same dict."""
    path = tmp_path / "_variables.yml"
    got = variables.write_variables(_results(), path)
    assert got["enrich_association"]["ols_slope"] == "7.12"
    assert got["enrich_association"]["ols_slope_ci"] == "1.50 to 12.25"  # estimate's decimals
    assert got["enrich_association"]["pearson_r_p"] == "p < 0.001"
    assert got["enrich_association"]["ols_slope_p"] == "p = 0.012"
    assert got["enrich_table2"]["n_sites"] == "7"
    assert "case_profile" not in got
    assert got["sets"] == {
        "weighted": {
            "enrich_association": {
                "ols_slope": "6.50",
                "ols_slope_lo": "0.20",
                "ols_slope_hi": "11.00",
                "ols_slope_ci": "0.20 to 11.00",
                "ols_slope_p": "p = 0.040",
                "ols_slope_n": "6",
            },
            "enrich_table2": {"n_sites": "6", "n_sites_n": "6"},
            "enrich_loo": {
                "ols_slope_without_site_4": "8",  # whole numbers print without decimals
                "ols_slope_without_site_4_lo": "1",
                "ols_slope_without_site_4_hi": "15",
                "ols_slope_without_site_4_ci": "1 to 15",
                "ols_slope_without_site_4_p": "p = 0.030",
                "ols_slope_without_site_4_n": "5",
            },
        }
    }
    assert yaml.safe_load(path.read_text()) == got
    assert [p.name for p in tmp_path.iterdir()] == ["_variables.yml"]


def test_write_variables_audit_counts(tmp_path):
    """audit.* counts equal those of the audit table passed in (data/ here), and are read
    from an audit.csv beside the target when no table is passed."""
    table = audit.audit(paths.DATA_DIR)
    n_disc = int((table["status"] == "discrepancy").sum())
    n_nc = int((table["status"] == "not comparable").sum())
    n_read = int((table["status"] == "depends on reading").sum())
    got = variables.write_variables(_results(), tmp_path / "v.yml", audit=table)
    assert n_nc == 1  # the 62.5% overall engagement (another definition, 004 Background)
    assert (n_disc, n_read) == (5, 3)  # issue 19, item 8: the reviewer's split of the 8
    assert got["audit"] == {
        "checked": str(len(table)),
        "reproduced": str(len(table) - n_disc - n_read - n_nc),
        "discrepancies": str(n_disc),
        "depends_on_reading": str(n_read),
        "not_comparable": str(n_nc),
    }
    table.to_csv(tmp_path / "audit.csv", index=False)
    assert variables.write_variables(_results(), tmp_path / "w.yml")["audit"] == got["audit"]
