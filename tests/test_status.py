"""``casereport status`` on real builds: up to date after a build, and why a run is stale.

One full build (the session's ``built_project``) is shared; each edit is made in a fresh
copy of the project holding that build's cache, and ``status`` executes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.project import casereport, copy_built, edit_retake_minutes, statuses

pytestmark = pytest.mark.slow


@pytest.fixture
def copy(built_project, tmp_path) -> Path:
    """A project copy with the full build's cache."""
    return copy_built(built_project, tmp_path / "p", outputs=False)


def _stale(root: Path) -> dict[str, list[str]]:
    out = casereport(root, "status", "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    runs = json.loads(out.stdout)["runs"]
    return {r["run_id"]: r["reasons"] for r in runs if not r["up_to_date"]}


def test_status_after_a_clean_build(built_project):
    """Right after a full build every run of the plan is a cache hit: exit 0, all up to
    date, as many runs as the build's manifest lists."""
    out = casereport(built_project, "status", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    found = json.loads(out.stdout)
    manifest = json.loads((built_project / "build" / "manifest.json").read_text())
    assert found["up_to_date"] is True
    assert {r["run_id"] for r in found["runs"]} == {r["run_id"] for r in manifest["runs"]}
    assert all(r["up_to_date"] and r["reasons"] == [] for r in found["runs"])
    text = casereport(built_project, "status")
    n = len(found["runs"])
    assert text.returncode == 0 and f"{n} of {n} runs up to date" in text.stdout


def test_data_edit_names_file_site_and_column(copy):
    """Editing one cell of retake_sites.csv makes stale exactly the runs that read it (the
    RETAKE profiles, mentoring time, cross-case: the notebooks' retake_csv parameter), each
    naming the file, the site, the column and old -> new (the edit made here); the build
    prints the same reason beside each run it re-executes."""
    site, old, new = edit_retake_minutes(copy)
    stale = _stale(copy)
    want = f"data: data/retake/retake_sites.csv: site {site}, mentoring_minutes: '{old}' -> '{new}'"
    assert "mentoring_time--primary" in stale and "cross_case--primary" in stale
    assert not any(r.startswith(("engagement_fidelity--", "case_profile--enrich-")) for r in stale)
    assert all(reasons == [want] for reasons in stale.values()), stale
    out = casereport(copy, "build", "--only", "mentoring_time")
    assert out.returncode == 0, out.stdout + out.stderr
    assert set(statuses(copy).values()) == {"ran"}
    n_runs = len(list((copy / "params" / "mentoring_time").glob("*.yaml")))  # one per set
    assert out.stdout.count(f"site {site}, mentoring_minutes") == n_runs, out.stdout
    after = _stale(copy)
    assert not any(r.startswith("mentoring_time--") for r in after)


def test_notebook_code_cell_edit(copy):
    """Appending a comment to a code cell of mentoring_time.ipynb makes its two runs (its
    parameter sets in params/mentoring_time/) stale, naming that cell's number; nothing
    else is stale."""
    path = copy / "notebooks" / "mentoring_time.ipynb"
    nb = json.loads(path.read_text())
    index = max(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    src = nb["cells"][index]["source"]
    nb["cells"][index]["source"] = (src if isinstance(src, str) else "".join(src)) + "\n# edit\n"
    path.write_text(json.dumps(nb, indent=1))
    stale = _stale(copy)
    assert set(stale) == {f"mentoring_time--{p.stem}"
                          for p in (copy / "params" / "mentoring_time").glob("*.yaml")}
    for reasons in stale.values():
        assert len(reasons) == 1
        assert reasons[0].startswith(f"notebook: code cell {index + 1} changed")


def test_lock_edit_makes_every_run_stale(copy):
    """The lock file is part of every run's key (cache.environment_hash), so a changed pin
    makes every run stale, each saying the lock changed."""
    lock = copy / "requirements" / "lock.txt"
    lock.write_text(lock.read_text() + "# a changed pin\n")
    out = casereport(copy, "status", "--json")
    assert out.returncode == 1
    runs = json.loads(out.stdout)["runs"]
    assert runs and all(r["reasons"] == ["environment: requirements/lock.txt changed"]
                        for r in runs)


def test_package_module_edit_names_the_module(built_project, copy):
    """A comment appended to analyses/mentoring_time/analysis.py makes stale exactly the runs
    whose kernels loaded it (``package_modules`` in the build's manifest, recorded by the
    executor), each naming that module."""
    manifest = json.loads((built_project / "build" / "manifest.json").read_text())
    loaders = {r["run_id"] for r in manifest["runs"]
               if "analyses/mentoring_time/analysis.py" in r["package_modules"]}
    module = copy / "src" / "casereport" / "analyses" / "mentoring_time" / "analysis.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    stale = _stale(copy)
    assert "mentoring_time--primary" in loaders and set(stale) == loaders
    why = ["package: analyses/mentoring_time/analysis.py changed"]
    assert all(r == why for r in stale.values())
