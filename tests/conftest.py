"""Shared fixtures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.project import full_build, make_project, statuses


@pytest.fixture(scope="session")
def first_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the project with one complete, real `casereport build --strict` from an
    empty cache (every run executes: 30 notebook runs); (root, the build's output)."""
    root = make_project(tmp_path_factory.mktemp("built"))
    out = full_build(root)
    st = statuses(root)
    assert st and set(st.values()) == {"ran"}, st
    return root, out


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
