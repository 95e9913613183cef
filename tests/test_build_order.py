"""The order a build submits its runs in (``pipeline.build.longest_first``)."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat

from casereport.pipeline import plan as run_plan
from casereport.pipeline.build import longest_first


def test_runs_go_longest_notebook_first_in_plan_order_among_equals():
    """The real plan's runs, reordered: by code-cell count, most first (the expected order
    is computed here independently, counting each notebook's code cells with nbformat and
    sorting the plan's indices); runs of one notebook keep their plan order; nothing is
    lost or repeated. With today's notebooks the case profiles (the shortest runs, one
    per site) go last."""
    runs = run_plan.plan(None, None)
    todo = [SimpleNamespace(run=r) for r in runs]
    cells = {}
    for r in runs:
        nb = nbformat.read(r.notebook_path, as_version=4)
        cells[r.notebook] = sum(1 for c in nb.cells if c.cell_type == "code")
    expected = sorted(range(len(runs)), key=lambda i: (-cells[runs[i].notebook], i))
    got = longest_first(todo)
    assert [todo.index(p) for p in got] == expected
    profiles = sum(1 for r in runs if r.notebook == "case_profile")
    assert profiles and {p.run.notebook for p in got[-profiles:]} == {"case_profile"}
