"""The in-process floor (a notebook's code cells executed without a kernel) and the worker
processes the sections start: the floor over many runs, and one scale run in a kernel or in-
process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from .common import KERNEL, PROJECT, REPO, RUN_PY, RUN_TIMEOUT, timed


def _strip_magics(source: str) -> str:
    """Notebook cells are plain Python by contract; drop any IPython magic/shell line."""
    return "\n".join("pass  # magic removed" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


class Floor:
    """Execute notebooks' code cells in this process, as a kernel would but without one.

    Parameters are injected right after the ``parameters`` cell. What a kernel would send to
    the front end is still formatted (so that work is not missing from the floor): every
    figure passed to ``display`` or still open after a cell is rendered to PNG at the inline
    backend's retina resolution and closed, and other objects passed to ``display`` or left
    as a cell's last expression get their text/HTML/Markdown representations computed, then
    dropped.
    """

    def __init__(self) -> None:
        import builtins

        import matplotlib

        matplotlib.use("Agg")
        import IPython.core.display_functions as display_functions
        import IPython.display
        import matplotlib.pyplot as plt

        self.plt = plt

        def display(*objs: Any, **_: Any) -> None:
            for obj in objs:
                self.format(obj)

        IPython.display.display = display
        display_functions.display = display
        builtins.display = display  # type: ignore[attr-defined]
        self.display = display
        # The notebooks' figure cells display a figure only under IPython
        # (casereport.display.figures.show; else it is closed undrawn), so without a shell
        # the floor drew none of them until 2026-12-03. A stand-in shell with no
        # IPKernelApp config: figures reach display() and Agg stays the backend.
        plt.switch_backend("Agg")  # before the stand-in: pyplot hooks into a real shell
        shell = types.SimpleNamespace(config={})
        IPython.get_ipython = lambda: shell

    def format(self, obj: Any) -> None:
        from matplotlib.figure import Figure

        if obj is None:
            return
        if isinstance(obj, Figure):
            self._png(obj)
            return
        repr(obj)
        for meth in ("_repr_html_", "_repr_markdown_"):
            fn = getattr(obj, meth, None)
            if callable(fn):
                with contextlib.suppress(Exception):
                    fn()

    def _png(self, fig: Any) -> None:
        import io

        fig.savefig(io.BytesIO(), format="png", dpi=2 * fig.dpi, bbox_inches="tight")

    def flush(self) -> None:
        for num in self.plt.get_fignums():
            self._png(self.plt.figure(num))
        self.plt.close("all")

    def run(self, notebook: str | Path, parameters: dict[str, Any], cwd: Path) -> float:
        import ast

        import nbformat

        nb = nbformat.read(str(notebook), as_version=4)
        self.cells: list[list] = []  # [cell index, first code line, seconds] of this run
        ns: dict[str, Any] = {"__name__": "__main__", "display": self.display}
        old = Path.cwd()
        os.chdir(cwd)
        start = time.perf_counter()
        try:
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                tree = ast.parse(_strip_magics(cell.source))
                last = None
                if tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Expression(tree.body.pop().value)
                c0 = time.perf_counter()
                exec(compile(tree, f"<{Path(notebook).stem} cell {i}>", "exec"), ns)
                if last is not None:
                    self.format(eval(compile(last, f"<{Path(notebook).stem} cell {i}>", "eval"),
                                     ns))
                if "parameters" in cell.get("metadata", {}).get("tags", []):
                    ns.update(parameters)
                self.flush()
                first = next((ln for ln in cell.source.splitlines()
                              if ln.strip() and not ln.startswith("#")), "")
                self.cells.append([i, first[:70], time.perf_counter() - c0])
        finally:
            os.chdir(old)
            self.plt.close("all")
        return time.perf_counter() - start


def floor_main(runs_json: str, out_json: str, profile: str | None,
               data_dir: str | None = None) -> None:
    """Subprocess entry: execute every run in runs_json in this one process.

    As the build does, the data folder is validated once first and the loaders are told
    so (``loaders.VALIDATED_ENV``), so the runs do the same work as in the build's kernels.
    Per run: wall seconds and CPU seconds of this process."""
    t0 = time.perf_counter()
    import casereport  # noqa: F401

    try:  # this tree's rooms (issue 20)
        from casereport.primitives import paths
        from casereport.trialdata import loaders, validate  # noqa: F401
    except ImportError:  # the base commit's flat layout (54c1821), timed beside it
        from casereport import data as loaders
        from casereport import paths, validate

    floor = Floor()
    imports = time.perf_counter() - t0
    t1 = time.perf_counter()
    checked = validate.validate_dir(Path(data_dir) if data_dir else paths.DATA_DIR)
    if checked.problems:
        raise SystemExit(f"floor: data in {data_dir} failed validation")
    todo = json.loads(Path(runs_json).read_text())
    per_run, per_run_cpu, per_run_cells = {}, {}, {}
    profiler = None
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        record = Path(tmp) / "validated.json"
        loaders.record_validated(checked.files, record)
        os.environ[loaders.VALIDATED_ENV] = str(record)
        validation = time.perf_counter() - t1
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for r in todo:
            params = {**r["parameters"], "results_dir": str(Path(tmp) / r["run_id"])}
            c0 = time.process_time()
            per_run[r["run_id"]] = floor.run(r["notebook_path"], params, PROJECT / "notebooks")
            per_run_cpu[r["run_id"]] = time.process_time() - c0
            per_run_cells[r["run_id"]] = floor.cells
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    Path(out_json).write_text(json.dumps({
        "imports_seconds": imports, "validation_seconds": validation, "per_run": per_run,
        "per_run_cpu": per_run_cpu, "per_run_cells": per_run_cells, "maxrss_mib": _maxrss_self(),
    }))


def _maxrss_self() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_now() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def scale_worker(mode: str, notebook: str, params_json: str, out_json: str,
                 profile: str | None, limit: float | None) -> None:
    """Subprocess entry: one run, in a kernel (papermill) or in-process; time and peak RSS.

    kernel: peak RSS is the kernel's, read as ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after
    papermill has shut the kernel down (the largest waited-for child of this process).
    inproc: peak RSS of this process (``RUSAGE_SELF``), with its RSS after the imports.
    ``limit``: seconds; a kernel cell or the in-process run is stopped there (``timeout``
    is recorded, and a profile is still written).
    """
    import resource

    params = json.loads(Path(params_json).read_text())
    out: dict[str, Any] = {"mode": mode}
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        params = {**params, "results_dir": str(Path(tmp) / "results")}
        if mode == "kernel":
            import papermill

            start = time.perf_counter()
            try:
                papermill.execute_notebook(
                    notebook, str(Path(tmp) / "out.ipynb"), parameters=params,
                    kernel_name=KERNEL, cwd=str(PROJECT / "notebooks"), progress_bar=False,
                    log_output=False, execution_timeout=int(limit) if limit else None)
                out["seconds"] = time.perf_counter() - start
                out["out_bytes"] = (Path(tmp) / "out.ipynb").stat().st_size
            except Exception:
                if limit and time.perf_counter() - start >= limit:
                    out["timeout"] = limit
                else:
                    raise
            out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        else:
            t0 = time.perf_counter()
            import casereport.display.setup  # noqa: F401

            floor = Floor()
            import pandas  # noqa: F401
            import seaborn  # noqa: F401
            import statsmodels.api  # noqa: F401

            out["imports_seconds"] = time.perf_counter() - t0
            out["rss_after_imports_mib"] = _rss_now()
            profiler = None
            if profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()

            def _stop(*_: Any) -> None:
                raise TimeoutError

            if limit:
                signal.signal(signal.SIGALRM, _stop)
                signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                out["seconds"] = floor.run(notebook, params, PROJECT / "notebooks")
                out["cells"] = floor.cells
            except TimeoutError:
                out["timeout"] = limit
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(profile)
            out["peak_rss_mib"] = _maxrss_self()
    Path(out_json).write_text(json.dumps(out))


def run_worker(args: list[str], timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "out.json"
        try:
            wall, _ = timed([sys.executable, str(RUN_PY), *args, "--out", str(out)], cwd=REPO,
                            timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": timeout}
        result = json.loads(out.read_text())
        result["process_wall"] = wall
        return result
