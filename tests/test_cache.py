"""Unit tests of the content-hash run cache and the run plan (no kernels)."""

from __future__ import annotations

import hashlib
import os

import nbformat
import pytest

from casereport.pipeline import cache
from casereport.pipeline import plan as runs
from casereport.primitives import paths


def _nb(path, source="x = 1", outputs=None):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    if outputs:
        cell.outputs = outputs
        cell.execution_count = 3
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


def test_sha256_file_matches_hashlib(tmp_path):
    """Oracle: hashlib over the same bytes."""
    f = tmp_path / "a.csv"
    f.write_bytes(b"site,x\n1,2\n" * 1000)
    assert cache.sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_key_ignores_outputs_and_timestamps_but_not_code(tmp_path):
    """Stored outputs or a touched file leave the key alone; a changed source line does not."""
    data = tmp_path / "d.csv"
    data.write_text("site\n1\n")
    nb = _nb(tmp_path / "n.ipynb")
    k1 = cache.run_key(nb, {"a": 1}, [data], "pkg").key
    _nb(nb, outputs=[nbformat.v4.new_output("stream", text="hi")])
    os.utime(data, (1, 1))
    assert cache.run_key(nb, {"a": 1}, [data], "pkg").key == k1
    _nb(nb, source="x = 2")
    assert cache.run_key(nb, {"a": 1}, [data], "pkg").key != k1


def test_key_changes_with_data_content_parameters_and_package(tmp_path):
    """Each input of the key matters on its own."""
    data = tmp_path / "d.csv"
    data.write_text("site\n1\n")
    nb = _nb(tmp_path / "n.ipynb")
    base = cache.run_key(nb, {"a": 1}, [data], "pkg").key
    assert cache.run_key(nb, {"a": 2}, [data], "pkg").key != base
    assert cache.run_key(nb, {"a": 1}, [data], "pkg2").key != base
    data.write_text("site\n2\n")
    assert cache.run_key(nb, {"a": 1}, [data], "pkg").key != base


def test_cache_put_is_all_or_nothing(tmp_path):
    """An entry is visible only once complete; a failure while writing leaves nothing."""
    store = cache.RunCache(tmp_path, src=tmp_path)
    assert store.get("k") is None
    d = store.put("k", "{}", {"r.csv": "a\n1\n"}, {"run_id": "x"}, {})
    assert store.get("k") == d and (d / "results" / "r.csv").read_text() == "a\n1\n"

    class Boom(dict):
        def items(self):
            raise OSError("disk full")

    with pytest.raises(OSError):
        store.put("k2", "{}", Boom(), {}, {})
    assert store.get("k2") is None
    assert not [p for p in (tmp_path / "runs").rglob(".*")]


def test_entry_is_valid_only_while_the_modules_it_loaded_are_unchanged(tmp_path):
    """The package files a run's kernel loaded are its dependencies: editing one of them
    invalidates the entry, editing any other package file does not, and a re-run stores a
    second entry beside the first without touching it (returning to the old code hits
    the old entry again)."""
    src = tmp_path / "src"
    (src / "analyses").mkdir(parents=True)
    (src / "analyses" / "profile.py").write_text("a = 1\n")
    (src / "pipeline.py").write_text("a = 1\n")
    store = cache.RunCache(tmp_path, src=src)
    deps = cache.dependency_hashes(["analyses/profile.py"], src)
    first = store.put("k", "{}", {}, {}, deps)
    assert store.get("k") == first
    (src / "pipeline.py").write_text("a = 2\n")  # not loaded by the run
    assert store.get("k") == first
    (src / "analyses" / "profile.py").write_text("a = 2\n")
    assert store.get("k") is None
    second = store.put("k", "{}", {}, {}, cache.dependency_hashes(["analyses/profile.py"], src))
    assert second != first and store.get("k") == second and first.is_dir()
    (src / "analyses" / "profile.py").write_text("a = 1\n")
    assert store.get("k") == first
    (src / "analyses" / "profile.py").unlink()
    assert store.get("k") is None


def test_environment_hash_follows_the_lock(tmp_path, monkeypatch):
    """The pins are in every key; package code is not (it is tracked per run from what the
    kernel loaded), nor are the trial codebooks (inputs of the runs that read them)."""
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "lock.txt").write_text("a==1\n")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    h = cache.environment_hash()
    (tmp_path / "requirements" / "lock.txt").write_text("a==2\n")
    assert cache.environment_hash() != h


