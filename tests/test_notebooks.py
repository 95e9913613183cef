"""Notebook contract (static) and integration runs under papermill (slow).

Static: one ``parameters`` cell with typed defaults, the labels the report embeds, fig-cap
and fig-alt on figure cells, tbl-cap on table cells, no committed outputs, parameter files
that only override notebook parameters.
Slow: every notebook runs on the real data and on the synthetic fixture trial (a different
number of sites); results CSVs have the tidy columns and the published values; one
notebook runs from notebooks/ as JupyterLab would. The real-data runs of the analysis
notebooks are the session's full build (conftest.py: papermill, every run executed), read
from its build/; the synthetic trial is executed here once, in a module-scoped fixture.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from casereport.primitives import paths, results

NOTEBOOKS = ["engagement_fidelity", "mentoring_time", "cross_case", "case_profile"]
LABELS = {  # docs/architecture.md, "Notebook contract"
    "engagement_fidelity": ["tbl-enrich-sites", "fig-enrich-scatter", "tbl-enrich-influence",
                            "tbl-enrich-stratum", "tbl-enrich-estimands", "tbl-enrich-missing",
                            "fig-enrich-missing", "tbl-enrich-cases", "tbl-enrich-cutoff-sweep"],
    "mentoring_time": ["tbl-retake-sites", "fig-retake-minutes", "fig-retake-caseload",
                       "tbl-retake-rates", "tbl-retake-correlations",
                       "tbl-retake-demographics"],
    "cross_case": ["tbl-qca-enrich", "tbl-qca-retake", "tbl-programme-theory", "tbl-synthesis",
                   "tbl-theory-map", "tbl-theory-map-list", "tbl-matrix-retake",
                   "tbl-matrix-enrich", "tbl-qca-enrich-calibration", "tbl-qca-enrich-necessity",
                   "tbl-qca-enrich-sweep",
                   "tbl-qca-enrich-sweep-negated", "tbl-qca-enrich-minimisation",
                   "tbl-qca-enrich-fuzzy"],
    "case_profile": ["profile-summary", "profile-figure"],
}  # fmt: skip
SYN = paths.TESTS_DIR / "fixtures" / "synthetic_trial"


def _nb(name: str) -> nbformat.NotebookNode:
    return nbformat.read(paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def cell_options(source: str) -> dict:
    """Quarto ``#|`` cell options (YAML) at the top of a cell."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[3:] if line.startswith("#| ") else line[2:])
    return yaml.safe_load("\n".join(lines)) or {} if lines else {}


