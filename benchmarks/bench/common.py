"""Shared by every benchmark section: the private project copy, constants and targets, timing
and process helpers, the build's run plan, number formats.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


BENCH = REPO / "benchmarks"
RUN_PY = BENCH / "run.py"  # the command line; worker processes are started through it


WORK = BENCH / "work"


# a worker timing another commit's code is pointed at that commit's copy
PROJECT = Path(os.environ.get("CASEREPORT_BENCH_PROJECT", WORK / "project"))


BIN = Path(sys.executable).parent


RESULTS_JSON = BENCH / "results.json"


NOTES_MD = BENCH / "notes.md"


def _layout_constants():
    """``casereport.primitives.paths`` of this tree, loaded on its own (standard library
    only): importing the package here would bind it to this tree before ``main`` points
    every later import at the private copy."""
    spec = importlib.util.spec_from_file_location(
        "_bench_paths", REPO / "src" / "casereport" / "primitives" / "paths.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_PATHS = _layout_constants()
COPY = _PATHS.PROJECT_SOURCES  # what the tests' copies hold too


KERNEL = "casereport"


SECTIONS = ["overhead", "clean", "noop", "change", "scale", "fork", "odds", "builds",
            "spelling", "venv", "views", "figures"]


SIZES = [7, 100, 1000, 10000]


QUICK_SIZES = [7, 1000]


RUN_TIMEOUT = 1200  # seconds for any one timed subprocess


TARGETS = {
    "clean_vs_papermill": 0.6,
    "noop_seconds": 1.0,
    "noop_speedup": 20.0,
    "scale_ratio": 3.0,
}


os.environ["CASEREPORT_ROOT"] = str(PROJECT)


os.environ.setdefault("MPLBACKEND", "Agg")


os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


os.environ.pop("CASEREPORT_SKIP_PRERENDER", None)


os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning per kernel


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def timed(cmd: list[str], cwd: Path = PROJECT, timeout: float = RUN_TIMEOUT,
          env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command in its own process group; return (wall seconds, result). Raises on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        proc.communicate()
        raise
    seconds = time.perf_counter() - start
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                           f"--- stdout\n{out[-3000:]}\n--- stderr\n{err[-3000:]}")
    return seconds, result


def kill_tree(pid: int) -> None:
    """Kill a process we started and its descendants, by pid (kernels run in their own
    session, so killing the process group alone would leave them running)."""
    try:
        import psutil

        kids = psutil.Process(pid).children(recursive=True)
    except Exception:  # psutil missing or the process already gone
        kids = []
    for k in kids:
        with contextlib.suppress(Exception):
            k.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def casereport_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "casereport", *args]


def build_statuses() -> dict[str, tuple[str, float]]:
    """run_id -> (ran | cached | failed, seconds) of the last build in the project copy, as
    the build records them (.casereport-cache/last-build.json)."""
    record = PROJECT / ".casereport-cache" / "last-build.json"
    if not record.is_file():
        return {}
    runs = json.loads(record.read_text())["runs"]
    return {r["run_id"]: (r["status"], float(r["seconds"])) for r in runs}


def make_project(notebooks_from: Path | None = None, source: Path = REPO,
                 dest: Path = PROJECT) -> None:
    """A fresh private copy of the project (sources, data, notebooks, params) of ``source``
    (default: this working tree) in ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in COPY:
        src = source / name
        if notebooks_from is not None and name == "notebooks":
            src = notebooks_from
        if src.is_dir():  # a render's outputs in supplement/ are left behind
            ignore = _PATHS.COPY_IGNORE if name == "supplement" else _PATHS.COPY_IGNORE[:2]
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(*ignore))
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / "notebooks").mkdir(exist_ok=True)


def clean_build_state(project: Path = PROJECT) -> None:
    for name in ("build", ".casereport-cache", "_manuscript", "_variables.yml"):
        p = project / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for p in project.glob("build.*"):
        shutil.rmtree(p, ignore_errors=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def plan_runs(data_dir: Path | None = None,
              notebooks: list[str] | None = None) -> list[dict[str, Any]]:
    """The build's run list (of ``build --data-dir DATA_DIR --only NOTEBOOKS``): notebook,
    run id, effective parameters and declared inputs."""
    from casereport.pipeline import plan as runs
    from casereport.primitives import paths

    out = []
    for run in runs.plan(data_dir=data_dir, notebooks=notebooks):
        params = runs.effective_parameters(run)
        out.append({
            "run_id": run.run_id,
            "notebook": run.notebook,
            "notebook_path": str(run.notebook_path),
            "parameters": params,
            "inputs": [str(p.relative_to(paths.ROOT)) if p.is_relative_to(paths.ROOT) else str(p)
                       for p in runs.input_files(params, getattr(run, "reads", None))],
        })
    return out


def _write_params(path: Path, params: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(params, sort_keys=True))


def _fmt_s(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f} s"


def _fmt_x(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def _verdict(ok: bool | None, detail: str) -> str:
    if ok is None:
        return f"not measured ({detail})"
    return ("**met**" if ok else "**missed**") + f" ({detail})"


def _mib(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MiB"


def _kib(x: float | None) -> str:
    return "–" if x is None else f"{x / 1024:,.0f} KiB"
