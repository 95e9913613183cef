"""Where notebook runs execute: a local process pool, or a Dask cluster.

Both are used through the standard ``concurrent.futures.Executor`` interface
(Dask's ``Client.get_executor()`` provides one), so the pipeline does not care
which it has. A run travels as plain data and comes back as plain data (the
executed notebook and its results CSVs as text), so a remote worker needs the
project checkout and environment but no shared output folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casereport.primitives import paths


@dataclass(frozen=True)
class Task:
    run_id: str
    notebook: str  # source notebook, relative to the project root of whoever executes it
    parameters: dict[str, Any]
    kernel_name: str = paths.KERNEL_NAME
    cwd: str = "notebooks"  # as JupyterLab runs it; root-relative
    fork: bool = True  # fork the kernel from this worker's warm template (pipeline.forking)


@dataclass
class Outcome:
    run_id: str
    ok: bool
    seconds: float
    notebook_json: str = ""
    results: dict[str, str] = field(default_factory=dict)
    error: str = ""  # "<ename>: <evalue>" for a failing cell, or the exception otherwise
    kernel_log: str = ""  # what the kernel process wrote to stderr
    failed_cell: int | None = None  # execution count of the failing cell
    failed_source: str = ""
    # why the kernel was started normally although forking was asked for ("" otherwise)
    fallback: str = ""
    # package modules the kernel had loaded (relative to the package folder), or None
    # when the run did not get far enough to report them
    deps: list[str] | None = None


# Appended to the notebook for the run and removed from the executed copy: the kernel
# reports every ``casereport`` module it loaded, for the cache key (cache.py).
DEPS_CELL = """\
import json as _json, os as _os, sys as _sys
import casereport as _casereport
_pkg = _os.path.dirname(_os.path.abspath(_casereport.__file__))
_deps = sorted({
    _os.path.relpath(_os.path.abspath(_m.__file__), _pkg)
    for _n, _m in list(_sys.modules.items())
    if (_n == "casereport" or _n.startswith("casereport.")) and getattr(_m, "__file__", None)
})
with open(%r, "w") as _fh:
    _json.dump(_deps, _fh)
