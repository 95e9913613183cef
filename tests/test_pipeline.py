"""The build pipeline on a private copy of the project: caching, failures, kills, locking.

Every build here is real: papermill executes the real notebooks in the
`casereport` kernel. Each test works on a copy of the project (the package is pointed at
it with CASEREPORT_ROOT), so the developer's build/ and cache are never touched. The copies
start from the session's full build (``built_project``: its run cache, and its build/ where
the test needs a last good report), so a build after an edit executes only the runs the
edit reaches. Builds whose manuscript is not what the test checks run with Quarto off PATH
(the no-Quarto preview is the report then); the session build's Quarto render is checked
in tests/test_quarto.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from filelock import FileLock

from casereport.primitives import paths
from tests.project import (
    casereport,
    copy_built,
    edit_retake_minutes,
    full_build,
    make_project,
    manifest_statuses,
    statuses,
)

pytestmark = pytest.mark.slow

FAST = ["--only", "engagement_fidelity", "--only", "mentoring_time", "--jobs", "2"]


@pytest.fixture(scope="module")
def project(built_project, tmp_path_factory) -> Path:
    """A project copy with the session build's cache, so the two main notebooks' runs are
    in it (the session's first build executed every run: conftest.py)."""
    return copy_built(built_project, tmp_path_factory.mktemp("proj"), outputs=False)


def test_second_build_executes_no_notebook(project):
    """Nothing changed since the session's build, so every run is a cache hit."""
    again = casereport(project, "build", *FAST)
    assert again.returncode == 0, again.stdout + again.stderr
    st = statuses(project)
    assert st and set(st.values()) == {"cached"}


def test_changing_one_data_file_reruns_only_its_readers(project, tmp_path):
    """Editing retake_sites.csv re-executes the mentoring-time runs only; ENRICH runs stay cached.

    Expected split from the notebooks' parameters: mentoring_time reads retake_csv,
    engagement_fidelity reads only enrich_csv.
    """
    root = copy_built(project, tmp_path / "p", outputs=False)
    edit_retake_minutes(root)
    out = casereport(root, "build", *FAST)
    assert out.returncode == 0, out.stdout + out.stderr
    st = statuses(root)
    assert {r for r, s in st.items() if s == "ran"} == {
        r for r in st if r.startswith("mentoring_time--")}
    assert all(s == "cached" for r, s in st.items() if r.startswith("engagement_fidelity--"))


def test_force_reruns_everything(project, tmp_path):
    """--force ignores the cache."""
    root = copy_built(project, tmp_path / "p", outputs=False)
    out = casereport(root, "build", "--force", "--only", "mentoring_time")
    assert out.returncode == 0, out.stdout + out.stderr
    assert set(statuses(root).values()) == {"ran"}


def test_bad_data_fails_at_validation_before_any_kernel(tmp_path):
    """A negative count stops the build at validation: no run line is printed, exit 1."""
    root = make_project(tmp_path / "p")
    csv = root / "data" / "enrich" / "enrich_sites.csv"
    text = csv.read_text().splitlines()
    cells = text[1].split(",")
    cells[text[0].split(",").index("engaged")] = "-3"
    text[1] = ",".join(cells)
    csv.write_text("\n".join(text) + "\n")
    out = casereport(root, "build")
    assert out.returncode == 1
    assert "enrich_sites.csv" in out.stdout + out.stderr
    assert "no notebook was run" in out.stdout
    assert statuses(root) == {}
    assert not (root / "build").exists()


@pytest.fixture
def built(built_project) -> Path:
    """The session's project copy with one complete, successful build (conftest.py)."""
    return built_project


def test_full_build_writes_report_and_results(built):
    """The build folder holds every run's executed notebook, the results and the preview."""
    manifest = json.loads((built / "build" / "manifest.json").read_text())
    ids = {r["run_id"] for r in manifest["runs"]}
    for r in ids:
        assert (built / "build" / "runs" / f"{r}.ipynb").is_file()
    # one case profile per site of each trial: 7 ENRICH + 16 RETAKE sites in data/
    assert sum(r.startswith("case_profile--") for r in ids) == 23
    assert (built / "build" / "results" / "all_results.csv").stat().st_size > 0
    assert (built / "build" / "audit.csv").is_file()
    assert (built / "_variables.yml").is_file()
    preview = built / "build" / "report-preview.html"
    assert preview.is_file() and "<img" in preview.read_text()


def test_noop_rebuild_executes_nothing_and_keeps_the_report(built):
    """A second full build with nothing changed stops at the fingerprint check; touching a
    data file (new mtime, same bytes) changes nothing, since only contents are hashed."""
    before = _snapshot(built)
    os.utime(built / "data" / "enrich" / "enrich_sites.csv", (1, 1))
    out = full_build(built)
    assert "up to date" in out.stdout
    assert statuses(built) == {}
    # Quarto's pre-render step (pipeline only) is satisfied by a full build too
    pre = casereport(built, "build", "--no-render")
    assert pre.returncode == 0 and "up to date" in pre.stdout
    assert _snapshot(built) == before


def test_report_source_change_reassembles_from_the_cache(built, tmp_path):
    """Editing index.qmd is not a data change: the report (here the preview: Quarto off
    PATH) is rebuilt from the edited article, every run is cached."""
    root = copy_built(built, tmp_path / "p")
    qmd = root / "index.qmd"
    qmd.write_text(qmd.read_text() + "\n\nA sentence added by this test.\n")
    full_build(root, quarto=False)
    st = statuses(root)
    assert st and set(st.values()) == {"cached"}
    assert "A sentence added by this test." in (root / "build" / "report-preview.html").read_text()


def test_editing_a_function_reruns_exactly_the_runs_that_loaded_it(built, tmp_path):
    """The cache keys each run on the package modules its kernel loaded. Editing a function
    that only the case profiles reach re-executes the 23 case-profile runs and nothing
    else; editing the build itself re-executes nothing. The manifest says which ran."""
    import casereport.analyses.case_profile.analysis as profile_module

    rel = Path(profile_module.__file__).resolve().relative_to(paths.SRC_DIR)
    root = copy_built(built, tmp_path / "p", outputs=False)
    build_py = root / "src" / "casereport" / "pipeline" / "build.py"
    build_py.write_text(build_py.read_text() + "\n# edited\n")
    first = manifest_statuses(full_build(root, quarto=False), root)
    assert first and set(first.values()) == {"cached"}
    target = root / "src" / "casereport" / rel
    text = target.read_text()
    edited = text.replace('"""``case_profile--<trial>', '"""(edited) ``case_profile--<trial>')
    assert edited != text
    target.write_text(edited)
    st = manifest_statuses(full_build(root, quarto=False), root)
    profiles = {r for r in st if r.startswith("case_profile--")}
    assert {r for r, s in st.items() if s == "ran"} == profiles
    assert sum(s == "ran" for s in st.values()) == 23
    assert all(s == "cached" for r, s in st.items() if not r.startswith("case_profile--"))


def _snapshot(root: Path) -> dict[str, bytes]:
    b = root / "build"
    return {str(p.relative_to(b)): p.read_bytes() for p in sorted(b.rglob("*"))
            if p.is_file() and "failed" not in p.parts}


def test_failing_notebook_keeps_previous_report(built, tmp_path):
    """A cell that raises: exit 1, the report names notebook, set, cell and error, and the
    last good build/ is byte-for-byte unchanged."""
    root = copy_built(built, tmp_path / "p")
    before = _snapshot(root)
    nb_path = root / "notebooks" / "mentoring_time.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(len(nb.cells) // 2, nbformat.v4.new_code_cell("raise ValueError('boom')"))
    nbformat.write(nb, nb_path)
    out = casereport(root, "build")
    assert out.returncode == 1
    text = out.stdout
    assert "FAILED mentoring_time--primary" in text
    assert "notebook:      notebooks/mentoring_time.ipynb" in text
    assert "parameter set: primary" in text
    assert "ValueError: boom" in text
    assert "raise ValueError('boom')" in text
    saved = root / "build" / "failed" / "mentoring_time--primary.ipynb"
    assert saved.is_file() and "boom" in saved.read_text()
    assert _snapshot(root) == before


def test_killed_build_keeps_previous_report_and_cache(built, tmp_path):
    """SIGKILL in the middle of a forced rebuild: build/ unchanged, no half-written cache
    entry, and the next build succeeds from the cache it had."""
    root = copy_built(built, tmp_path / "p")
    before = _snapshot(root)
    env = {**os.environ, "CASEREPORT_ROOT": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "casereport", "build", "--force"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    time.sleep(8)  # validation done, kernels running
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _snapshot(root) == before
    for entry in (root / ".casereport-cache" / "runs").glob("*/*"):  # <key>/<deps hash>
        assert entry.name.startswith(".") or (entry / "meta.json").is_file()
    out = casereport(root, "build", quarto=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not list((root / ".casereport-cache" / "runs").glob("*/.*"))


def test_second_concurrent_build_is_refused(built):
    """While one build holds the project lock, another exits 75 with a clear message."""
    with FileLock(built / ".casereport-cache" / "build.lock"):
        out = casereport(built, "build")
    assert out.returncode == 75
    assert "another casereport build is running" in out.stdout


def test_interrupted_swap_is_recovered(tmp_path, monkeypatch):
    """Killed between the two renames: build/ is gone and build.old-<pid> holds the last good
    report. The next build's recovery renames it back."""
    from casereport.pipeline import state as pipeline

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / ".casereport-cache")
    old = tmp_path / "build.old-4242"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    (tmp_path / "build.tmp-4243").mkdir()
    pipeline.recover_interrupted_swap()
    assert (tmp_path / "build" / "manifest.json").read_text() == "{}"
    assert not old.exists() and not (tmp_path / "build.tmp-4243").exists()


def test_fingerprint_sees_every_file_of_the_quarto_folder(tmp_path, monkeypatch):
    """The no-op build skips when the fingerprint is unchanged, so an edit of any file the
    render reads must change it: each file of _quarto/ (the claims filter among them, which
    a list of files once left out) and a section of the article, edited one at a time."""
    from casereport.pipeline import state

    root = make_project(tmp_path / "p")
    _point_paths_at(root, monkeypatch)
    edited = [*sorted((root / "_quarto").glob("*")), root / "sections" / "enrich.qmd"]
    assert root / "_quarto" / "claims.lua" in edited
    for f in edited:
        before = state.fingerprint(paths.DATA_DIR)
        f.write_bytes(f.read_bytes() + b"\n")
        assert state.fingerprint(paths.DATA_DIR) != before, f.name


def _point_paths_at(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(paths, "ROOT", root)
    for name in ("DATA_DIR", "PARAMS_DIR", "NOTEBOOKS_DIR"):
        monkeypatch.setattr(paths, name, root / getattr(paths, name).name)
    monkeypatch.setattr(paths, "SRC_DIR", root / "src" / "casereport")


def test_fingerprint_is_the_same_for_a_copy_in_another_folder(tmp_path, monkeypatch):
    """Two copies of the same sources in different folders have the same fingerprint, so a
    built project that is copied or moved is still up to date (it once hashed the data
    folder's absolute path); a data folder outside the project is named in full. Oracle:
    the same files, byte for byte (shutil copies), and one byte more in one copy."""
    from casereport.pipeline import state

    prints = []
    for name in ("a", "elsewhere/b"):
        root = make_project(tmp_path / name)
        _point_paths_at(root, monkeypatch)
        prints.append(state.fingerprint(paths.DATA_DIR))
    assert prints[0] == prints[1]
    outside = tmp_path / "outside-data"
    shutil.copytree(paths.DATA_DIR, outside)
    assert state.fingerprint(outside) != prints[1]
    csv = paths.DATA_DIR / "enrich" / "enrich_sites.csv"
    csv.write_bytes(csv.read_bytes() + b"\n")
    assert state.fingerprint(paths.DATA_DIR) != prints[1]
