"""One notebook run through papermill, in a real kernel: the outcomes the build relies on."""

from __future__ import annotations

import nbformat
import pytest

from casereport.pipeline import executors

pytestmark = pytest.mark.slow


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('results_dir: str = "out"  # where results go')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *[nbformat.v4.new_code_cell(s) for s in sources]]
    nb.metadata["kernelspec"] = {"name": "casereport", "display_name": "casereport",
                                 "language": "python"}
    nbformat.write(nb, path)
    return str(path)


WRITE = ("import pathlib; p = pathlib.Path(results_dir); p.mkdir(parents=True, exist_ok=True); "
         "(p / 'r.csv').write_text('analysis,quantity\\na,b\\n')")


def test_success_returns_notebook_and_results(tmp_path):
    """The results CSV the notebook wrote comes back as text, with the executed notebook."""
    nb = _notebook(tmp_path / "ok.ipynb", WRITE)
    out = executors.execute(executors.Task("ok", nb, {}, cwd=str(tmp_path)))
    assert out.ok, out.error
    assert out.results == {"r.csv": "analysis,quantity\na,b\n"}
    assert nbformat.reads(out.notebook_json, as_version=4).cells


def test_failing_cell_is_reported_with_its_source(tmp_path):
    """A raising cell: not ok, the error text, the cell's source and its execution count."""
    nb = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise KeyError('site 9')")
    out = executors.execute(executors.Task("bad", nb, {}, cwd=str(tmp_path)))
    assert not out.ok
    assert out.error == "KeyError: 'site 9'"
    assert out.failed_source == "raise KeyError('site 9')"
    assert out.failed_cell is not None and out.failed_cell > 0
    assert "site 9" in out.notebook_json  # the saved notebook shows the traceback


def test_notebook_that_writes_no_results_is_a_failure(tmp_path):
    """Every run must leave its tidy results; a silent notebook is not a success."""
    nb = _notebook(tmp_path / "quiet.ipynb", "x = 1")
    out = executors.execute(executors.Task("quiet", nb, {}, cwd=str(tmp_path)))
    assert not out.ok and "no results CSV" in out.error and out.failed_cell == -1


def test_missing_kernel_is_a_kernel_failure_not_a_cell_failure(tmp_path):
    """No such kernel: failed_cell stays None (the build says the kernel failed)."""
    nb = _notebook(tmp_path / "k.ipynb", WRITE)
    out = executors.execute(executors.Task("k", nb, {}, kernel_name="no-such-kernel-xyz",
                                           cwd=str(tmp_path)))
    assert not out.ok and out.failed_cell is None
    assert "no-such-kernel-xyz" in out.error
