"""Each notebook explains itself: its first markdown cell lists the parameter sets the
build runs (params/<notebook>/*.yaml) and the commands that run it as the build does, and
`papermill --help-notebook` shows every parameter with its comment."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import papermill
import pytest

from casereport.pipeline import plan
from casereport.primitives import paths
from casereport.primitives.labels import CASE_PROFILE

NOTEBOOKS = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("*.ipynb"))


def _intro(name: str) -> str:
    nb = nbformat.read(paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    return nb.cells[0].source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_cell_lists_the_parameter_sets_and_commands(name):
    """The listed sets are exactly the YAML files plan.plan turns into runs (params/<notebook>/
    and the trial folders' params/<notebook>/; the case profile has none: it runs per
    site), and the intro names each folder they are in; the commands are
    `casereport build --only NAME` (cli.build's option) and papermill with -p/-f."""
    intro = _intro(name)
    line = next(x for x in intro.splitlines() if x.startswith("**Parameter sets.**"))
    listed = set(re.findall(r"`([^`/]+)`", line.split(":", 1)[-1]))
    found = plan.param_files(name)
    files = {p.stem for p in found}
    if name == CASE_PROFILE:
        assert not files and "once per site" in line
    else:
        assert listed == files
        for folder in {p.parent.relative_to(paths.ROOT).as_posix() for p in found}:
            assert f"-f {folder}/" in intro, folder
    assert f"casereport build --only {name}`" in intro
    assert f"papermill -k {paths.KERNEL_NAME} notebooks/{name}.ipynb" in intro and " -p " in intro


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    """Notebooks are committed clean: no outputs, no execution counts."""
    nb = nbformat.read(paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_help_notebook_lists_every_parameter_with_its_comment(name):
    """`papermill --help-notebook` (the CLI, in a subprocess) prints every parameter of the
    cell tagged `parameters` (papermill.inspect_notebook) with its end-of-line comment."""
    path = paths.NOTEBOOKS_DIR / f"{name}.ipynb"
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                         capture_output=True, text=True, check=True, cwd=paths.ROOT)
    text = " ".join(out.stdout.split())
    inspected = papermill.inspect_notebook(str(path))
    assert inspected
    for param, info in inspected.items():
        assert info["help"], f"{name}: parameter {param} has no comment"
        assert f"{param}: " in out.stdout and " ".join(info["help"].split()) in text
