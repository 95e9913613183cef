"""The build's progress: a bar on a terminal, one plain line per run elsewhere.

The estimate of the time left is checked against hand arithmetic; the bar against a real
`casereport build` on a pseudo-terminal (pexpect), the lines against the same build into a
pipe and on a terminal under ``CI=true``."""

from __future__ import annotations

import re

import pytest

from casereport.pipeline.progress import seconds_left
from casereport.primitives import paths
from tests.project import casereport, make_project
from tests.test_terminal_output import on_terminal

#: The runs of `--only mentoring_time`: one per parameter set of the notebook.
_SETS = (paths.PARAMS_DIR / "mentoring_time").glob("*.yaml")
RUNS = sorted(f"mentoring_time--{p.stem}" for p in _SETS)
RAN = re.compile(r"^  ran\s+\d+\.\ds  (mentoring_time--\w+)", re.M)


def test_seconds_left_by_hand():
    """Runs a (10 s last time), b (20 s) running for 4 s and 25 s; c never ran, so it counts
    as the median of the known, 15 s. Work left 15 + (10 - 4) + max(0, 20 - 25) = 21 s,
    on 2 workers 10.5 s."""
    expected = {"a": 10.0, "b": 20.0, "c": None}
    assert seconds_left(expected, ["c"], {"a": 4.0, "b": 25.0}, 2) == pytest.approx(10.5)
    assert seconds_left(expected, [], {}, 2) == 0.0
    assert seconds_left({"a": None}, ["a"], {}, 1) is None  # nothing known: no estimate


@pytest.mark.slow
def test_bar_on_a_terminal_lines_elsewhere(tmp_path):
    """Into a pipe: one 'ran' line per run and no bar. On a terminal: the bar (runs n/2,
    elapsed, the time left estimated from the first build's durations, the runs running)
    and the same lines. On a terminal with CI=true: lines only."""
    root = make_project(tmp_path / "p")
    piped = casereport(root, "build", "--only", "mentoring_time", "--jobs", "2")
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert sorted(RAN.findall(piped.stdout)) == RUNS
    assert "elapsed" not in piped.stdout and "━" not in piped.stdout

    args = ("build", "--only", "mentoring_time", "--jobs", "2", "--force")
    code, screen = on_terminal(*args, width=160, CASEREPORT_ROOT=str(root))
    assert code == 0, screen
    n = len(RUNS)
    bar = rf"runs ━+ [0-{n}]/{n} \d:\d\d:\d\d elapsed ~\d:\d\d:\d\d left"
    assert re.search(bar, screen), screen
    assert re.search(r"running: mentoring_time--\w+", screen)
    assert "time left unknown" not in screen  # the first build recorded both durations
    assert sorted(RAN.findall(screen)) == RUNS

    code, screen = on_terminal(*args, width=160, CASEREPORT_ROOT=str(root), CI="true")
    assert code == 0, screen
    assert "elapsed" not in screen and "━" not in screen
    assert sorted(RAN.findall(screen)) == RUNS