def test_a_trial_folders_codebook_and_trial_yaml_are_inputs_of_its_readers(tmp_path):
    """A file in a trial folder brings the folder's datapackage.json and trial.yaml into the
    run's inputs (how it is typed and mapped), so a codebook edit re-runs its readers and
    adding another trial's folder re-runs nothing of this one."""
    trial = tmp_path / "t"
    trial.mkdir()
    for name in ("trial.yaml", "datapackage.json", "t_sites.csv", "other.csv"):
        (trial / name).write_text("x\n")
    found = runs.input_files({"csv": str(trial / "t_sites.csv")})
    assert [p.name for p in found] == ["datapackage.json", "t_sites.csv", "trial.yaml"]


def test_input_files_finds_existing_data_paths_only(tmp_path):
    """String parameters that name files are inputs; other strings are not."""
    f = tmp_path / "x.csv"
    f.write_text("a\n")
    found = runs.input_files({"csv": str(f), "label": "primary", "sites": [str(f)], "n": 3,
                              "missing": str(tmp_path / "nope.csv")})
    assert found == [f]


def test_slug_makes_safe_file_names():
    """Site ids come from data and may hold any character."""
    assert paths.safe_name("enrich-3") == "enrich-3"
    assert paths.safe_name("<script>x</script>") == "script_x_script"
    assert paths.safe_name("///") == "x"


def test_case_profile_runs_read_only_their_trials_files():
    """A RETAKE profile's inputs are the RETAKE tables; an ENRICH profile's, the ENRICH table
    (profile.from_files loads only the named trial's files)."""
    plan = [r for r in runs.plan(notebooks=["case_profile"])]
    enrich = next(r for r in plan if r.parameter_set.startswith("enrich-"))
    retake = next(r for r in plan if r.parameter_set.startswith("retake-"))
    names = lambda r: {p.name for p in runs.input_files(runs.effective_parameters(r), r.reads)}  # noqa: E731
    folder = {"datapackage.json", "trial.yaml"}  # each trial folder's own
    assert names(enrich) == {"enrich_sites.csv"} | folder
    assert names(retake) == {"retake_sites.csv", "retake_site_factors.csv"} | folder


def test_plan_has_one_case_profile_per_site_and_every_parameter_set():
    """7 ENRICH + 16 RETAKE sites in data/ (the papers' tables); 3 ENRICH parameter sets."""
    plan = runs.plan()
    ids = [r.run_id for r in plan]
    assert len(set(ids)) == len(ids)
    assert sum(i.startswith("case_profile--enrich-") for i in ids) == 7
    assert sum(i.startswith("case_profile--retake-") for i in ids) == 16
    assert {i for i in ids if i.startswith("engagement_fidelity--")} == {
        "engagement_fidelity--primary", "engagement_fidelity--without_site_2",
        "engagement_fidelity--without_site_6",
        "engagement_fidelity--site4_published_pct"}


def test_unknown_parameter_in_a_set_file_is_a_clear_error(tmp_path, monkeypatch):
    """A typo in params/<notebook>/<set>.yaml names the file and the valid parameters."""
    pdir = tmp_path / "params" / "mentoring_time"
    pdir.mkdir(parents=True)
    (pdir / "typo.yaml").write_text("expected_minutes_per_mnth: 50\n")
    monkeypatch.setattr(paths, "PARAMS_DIR", tmp_path / "params")
    with pytest.raises(runs.PlanError, match="typo.yaml: unknown parameter.*minutes_per_mnth"):
        runs.plan(notebooks=["mentoring_time"])


def test_forced_rerun_replaces_the_entry_and_a_concurrent_store_keeps_it(tmp_path):
    """``build --force`` stores the run it just executed (``replace=True``): the entry then
    holds the new notebook, and no staging or set-aside folder is left. Without
    ``replace`` (another build stored the same run meanwhile) the first entry is kept."""
    store = cache.RunCache(tmp_path, src=tmp_path)
    first = store.put("k", '{"run": 1}', {"r.csv": "a\n1\n"}, {}, {})
    kept = store.put("k", '{"run": 2}', {"r.csv": "a\n1\n"}, {}, {})
    assert kept == first and (first / "notebook.ipynb").read_text() == '{"run": 1}'
    forced = store.put("k", '{"run": 3}', {"r.csv": "a\n1\n"}, {}, {}, replace=True)
    assert store.get("k") == forced
    assert (forced / "notebook.ipynb").read_text() == '{"run": 3}'
    assert not [p for p in (tmp_path / "runs").rglob(".*")]
