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

from casereport import audit, codebook, paths
from casereport import format as number_format
from casereport import markdown as md
from casereport.report import fragments, variables

SCRIPT = "<script>window.__pwned=1</script>"


def _html(markdown: str) -> str:
    """How Quarto's reader (pandoc Markdown, raw HTML allowed) would see the fragment."""
    return pypandoc.convert_text(markdown, "html", format="markdown")


def _results() -> pd.DataFrame:
    rows = [
        ("enrich_models", "ols_slope", 7.123, 1.5, 12.25, 0.0123, 7, "primary"),
        ("enrich_models", "ols_slope", 6.5, 0.2, 11.0, 0.04, 6, "weighted"),
        ("enrich_models", "n_sites", 7, None, None, None, 7, "primary"),
        ("enrich_models", "pearson_r", 0.8123, 0.2, 0.97, 0.0004, 7, "primary"),
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
            "parameters": {"enrich_csv": "data/enrich_sites.csv"},
            "inputs": {"data/enrich_sites.csv": "ab" * 32},
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
    """The counts in the sentence are those of audit.audit() on data/, and every
    discrepancy's explanation appears."""
    table = audit.audit(paths.DATA_DIR)
    text = fragments.audit_md(table)
    n_bad = int((table["status"] != "reproduced").sum())
    assert f"recomputed {len(table)} published numbers" in text
    assert f"{len(table) - n_bad} reproduce exactly" in text
    for expl in table.loc[table["status"] != "reproduced", "explanation"]:
        assert md.escape(expl) in text
    assert f'title="All {len(table)} audit checks"' in text


def test_sensitivity_sets_side_by_side():
    """_results(): 'weighted' ran enrich_models with a different ols_slope and without
    n_sites and pearson_r (blank), so those 3 rows show; the case-profile set enrich-3
    shares no quantity with primary and is left out. Numbers by variables.fmt_estimate."""
    text = fragments.sensitivity_md(_results())
    assert "| analysis | quantity | primary | weighted |" in text
    assert (
        "| 7\\.12 \\(1\\.50 to 12\\.25\\), p \\= 0\\.012 "
        "| 6\\.50 \\(0\\.20 to 11\\.00\\), p \\= 0\\.040 |" in text
    )
    rows = [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| enrich")]
    assert rows == ["ols\\_slope", "n\\_sites", "pearson\\_r"]
    assert "enrich\\-3" not in text


def test_sensitivity_unchanged_estimates_are_left_out():
    """A set that reproduces every primary estimate leaves nothing to show."""
    r = _results()
    same = r[r["parameter_set"] == "primary"].assign(parameter_set="copy")
    text = fragments.sensitivity_md(pd.concat([r[r["parameter_set"] == "primary"], same]))
    assert text == "The alternative parameter sets left every estimate unchanged.\n"


def test_case_appendix_follows_the_manifest():
    """One section per case-profile run (4 in _manifest), ENRICH before RETAKE, sites in
    natural order 1, 3, 10; two embeds each, by the labels in docs/architecture.md."""
    text = fragments.case_appendix_md(_manifest())
    heads = [line for line in text.splitlines() if line.startswith("### ")]
    assert [h.split(" {")[0] for h in heads] == [
        "### ENRICH site 1",
        "### ENRICH site 3",
        "### ENRICH site 10",
        "### RETAKE site 2",
    ]
    assert text.count("#profile-summary >}}") == 4 and text.count("#profile-figure >}}") == 4
    assert "{{< embed build/runs/case_profile--enrich-10.ipynb#profile-summary >}}" in text


def test_case_appendix_escapes_site_names():
    """A site id holding markup is escaped in the heading (the embed path uses the run id,
    which runs.slug has already made file-name safe)."""
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
    html = _html(fragments.case_appendix_md(man).split("{{<")[0])
    assert "<script" not in html and "&lt;script&gt;" in html


def test_colophon_hashes_versions_parameters_commit():
    """Data hashes from the manifest's inputs; versions from importlib.metadata; each run's
    parameters; the git commit (this checkout is a git repository)."""
    import importlib.metadata as im

    text = fragments.colophon_md(_manifest())
    assert "`" + "ab" * 32 + "`" in text
    assert f"| pandas | {md.escape(im.version('pandas'))} |" in text
    assert "`case_profile--enrich-10`" in text and '`"enrich"`' not in text
    commit = fragments.git_commit()
    assert commit != "not a git checkout" and commit.split()[0] in text


def test_colophon_hashes_data_dir_without_manifest_inputs(tmp_path):
    """No inputs in the manifest: every file in the data folder, hashed with hashlib."""
    (tmp_path / "a.csv").write_text("x\n1\n")
    text = fragments.colophon_md({"runs": []}, tmp_path)
    assert hashlib.sha256(b"x\n1\n").hexdigest() in text


def test_git_commit_outside_a_checkout(tmp_path):
    """A folder that is not a git checkout says so (the brief's wording)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    os.environ.clear()
    os.environ.update({**env, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    try:
        assert fragments.git_commit(tmp_path) == "not a git checkout"
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
    """Rules in the casereport.format docstring: half up in decimal (12.25 -> 12.3 where
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
    assert got["enrich_models"]["ols_slope"] == "7.12"
    assert got["enrich_models"]["ols_slope_ci"] == "1.50 to 12.25"  # estimate's decimals
    assert got["enrich_models"]["pearson_r_p"] == "p < 0.001"
    assert got["enrich_models"]["ols_slope_p"] == "p = 0.012"
    assert got["enrich_models"]["n_sites"] == "7"
    assert "case_profile" not in got
    assert got["sets"] == {
        "weighted": {
            "enrich_models": {
                "ols_slope": "6.50",
                "ols_slope_lo": "0.20",
                "ols_slope_hi": "11.00",
                "ols_slope_ci": "0.20 to 11.00",
                "ols_slope_p": "p = 0.040",
                "ols_slope_n": "6",
            }
        }
    }
    assert yaml.safe_load(path.read_text()) == got
    assert [p.name for p in tmp_path.iterdir()] == ["_variables.yml"]


def test_write_variables_audit_counts(tmp_path):
    """audit.* counts equal those of the audit table passed in (data/ here), and are read
    from an audit.csv beside the target when no table is passed."""
    table = audit.audit(paths.DATA_DIR)
    n_bad = int((table["status"] != "reproduced").sum())
    got = variables.write_variables(_results(), tmp_path / "v.yml", audit=table)
    assert got["audit"] == {
        "checked": str(len(table)),
        "reproduced": str(len(table) - n_bad),
        "discrepancies": str(n_bad),
    }
    table.to_csv(tmp_path / "audit.csv", index=False)
    assert variables.write_variables(_results(), tmp_path / "w.yml")["audit"] == got["audit"]
