"""What the build says about its notebook runs: a progress bar on a terminal, lines elsewhere.

On a terminal (and not under ``CI=true``) a `rich` progress bar shows the runs done of the
total, the runs executing now, the time elapsed and an estimate of the time left from the
durations the cache recorded for each run's last execution (``meta.json`` ``seconds``,
:func:`casereport.pipeline.status.recorded_seconds`). The bar is transient: the one line per
run (``cached``, ``ran`` with the reason it was stale, ``FAILED``) is printed above it and
stays, which is also all that is printed in CI, into a pipe or a log file.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from casereport.pipeline import status
from casereport.pipeline.state import rel
from casereport.primitives import paths, terminal

if TYPE_CHECKING:
    from rich.progress import Task

    from casereport.pipeline import executors

#: At most this many running run ids are named beside the bar (then "+N").
SHOWN_RUNNING = 2
#: Characters the bar's other columns take ("runs", bar, 12/28, elapsed, time left).
FIXED_WIDTH = 64


def seconds_left(
    expected: Mapping[str, float | None],
    waiting: Iterable[str],
    running: Mapping[str, float],
    workers: int,
) -> float | None:
    """Estimated seconds until every run is done.

    Work left = the expected duration of each waiting run plus, for each running run,
    its expected duration less the time it has run (never below 0); divided among
    ``workers`` parallel slots (list scheduling, ignoring the last runs' imbalance). A run
    never executed before counts as the median of the known durations; with none known
    there is no estimate (None). ``running`` maps run id -> seconds it has run so far."""
    known = [s for s in expected.values() if s is not None]
    if not known:
        return None
    typical = statistics.median(known)

    def dur(run_id: str) -> float:
        s = expected.get(run_id)
        return typical if s is None else s

    work = sum(dur(r) for r in waiting)
    work += sum(max(0.0, dur(r) - ran) for r, ran in running.items())
    return work / max(1, workers)


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class _LeftColumn(ProgressColumn):
    """'~0:00:12 left' from :func:`seconds_left`, recomputed at every refresh."""

    def __init__(self, owner: RunProgress) -> None:
        super().__init__()
        self.owner = owner

    def render(self, task: Task) -> Text:
        left = self.owner.seconds_left()
        return Text("time left unknown" if left is None else f"~{_clock(left)} left",
                    style="progress.remaining")


class RunProgress:
    """The bar for one build's cache misses (no bar unless
    :func:`casereport.primitives.terminal.interactive`).

    ``started(run_id)`` when a run is submitted to a free worker, ``finished(run_id)``
    when its outcome is in; :meth:`line` prints a line above the bar."""

    def __init__(self, console: Console, run_ids: list[str], workers: int) -> None:
        self.console = console
        self.total = len(run_ids)
        self.workers = workers
        self.expected = {r: status.recorded_seconds(r) for r in run_ids}
        self.waiting = list(run_ids)
        self.running: dict[str, float] = {}  # run id -> perf_counter at start
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> RunProgress:
        if terminal.interactive(self.console):
            self._bar = Progress(
                TextColumn("[bold]runs"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("elapsed"),
                _LeftColumn(self),
                TextColumn("{task.fields[running]}"),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("runs", total=self.total, running="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def seconds_left(self) -> float | None:
        now = time.perf_counter()
        with self._lock:
            running = {r: now - t for r, t in self.running.items()}
            waiting = list(self.waiting)
        return seconds_left(self.expected, waiting, running, self.workers)

    def _show_running(self) -> None:
        if self._bar is None:
            return
        names = list(self.running)
        text = ", ".join(names[:SHOWN_RUNNING])
        if len(names) > SHOWN_RUNNING:
            text += f" +{len(names) - SHOWN_RUNNING}"
        text = f"running: {text}" if text else ""
        room = max(12, self.console.width - FIXED_WIDTH)  # the bar stays on one line
        self._bar.update(self._task, running=text if len(text) <= room else text[:room - 1] + "…")

    def started(self, run_id: str) -> None:
        with self._lock:
            if run_id in self.waiting:
                self.waiting.remove(run_id)
            self.running[run_id] = time.perf_counter()
        self._show_running()

    def finished(self, run_id: str) -> None:
        with self._lock:
            self.running.pop(run_id, None)
        if self._bar is not None:
            self._bar.advance(self._task)
        self._show_running()

    def line(self, text: str) -> None:
        self.console.print(text)


def cached_line(run_id: str) -> str:
    return f"  cached   {0.0:6.1f}s  {run_id}"


def ran_line(run_id: str, seconds: float, reason: str) -> str:
    why = f"  [dim]{escape(reason)}[/dim]" if reason else ""
    return f"  ran      {seconds:6.1f}s  {run_id}{why}"


def not_applicable_line(run_id: str, reason: str) -> str:
    """A parameter set left out because it does not apply to these data (pipeline.plan)."""
    return f"  [yellow]not applicable[/yellow]   {run_id}: {escape(reason)}; not run"


def failed_line(run_id: str, seconds: float) -> str:
    return f"  [red]FAILED[/red]   {seconds:6.1f}s  {run_id}"


def failure_report(run_id: str, notebook: Path, parameter_set: str,
                   out: executors.Outcome) -> str:
    """The failed run in full (notebook, parameter set, failing cell, error); its executed
    notebook is saved under ``build/failed/``."""
    failed_dir = paths.BUILD_DIR / "failed"
    failed_dir.mkdir(parents=True, exist_ok=True)
    saved = failed_dir / f"{run_id}.ipynb"
    if out.notebook_json:
        saved.write_text(out.notebook_json, encoding="utf-8")
    if out.failed_cell is None:
        cell = "none: the kernel failed to start or died"
    elif out.failed_cell < 0:
        cell = "none: every cell ran"
    else:
        cell = f"cell [{out.failed_cell}] (execution count)"
    first = out.failed_source.strip().splitlines()[:3]
    lines = [
        f"FAILED {run_id}",
        f"  notebook:      {rel(notebook)}",
        f"  parameter set: {parameter_set}",
        f"  failing cell:  {cell}",
        *[f"      {line}" for line in first],
        f"  error:         {out.error}",
        *(
            [f"  kernel log:    {line}" for line in out.kernel_log.strip().splitlines()[-5:]]
            if out.failed_cell is None and out.kernel_log.strip()
            else []
        ),
        f"  saved:         {rel(saved) if out.notebook_json else '(no notebook was written)'}",
    ]
    return "\n".join(lines)