# ------------------------------------------------------------------------- static


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_one_parameters_cell_with_typed_defaults(name):
    import papermill as pm

    nb = _nb(name)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    params = pm.inspect_notebook(str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"))
    n_lines = len([ln for ln in tagged[0].source.splitlines() if ln.strip()])
    assert len(params) == n_lines, "papermill could not parse every parameter line"
    for p in params.values():
        assert p["inferred_type_name"] not in ("None", ""), p
        assert p["help"], f"{p['name']} needs a comment"
    assert params["results_dir"]["default"] == '"build/results"'
    assert params["parameter_set"]["default"] == '"primary"'


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_labels_and_captions(name):
    opts = [cell_options(c.source) for c in _nb(name).cells if c.cell_type == "code"]
    labels = [o["label"] for o in opts if "label" in o]
    assert labels == LABELS[name]
    for o in opts:
        label = o.get("label", "")
        if label.startswith("fig-") or label == "profile-figure":
            assert o.get("fig-cap") and o.get("fig-alt"), label
        if label.startswith("tbl-"):
            assert o.get("tbl-cap"), label


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    nb = _nb(name)
    assert nb.metadata["kernelspec"]["name"] == paths.KERNEL_NAME
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    assert "../data" not in "".join(c.source for c in nb.cells)


def test_parameter_files_override_notebook_parameters_only():
    import papermill as pm

    # params/ (any trial) and each trial folder's own sets (data/<trial>/params/)
    files = sorted(paths.PARAMS_DIR.glob("*/*.yaml")) + sorted(
        paths.DATA_DIR.glob("*/params/*/*.yaml"))
    assert {f.parent.name for f in files} == {"engagement_fidelity", "mentoring_time",
                                              "cross_case"}  # fmt: skip
    for f in files:
        known = pm.inspect_notebook(str(paths.NOTEBOOKS_DIR / f"{f.parent.name}.ipynb"))
        overrides = yaml.safe_load(f.read_text()) or {}
        assert set(overrides) <= set(known) - {"results_dir", "parameter_set"}, f
    assert (paths.PARAMS_DIR / "engagement_fidelity" / "primary.yaml").exists()


# ------------------------------------------------------------------------- runs


def run(name: str, out_dir: Path, cwd: Path | None = None, **params) -> pd.DataFrame:
    """Execute a notebook with papermill; return its results CSV."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    params.setdefault("results_dir", str(out_dir / "results"))
    pm.execute_notebook(
        str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"),
        str(out_dir / f"{name}-{params.get('parameter_set', 'primary')}.ipynb"),
        parameters=params,
        kernel_name=paths.KERNEL_NAME,
        cwd=str(cwd) if cwd else None,
        progress_bar=False,
    )
    csvs = sorted(Path(params["results_dir"]).glob(f"{name}--*.csv"))
    df = results.read_results(csvs[-1])
    df.attrs["notebook"] = out_dir / f"{name}-{params.get('parameter_set', 'primary')}.ipynb"
    return df


def _sites(df: pd.DataFrame, analysis: str, cls: str) -> list[str]:
    hit = df[(df["analysis"] == analysis) & df["quantity"].str.startswith(f"{cls}_site_")]
    return sorted(q.removeprefix(f"{cls}_site_") for q in hit.loc[hit["estimate"] == 1, "quantity"])


def _n_sites(df: pd.DataFrame, analysis: str, stem: str) -> int:
    pat = re.compile(rf"^{stem}_site_[0-9a-z_]+$")
    return int(df[(df["analysis"] == analysis) & df["quantity"].str.match(pat)].shape[0])


def built_run(root: Path, run_id: str) -> pd.DataFrame:
    """A run of the session's full build: its results CSV, with its executed notebook."""
    df = results.read_results(root / "build" / "results" / f"{run_id}.csv")
    df.attrs["notebook"] = root / "build" / "runs" / f"{run_id}.ipynb"
    return df


@pytest.fixture(scope="module")
def real(built_project, tmp_path_factory):
    res = {n: built_run(built_project, f"{n}--primary")
           for n in ["engagement_fidelity", "mentoring_time", "cross_case"]}  # fmt: skip
    # as JupyterLab would: kernel started in notebooks/, root-relative defaults still resolve
    out = tmp_path_factory.mktemp("real")
    res["case_profile"] = run("case_profile", out, cwd=paths.NOTEBOOKS_DIR, site="2")
    return res


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    files = {
        "enrich_csv": str(SYN / "enrich" / "enrich_sites.csv"),
        "retake_csv": str(SYN / "retake" / "retake_sites.csv"),
        "factors_csv": str(SYN / "retake" / "retake_site_factors.csv"),
    }
    return {
        "engagement_fidelity": run("engagement_fidelity", out, enrich_csv=files["enrich_csv"]),
        "mentoring_time": run("mentoring_time", out, retake_csv=files["retake_csv"],
                              factors_csv=files["factors_csv"]),  # fmt: skip
        "cross_case": run("cross_case", out,
                          theory_csv=str(SYN / "retake" / "programme_theory.csv"),
                          **files),  # fmt: skip
        "case_profile": run("case_profile", out, trial="retake", site="4",
                            retake_csv=files["retake_csv"], factors_csv=files["factors_csv"]),
    }  # fmt: skip


@pytest.mark.slow
def test_real_results_are_tidy(real):
    for name, df in real.items():
        assert list(df.columns) == results.COLUMNS, name
        assert (df["parameter_set"] == "primary").all()
        assert df["analysis"].notna().all() and len(df) > 5


@pytest.mark.slow
def test_real_engagement_fidelity(real):
    df = real["engagement_fidelity"]
    assert _sites(df, "enrich_cases", "high_high") == ["3", "5"]
    assert _sites(df, "enrich_cases", "low_low") == ["4", "6"]
    assert _sites(df, "enrich_cases", "outlier") == ["2"]
    infl = df[df["analysis"] == "enrich_influence"]
    cooks = infl[infl["quantity"].str.startswith("cooks_d_site_")].set_index("quantity")
    assert cooks["estimate"].idxmax() == "cooks_d_site_2"  # the outlier has the largest D
    # issue 11: removing site 2 raises the slope (it weakens the association); removing the
    # highest-leverage site 6 moves it most toward zero (Table 2 of the paper, brute-force
    # refits in tests/test_enrich_limits.py)
    assert results.lookup(df, "enrich_influence", "removal_strengthens_site", "label") == "2"
    assert results.lookup(df, "enrich_influence", "removal_weakens_site", "label") == "6"
    assert results.lookup(df, "enrich_influence", "leverage_max_site", "label") == "6"
    assert results.lookup(df, "enrich_table2", "pct_engaged_published_site_4") == 41
    assert results.lookup(df, "enrich_table2", "n_pct_mismatches") == 1  # site 4 only
    assert results.lookup(df, "enrich_association", "pearson_r") > 0
    assert results.lookup(df, "enrich_association", "glm_quasi") in (0, 1)


@pytest.mark.slow
def test_real_mentoring_time(real):
    df = real["mentoring_time"]
    assert _sites(df, "retake_groups", "close") == ["10", "13", "9"]
    assert _sites(df, "retake_groups", "less") == ["2"]
    assert results.lookup(df, "retake_groups", "n_more") == 12
    assert results.lookup(df, "retake_table3", "n_ratio_mismatches") == 0
    assert results.lookup(df, "retake_table3", "total_ots") == 41
    assert _n_sites(df, "retake_table3", "minutes_per_month") == 16
    assert df[df["analysis"] == "retake_reason_ratios"].shape[0] == 35  # 5 factors x 7
    assert df[df["analysis"].str.startswith("retake_reason")]["p_value"].isna().all()


@pytest.mark.slow
def test_real_cross_case_and_profile(real):
    df = real["cross_case"]
    assert _sites(df, "synthesis_enrich", "outlier") == ["2"]
    assert results.lookup(df, "qca_enrich", "n_cases") == 7
    assert results.lookup(df, "qca_retake", "n_cases") == 16
    assert results.lookup(df, "programme_theory", "n_mechanism") == 9
    prof = real["case_profile"]
    assert results.lookup(prof, "case_profile_enrich", "outlier_site_2") == 1
    assert results.lookup(prof, "case_profile_enrich", "rank_fidelity_score_site_2") == 2


@pytest.mark.slow
def test_sensitivity_site4_published_pct(built_project):
    """The build's run of data/enrich/params/engagement_fidelity/site4_published_pct.yaml."""
    df = built_run(built_project, "engagement_fidelity--site4_published_pct")
    assert (df["parameter_set"] == "site4_published_pct").all()
    assert results.lookup(df, "enrich_table2", "pct_engaged_site_4") == pytest.approx(700 / 17)
    assert results.lookup(df, "enrich_table2", "n_pct_mismatches") == 0
    assert _sites(df, "enrich_cases", "low_low") == ["4", "6"]


@pytest.mark.slow
def test_synthetic_trial_nothing_hard_coded(synthetic):
    n_enrich = len(pd.read_csv(SYN / "enrich" / "enrich_sites.csv"))
    n_retake = len(pd.read_csv(SYN / "retake" / "retake_sites.csv"))
    assert (n_enrich, n_retake) != (7, 16)
    ef, mt = synthetic["engagement_fidelity"], synthetic["mentoring_time"]
    assert _n_sites(ef, "enrich_table2", "pct_engaged") == n_enrich
    assert _n_sites(ef, "enrich_loo", "ols_slope_without") == n_enrich
    assert results.lookup(ef, "enrich_table2", "n_sites") == n_enrich
    # issue 11: the limits analyses run on the other trial and give its own numbers
    syn = pd.read_csv(SYN / "enrich" / "enrich_sites.csv", dtype={"site": str})
    assert _n_sites(ef, "enrich_influence", "leverage") == n_enrich
    assert _n_sites(ef, "enrich_missing", "engaged_lower") == n_enrich
    share = 1 - syn["with_engagement_data"] / syn["offered_peer_support"]
    assert results.lookup(ef, "enrich_missing", "max_missing_site", "label") == str(
        syn["site"].iloc[int(share.to_numpy().argmax())]
    )  # the first site with the largest share without data, from the synthetic file
    nhs = syn["employer"] == "NHS"
    assert results.lookup(ef, "enrich_stratum", "n_sites_within") == nhs.sum()
    assert results.lookup(ef, "enrich_or_models", "n_models") == 5
    # 9 distinct tests among the estimands, less the primary's own (issue 19, item 2)
    assert results.lookup(ef, "enrich_sensitivity", "n_tests") == 8
    assert results.lookup(ef, "enrich_nonnormal", "kendall_exact") == 0  # ties in fidelity
    assert _n_sites(mt, "retake_table3", "minutes_per_month") == n_retake
    cc = synthetic["cross_case"]
    assert results.lookup(cc, "qca_enrich", "n_cases") == n_enrich
    assert results.lookup(cc, "qca_retake", "n_cases") == n_retake
    prof = synthetic["case_profile"]
    assert results.lookup(prof, "case_profile_retake", "rank_mpm_site_4", "n") == n_retake


@pytest.mark.slow
def test_labelled_cells_display_one_object(real):
    for name, df in real.items():
        nb = nbformat.read(df.attrs["notebook"], as_version=4)
        for c in nb.cells:
            label = cell_options(c.source).get("label", "") if c.cell_type == "code" else ""
            if not label:
                continue
            assert len(c.outputs) == 1, (name, label, c.outputs)
            data = c.outputs[0].get("data", {})
            kind = "image/png" if label.startswith("fig-") or label == "profile-figure" else (
                "text/markdown"
            )  # fmt: skip
            assert kind in data, (name, label, list(data))
