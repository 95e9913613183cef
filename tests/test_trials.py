"""The registry of trial folders (casereport.trialdata.trials): discovery, trial.yaml checks, the
merged codebook, and the run plan and fingerprint that follow the folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casereport.pipeline import plan, state
from casereport.primitives import paths
from casereport.trialdata import codebook, trials, validate
from casereport.trialdata.codebook import DataError


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(paths.DATA_DIR, tmp_path / "data"))


def test_the_project_has_the_two_trial_folders():
    """data/enrich and data/retake, each with its shape, its site table and its own
    parameters (the values the papers' selections need, data/<trial>/trial.yaml)."""
    found = trials.discover()
    assert list(found) == ["enrich", "retake"]
    enrich, retake = found["enrich"], found["retake"]
    assert (enrich.name, enrich.shape) == ("ENRICH", "engagement_fidelity")
    assert (retake.name, retake.shape) == ("RETAKE", "mentoring_time")
    assert enrich.file("sites") == paths.ENRICH_CSV and retake.file("sites") == paths.RETAKE_CSV
    assert enrich.parameters["high_engagement"] == 70.0
    assert retake.parameters == {"expected_minutes_per_month": 60.0, "tolerance_minutes": 10.0}


def test_merged_codebook_lists_every_trials_resources_with_folder_paths():
    """One codebook for data/: the trials' resources in folder order, each path inside its
    trial folder (what validate, the audit and the data dictionary read)."""
    merged = codebook.load_package()
    assert [(r["name"], r["path"]) for r in merged["resources"]][:2] == [
        ("enrich_sites", "enrich/enrich_sites.csv"),
        ("retake_sites", "retake/retake_sites.csv"),
    ]
    assert {r["trial"] for r in merged["resources"]} == {"enrich", "retake"}


@pytest.mark.parametrize(
    "edit, key, expected",
    [
        (("code: enrich ", "code: other "), "code", "the folder's name 'enrich'"),
        (("shape: engagement_fidelity", "shape: ''"), "shape", "the analysis shape"),
        (("  sites: enrich_sites", "  sites: nope"), "tables.sites", "one of the resources"),
        (("  engaged: engaged ", "  engaged: n_engaged "), "roles.engaged", "a column of"),
    ],
)
def test_a_bad_trial_yaml_is_one_problem_naming_file_and_key(tmp_path, edit, key, expected):
    """Each mistake in a trial.yaml is reported with the file, the key and what was
    expected; validation stops there (no table is read with a wrong mapping)."""
    data = _copy(tmp_path)
    spec = data / "enrich" / "trial.yaml"
    text = spec.read_text(encoding="utf-8")
    assert edit[0] in text
    spec.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    problems = validate.validate_dir(data).problems
    assert [(p.file, p.column) for p in problems] == [("enrich/trial.yaml", key)]
    assert problems[0].expected.startswith(expected)
    with pytest.raises(DataError, match="enrich/trial.yaml"):
        trials.discover(data)


def test_a_folder_without_trials_says_what_it_needs(tmp_path):
    problems = validate.validate_dir(tmp_path).problems
    assert len(problems) == 1 and "trial.yaml" in problems[0].expected


def test_two_trials_may_not_share_a_resource_name(tmp_path):
    """Resource names key the validated tables and the audit's recipes, so they are unique
    across trial folders."""
    data = _copy(tmp_path)
    shutil.copytree(data / "enrich", data / "enrich2")
    spec = data / "enrich2" / "trial.yaml"
    spec.write_text(spec.read_text().replace("code: enrich ", "code: enrich2 "))
    problems = validate.validate_dir(data).problems
    assert [(p.file, p.value) for p in problems] == [("enrich2/datapackage.json", "enrich_sites")]


def test_trial_parameter_sets_and_parameters_reach_the_plan():
    """The sets naming ENRICH's sites live in data/enrich/params/ and still become runs;
    every run of a trial's shape gets the trial's parameters (trial.yaml)."""
    runs = {r.run_id: r for r in plan.plan()}
    assert {"engagement_fidelity--without_site_6", "engagement_fidelity--site4_published_pct",
            "engagement_fidelity--without_site_2", "engagement_fidelity--primary"} <= set(runs)
    assert runs["engagement_fidelity--without_site_6"].parameters["exclude_sites"] == ["6"]
    assert runs["engagement_fidelity--primary"].parameters["low_fidelity"] == 9.5
    assert runs["mentoring_time--primary"].parameters["tolerance_minutes"] == 10.0
    assert "high_engagement" not in runs["mentoring_time--primary"].parameters
    assert runs["case_profile--retake-3"].parameters["expected_minutes_per_month"] == 60.0


def test_a_trial_parameter_changes_its_runs(tmp_path):
    """A cut-off edited in a copy's trial.yaml reaches every run of that trial (the build
    passes it), and nothing else: the RETAKE runs keep theirs."""
    data = _copy(tmp_path)
    spec = data / "enrich" / "trial.yaml"
    spec.write_text(spec.read_text().replace("high_engagement: 70.0", "high_engagement: 75.0"))
    runs = {r.run_id: r for r in plan.plan(data)}
    assert runs["engagement_fidelity--primary"].parameters["high_engagement"] == 75.0
    assert runs["case_profile--enrich-1"].parameters["high_engagement"] == 75.0
    assert runs["cross_case--primary"].parameters["high_engagement"] == 75.0
    assert "high_engagement" not in runs["case_profile--retake-1"].parameters


def test_fingerprint_sees_a_cell_inside_a_trial_folder(tmp_path):
    """The no-op build compares a fingerprint of data/: a change to a file inside a trial
    folder must change it (else the build would skip a real data change)."""
    data = _copy(tmp_path)
    before = state.fingerprint(data)
    csv = data / "enrich" / "enrich_sites.csv"
    csv.write_text(csv.read_text().replace("\n4,71,33,17,52,8,", "\n4,71,33,17,52,7,"))
    assert state.fingerprint(data) != before


def test_a_case_profile_follows_the_trial_folders_shape(tmp_path):
    """A copy of ENRICH's folder under another code is profiled in the engagement-fidelity
    shape and named by its trial.yaml (not by a list of trial codes); a code with no folder
    among the paths is an error, never another trial's branch. Expected: site 3's engagement
    27/34 = 79.4% ranks 2nd of 7 (Gillard 2024, Table 2; site 5's 16/20 = 80% is 1st)."""
    from casereport.analyses.case_profile import analysis as profile

    data = _copy(tmp_path)
    peers = data / "peers"
    shutil.copytree(data / "enrich", peers)
    spec = peers / "trial.yaml"
    spec.write_text(spec.read_text().replace("code: enrich ", "code: peers ")
                    .replace("name: ENRICH ", "name: PEERS "))
    cut = trials.get("enrich").parameters
    p = profile.from_files("peers", "3", enrich_csv=str(peers / "enrich_sites.csv"),
                           cutoffs=cut)
    assert (p.shape, p.trial_label) == ("engagement_fidelity", "PEERS")
    assert p.rows[0]["analysis"] == "case_profile_peers"
    ranks = {r["quantity"]: r["estimate"] for r in p.rows}
    assert ranks["rank_engagement_pct_site_3"] == 2
    with pytest.raises(ValueError, match="no trial folder 'nope'"):
        profile.from_files("nope", "3", enrich_csv=str(peers / "enrich_sites.csv"))