"""
DEPS_TAG = "casereport-deps"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr (inherited by the kernel it starts) to a file.

    Kernels log start-up and shutdown chatter to stderr; 28 runs of it bury the
    build's own one-line-per-run output. Only done on the main thread (process-pool
    workers), where no other run shares the file descriptor.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# Kernel start-up on a loaded 2-core machine can take well over papermill's 60 s default.
KERNEL_START_TIMEOUT = 300
# papermill's kernel manager for forked kernels (a class path: imported only when used).
FORK_MANAGER = "casereport.kernels.forking.ForkKernelManager"
# A run whose kernel failed to start or died (not a cell raising) is tried once more.
ATTEMPTS = 2


def execute(task: Task) -> Outcome:
    """Execute one notebook run with papermill; retry once if the kernel itself failed."""
    start = time.perf_counter()
    for _ in range(ATTEMPTS):
        outcome = _execute_once(task)
        if outcome.ok or outcome.failed_cell is not None:
            break
    outcome.seconds = time.perf_counter() - start
    return outcome


def _execute_once(task: Task) -> Outcome:
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    with tempfile.TemporaryDirectory(prefix="casereport-run-") as tmp:
        out_nb = Path(tmp) / f"{task.run_id}.ipynb"
        results_dir = Path(tmp) / "results"
        deps_file = Path(tmp) / "deps.json"
        source = paths.resolve(task.notebook)
        run_nb = Path(tmp) / source.name
        nb_in = nbformat.read(source, as_version=4)
        cell = nbformat.v4.new_code_cell(DEPS_CELL % str(deps_file))
        cell.metadata["tags"] = [DEPS_TAG]
        nb_in.cells.append(cell)
        nbformat.write(nb_in, run_nb)
        params = {**task.parameters, "results_dir": str(results_dir)}
        outcome = Outcome(task.run_id, ok=True, seconds=0.0)
        log = Path(tmp) / "kernel.log"
        manager = {"kernel_manager_class": FORK_MANAGER} if task.fork else {}
        try:
            with _stderr_to(log):
                papermill.execute_notebook(
                    str(run_nb),
                    str(out_nb),
                    parameters=params,
                    kernel_name=task.kernel_name,
                    cwd=str(paths.resolve(task.cwd)),
                    progress_bar=False,
                    log_output=False,
                    start_timeout=KERNEL_START_TIMEOUT,
                    # written once at the end (and on a failing cell), not at every cell's
                    # start and end: six writes of a case profile's notebook per run
                    request_save_on_cell_execute=False,
                    **manager,
                )
        except PapermillExecutionError as exc:
            outcome.ok = False
            outcome.error = f"{exc.ename}: {exc.evalue}"
            outcome.failed_cell = exc.exec_count
            outcome.failed_source = exc.source
        except Exception as exc:  # kernel died or never started, notebook unreadable, ...
            outcome.ok = False
            outcome.error = f"{type(exc).__name__}: {exc}"
        if task.fork:
            from casereport.kernels import forking

            outcome.fallback = forking.take_fallback() or ""
        if log.exists():
            outcome.kernel_log = log.read_text(encoding="utf-8", errors="replace")[-20_000:]
        if out_nb.exists():
            nb = nbformat.read(out_nb, as_version=4)
            nb.cells = [c for c in nb.cells if DEPS_TAG not in c.metadata.get("tags", [])]
            if "papermill" in nb.metadata:
                nb.metadata.papermill["input_path"] = str(source)
            outcome.notebook_json = nbformat.writes(nb)
        if deps_file.is_file():
            outcome.deps = json.loads(deps_file.read_text())
        if results_dir.is_dir():
            outcome.results = {
                p.name: p.read_text(encoding="utf-8") for p in sorted(results_dir.glob("*.csv"))
            }
        if outcome.ok and not outcome.results:
            outcome.ok = False
            outcome.failed_cell = -1  # ran to the end: retrying would not help
            outcome.error = "the notebook wrote no results CSV into results_dir"
    return outcome


def _worker_start(build_pid: int, fork: bool, shared: Any = None) -> None:
    """A process-pool worker's initializer: die with the build (a ``kill -9`` of it would
    otherwise leave the worker, its template and kernels idle forever), then fork kernels
    from the build's template (``shared``) or warm one of its own. The pool forks its
    workers from the build's main thread (``submit``), so the parent-death signal fires
    only when the build process itself ends."""
    from casereport.kernels.template import die_with_parent

    if not die_with_parent(expected_parent=build_pid):
        os._exit(1)  # the build died before the signal was armed
    if fork:
        from casereport.kernels import forking

        if shared is not None:
            forking.use_shared(shared)
        else:
            forking.warm()
    # what every run imports, while the template may still be importing the stack
    import nbformat  # noqa: F401
    import papermill  # noqa: F401


@contextlib.contextmanager
def shared_template(kind: str, fork: bool) -> Iterator[Any]:
    """One kernel template for all the local pool's workers, started now without waiting
    (``kernels.forking.start_shared``), stopped on leaving; yields what ``make_executor``
    passes to the workers, or None (Dask workers, ``--no-fork``, forking unavailable: each
    worker then has its own, as before). One template instead of one per worker halves
    the start's imports and lets them overlap the build's validation."""
    tpl = None
    if kind == "local" and fork:
        from casereport.kernels import forking

        tpl = forking.start_shared()
    try:
        yield tpl.shared() if tpl is not None else None
    finally:
        if tpl is not None:
            tpl.stop()


def local_workers(jobs: int | None) -> int:
    """The local process pool's size: ``jobs``, default one worker per core."""
    return max(1, jobs or os.cpu_count() or 1)


@contextlib.contextmanager
def make_executor(kind: str = "local", jobs: int | None = None,
                  scheduler: str | None = None, fork: bool = False,
                  shared: Any = None) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` for notebook runs.

    ``local``: a process pool of ``jobs`` workers (each run also starts its own
    kernel process, so one worker per core is right). ``dask``: a
    ``distributed.Client`` connected to ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``)
    whose workers have this project checked out and installed. ``fork``: each local
    worker starts its kernel template when it starts (Dask workers start theirs on their
    first run). ``shared``: the local workers fork from this template
    (:func:`shared_template`) instead.
    """
    if kind == "local":
        workers = local_workers(jobs)
        with ProcessPoolExecutor(max_workers=workers, initializer=_worker_start,
                                 initargs=(os.getpid(), fork, shared)) as pool:
            yield pool
    elif kind == "dask":
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        from distributed import Client

        with Client(scheduler, timeout="30s") as client:
            # pure=False: a rerun after --force must execute again, not reuse a result
            with client.get_executor(pure=False) as ex:
                yield ex
    else:
        raise ValueError(f"unknown executor {kind!r}: use 'local' or 'dask'")
