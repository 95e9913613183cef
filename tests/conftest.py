"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project import full_build, make_project


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """A copy of the project with one complete, real `casereport build` (28 notebook runs).

    Session-scoped: the pipeline, report-check and browser tests all read the same build."""
    root = make_project(tmp_path_factory.mktemp("built"))
    full_build(root)
    return root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the real full build is slow whether or not it says so, so
    `make test-fast` (-m "not slow ...") never starts the 28-notebook build."""
    for item in items:
        if "built_project" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
