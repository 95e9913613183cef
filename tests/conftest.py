"""Shared fixtures."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

from tests.project import full_build, make_project, statuses


def _build_once(root: Path) -> subprocess.CompletedProcess:
    make_project(root)
    out = full_build(root)
    st = statuses(root)
    assert st and set(st.values()) == {"ran"}, st
    return out


@pytest.fixture(scope="session")
def first_build(tmp_path_factory, worker_id) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the project with one complete, real `casereport build --strict` from an
    empty cache (every run of the plan executes); (root, the build's output).

    Under pytest-xdist (`make test` runs two processes) the first process to need it
    builds it in their common temporary folder, under a file lock, and the other reads the
    same build: one session build, whichever process asks first."""
    if worker_id == "master":  # one process (plain pytest)
        root = tmp_path_factory.mktemp("built")
        return root, _build_once(root)
    shared = tmp_path_factory.getbasetemp().parent
    root, record = shared / "built", shared / "built.json"
    with FileLock(shared / "built.lock"):
        if not record.is_file():
            out = _build_once(root)
            record.write_text(json.dumps({"args": out.args, "stdout": out.stdout,
                                          "stderr": out.stderr}))  # fmt: skip
        saved = json.loads(record.read_text())
    return root, subprocess.CompletedProcess(saved["args"], 0, saved["stdout"], saved["stderr"])


@pytest.fixture(scope="session")
def built_project(first_build) -> Path:
    """The session's one full build (``first_build``), shared by every test that only reads
    it; a test that edits copies it (tests/project.py: ``copy_built``).

    Session-scoped: the pipeline, report-check, claims, status, diff, Quarto and browser
    tests all read the same build."""
    return first_build[0]


SESSION_BUILD = {"first_build", "built_project"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the real full build is slow whether or not it says so, so
    `make test-fast` (-m "not slow ...") never starts the full build."""
    for item in items:
        if SESSION_BUILD & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
