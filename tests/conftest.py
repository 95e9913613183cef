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
