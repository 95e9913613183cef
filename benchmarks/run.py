#!/usr/bin/env python
"""casereport benchmarks: one command, figures printed and written to benchmarks/results.*.

    .venv/bin/python benchmarks/run.py [--repeats N] [--clean-repeats N] [--quick]
                                       [--sections overhead,clean,noop,change,scale]

Everything runs on a private copy of the project in ``benchmarks/work/project`` (the package
is pointed at it with ``CASEREPORT_ROOT``), so the developer's ``build/`` and
``.casereport-cache/`` are never touched. Sections:

``overhead``  per-run fixed costs: Python start, ``import papermill``, a kernel start with an
              empty notebook, the same with the imports every notebook does.
``clean``     clean build (``casereport build --no-render``, cache and build/ deleted) against
              the same runs one after another with the ``papermill`` command line, with
              ``jupyter nbconvert --execute`` (parameters injected beforehand with
              ``papermill --prepare-only``, not timed) and the floor: one Python process that
              executes every run's code cells in-process (no kernels). Rounds interleave the
              four methods. The render step is timed separately.
``noop``      rebuild with nothing changed, against the clean build (with and without render).
``change``    rebuild after editing one cell of one data file: which runs re-executed (against
              the runs whose inputs include that file) and the time.
``scale``     synthetic trials (``casereport.synthetic``, fixed seed) of 7, 100, 1,000 and
              10,000 sites: wall time and peak memory of the engagement-fidelity notebook and
              case-profile runs, in a kernel (papermill) and in-process; cProfile at the
              largest size when the 3x target is missed.

Medians over repeats. Results: ``benchmarks/results.json`` (raw numbers; sections not re-run
are kept from the previous file) and ``benchmarks/results.md`` (tables, ratios, targets).
Never used as a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
WORK = BENCH / "work"
PROJECT = WORK / "project"
BIN = Path(sys.executable).parent
RESULTS_JSON = BENCH / "results.json"
NOTES_MD = BENCH / "notes.md"
COPY = ["data", "notebooks", "params", "src", "requirements", "index.qmd", "references.bib",
        "_quarto.yml", "pyproject.toml"]
KERNEL = "casereport"
SECTIONS = ["overhead", "clean", "noop", "change", "scale", "fork"]
SIZES = [7, 100, 1000, 10000]
QUICK_SIZES = [7, 1000]
RUN_TIMEOUT = 1200  # seconds for any one timed subprocess
TARGETS = {
    "clean_vs_papermill": 0.6,
    "noop_seconds": 1.0,
    "noop_speedup": 20.0,
    "scale_ratio": 3.0,
}

# The package must see the private copy: set before anything imports casereport.
os.environ["CASEREPORT_ROOT"] = str(PROJECT)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.pop("CASEREPORT_SKIP_PRERENDER", None)
os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning per kernel


# ============================================================================ helpers


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


def make_project(notebooks_from: Path | None = None) -> None:
    """A fresh private copy of the project (sources, data, notebooks, params)."""
    shutil.rmtree(PROJECT, ignore_errors=True)
    PROJECT.mkdir(parents=True)
    for name in COPY:
        src = REPO / name
        if notebooks_from is not None and name == "notebooks":
            src = notebooks_from
        if src.is_dir():
            shutil.copytree(src, PROJECT / name,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.exists():
            shutil.copy2(src, PROJECT / name)
    (PROJECT / "notebooks").mkdir(exist_ok=True)


def clean_build_state() -> None:
    for name in ("build", ".casereport-cache", "_manuscript", "_variables.yml"):
        p = PROJECT / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for p in PROJECT.glob("build.*"):
        shutil.rmtree(p, ignore_errors=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def plan_runs(data_dir: Path | None = None,
              notebooks: list[str] | None = None) -> list[dict[str, Any]]:
    """The build's run list (of ``build --data-dir DATA_DIR --only NOTEBOOKS``): notebook,
    run id, effective parameters and declared inputs."""
    from casereport import paths
    from casereport.pipeline import plan as runs

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


# ============================================================================ in-process floor


def _strip_magics(source: str) -> str:
    """Notebook cells are plain Python by contract; drop any IPython magic/shell line."""
    return "\n".join("pass  # magic removed" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


class Floor:
    """Execute notebooks' code cells in this process, as a kernel would but without one.

    Parameters are injected right after the ``parameters`` cell. What a kernel would send to
    the front end is still formatted (so that work is not missing from the floor): every
    open figure is rendered to PNG after each cell at the inline backend's retina resolution
    and closed, and objects passed to ``display`` or left as a cell's last expression get their
    text/HTML/Markdown representations computed, then dropped.
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
                exec(compile(tree, f"<{Path(notebook).stem} cell {i}>", "exec"), ns)
                if last is not None:
                    self.format(eval(compile(last, f"<{Path(notebook).stem} cell {i}>", "eval"),
                                     ns))
                if "parameters" in cell.get("metadata", {}).get("tags", []):
                    ns.update(parameters)
                self.flush()
        finally:
            os.chdir(old)
            self.plt.close("all")
        return time.perf_counter() - start


def floor_main(runs_json: str, out_json: str, profile: str | None,
               data_dir: str | None = None) -> None:
    """Subprocess entry: execute every run in runs_json in this one process.

    As the build does, the data folder is validated once first and the loaders are told
    so (``data.VALIDATED_ENV``), so the runs do the same work as in the build's kernels.
    Per run: wall seconds and CPU seconds of this process."""
    t0 = time.perf_counter()
    import casereport  # noqa: F401
    from casereport import data, notebook_setup, paths, validate  # noqa: F401

    floor = Floor()
    imports = time.perf_counter() - t0
    t1 = time.perf_counter()
    checked = validate.validate_dir(Path(data_dir) if data_dir else paths.DATA_DIR)
    if checked.problems:
        raise SystemExit(f"floor: data in {data_dir} failed validation")
    todo = json.loads(Path(runs_json).read_text())
    per_run, per_run_cpu = {}, {}
    profiler = None
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        record = Path(tmp) / "validated.json"
        data.record_validated(checked.files, record)
        os.environ[data.VALIDATED_ENV] = str(record)
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
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    Path(out_json).write_text(json.dumps({
        "imports_seconds": imports, "validation_seconds": validation, "per_run": per_run,
        "per_run_cpu": per_run_cpu, "maxrss_mib": _maxrss_self(),
    }))


def _maxrss_self() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_now() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ============================================================================ scale worker


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
            import casereport.notebook_setup  # noqa: F401

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
            wall, _ = timed([sys.executable, __file__, *args, "--out", str(out)], cwd=REPO,
                            timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": timeout}
        result = json.loads(out.read_text())
        result["process_wall"] = wall
        return result


# ============================================================================ sections


def section_overhead(repeats: int) -> dict[str, Any]:
    """Fixed per-run costs, each measured on its own."""
    import nbformat

    nbdir = WORK / "overhead"
    nbdir.mkdir(parents=True, exist_ok=True)
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("pass")]
    empty.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    imports = nbformat.v4.new_notebook(metadata=empty.metadata)
    imports.cells = [nbformat.v4.new_code_cell(
        "import pandas, numpy, scipy.stats, statsmodels.api, statsmodels.formula.api\n"
        "import matplotlib.pyplot, seaborn\n"
        "import casereport, casereport.data, casereport.stats, casereport.results\n"
        "from casereport import notebook_setup\nnotebook_setup.setup()\n"
        "for m in ('figures', 'tables', 'profile'):\n"
        "    try:\n        __import__(f'casereport.{m}')\n    except ImportError:\n        pass\n")]
    nbformat.write(empty, nbdir / "empty.ipynb")
    nbformat.write(imports, nbdir / "imports.ipynb")
    probes = {
        "python_start": [sys.executable, "-c", "pass"],
        "import_papermill": [sys.executable, "-c", "import papermill"],
        "import_nbformat": [sys.executable, "-c", "import nbformat"],
        "import_casereport_runs": [sys.executable, "-c", "import casereport.pipeline.plan"],
        "import_notebook_stack": [sys.executable, "-c",
                                  "import pandas, statsmodels.api, statsmodels.formula.api, "
                                  "seaborn, matplotlib.pyplot, casereport.stats, casereport.data"],
        "papermill_cli_empty": [str(BIN / "papermill"), str(nbdir / "empty.ipynb"),
                                str(nbdir / "empty.out.ipynb"), "-k", KERNEL],
        "papermill_cli_imports": [str(BIN / "papermill"), str(nbdir / "imports.ipynb"),
                                  str(nbdir / "imports.out.ipynb"), "-k", KERNEL],
        "nbconvert_cli_empty": [str(BIN / "jupyter"), "nbconvert", "--to", "notebook",
                                "--execute", f"--ExecutePreprocessor.kernel_name={KERNEL}",
                                "--output", "empty.nbconvert", str(nbdir / "empty.ipynb")],
    }
    samples: dict[str, list[float]] = {k: [] for k in probes}
    samples["papermill_api_empty"] = []
    samples["papermill_api_imports"] = []
    import papermill

    for _ in range(repeats):
        for name, cmd in probes.items():
            samples[name].append(timed(cmd, cwd=nbdir)[0])
        for name in ("empty", "imports"):
            start = time.perf_counter()
            papermill.execute_notebook(str(nbdir / f"{name}.ipynb"), str(nbdir / "api.ipynb"),
                                       kernel_name=KERNEL, progress_bar=False)
            samples[f"papermill_api_{name}"].append(time.perf_counter() - start)
    med = {k: median(v) for k, v in samples.items()}
    derived = {
        "kernel_start_stop": med["papermill_api_empty"],
        "kernel_imports": med["papermill_api_imports"] - med["papermill_api_empty"],
        "papermill_cli_process": med["papermill_cli_empty"] - med["papermill_api_empty"],
    }
    return {"samples": samples, "median": med, "derived": derived}


def _write_params(path: Path, params: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(params, sort_keys=True))


def _serial_papermill(todo: list[dict], tmp: Path) -> tuple[float, dict[str, float]]:
    per_run = {}
    start = time.perf_counter()
    for r in todo:
        pf = tmp / f"{r['run_id']}.yaml"
        _write_params(pf, {**r["parameters"], "results_dir": str(tmp / "pm-results" / r["run_id"])})
        per_run[r["run_id"]] = timed([str(BIN / "papermill"), r["notebook_path"],
                                      str(tmp / f"{r['run_id']}.pm.ipynb"), "-k", KERNEL,
                                      "-f", str(pf), "--cwd", str(PROJECT / "notebooks")])[0]
    return time.perf_counter() - start, per_run


def _prepare_nbconvert(todo: list[dict], tmp: Path) -> dict[str, Path]:
    prepared = {}
    for r in todo:
        pf = tmp / f"{r['run_id']}.nbc.yaml"
        results_dir = str(tmp / "nbc-results" / r["run_id"])
        _write_params(pf, {**r["parameters"], "results_dir": results_dir})
        out = tmp / "prepared" / f"{r['run_id']}.ipynb"
        out.parent.mkdir(exist_ok=True)
        timed([str(BIN / "papermill"), "--prepare-only", r["notebook_path"], str(out),
               "-k", KERNEL, "-f", str(pf)])
        prepared[r["run_id"]] = out
    return prepared


def _serial_nbconvert(prepared: dict[str, Path], tmp: Path) -> tuple[float, dict[str, float]]:
    per_run = {}
    outdir = tmp / "nbc-out"
    start = time.perf_counter()
    for run_id, nb in prepared.items():
        per_run[run_id] = timed([str(BIN / "jupyter"), "nbconvert", "--to", "notebook",
                                 "--execute", f"--ExecutePreprocessor.kernel_name={KERNEL}",
                                 "--output-dir", str(outdir), str(nb)], cwd=nb.parent)[0]
    return time.perf_counter() - start, per_run


def _floor(todo: list[dict], tmp: Path, profile: str | None = None,
           data_dir: Path | None = None) -> tuple[float, dict]:
    runs_json = tmp / "floor-runs.json"
    runs_json.write_text(json.dumps(todo))
    out = tmp / "floor-out.json"
    cmd = [sys.executable, __file__, "_floor", str(runs_json), "--out", str(out)]
    if profile:
        cmd += ["--profile", profile]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    wall = timed(cmd, cwd=REPO)[0]
    return wall, json.loads(out.read_text())


def _pipeline_clean(jobs: int) -> tuple[float, dict[str, tuple[str, float]]]:
    clean_build_state()
    wall, res = timed(casereport_cmd("build", "--no-render", "--jobs", str(jobs)))
    st = build_statuses()
    if not st or any(s != "ran" for s, _ in st.values()):
        raise RuntimeError(f"clean build did not execute every run:\n{res.stdout}")
    return wall, st


def _is_import_cell(source: str) -> bool:
    code = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return any(ln.startswith(("import ", "from ")) for ln in code)


def _cell_times() -> dict[str, Any]:
    """Where a run's time goes, from papermill's per-cell durations in build/runs/*.ipynb.

    Per notebook: runs, summed run seconds (the worker's wall time per run), summed cell
    seconds, summed seconds of the cells that import modules, and the slowest cells by
    mean duration over the runs.
    """
    import nbformat

    per_nb: dict[str, dict[str, Any]] = {}
    per_cell: dict[str, dict[int, list]] = {}
    manifest = json.loads((PROJECT / "build" / "manifest.json").read_text())
    for r in manifest["runs"]:
        nb = nbformat.read(PROJECT / r["executed_notebook"], as_version=4)
        slot = per_nb.setdefault(r["notebook"], {"runs": 0, "run_seconds": 0.0,
                                                  "cell_seconds": 0.0, "import_seconds": 0.0})
        slot["runs"] += 1
        slot["run_seconds"] += r.get("seconds") or 0.0
        cells = per_cell.setdefault(r["notebook"], {})
        for i, c in enumerate(nb.cells):
            d = c.get("metadata", {}).get("papermill", {}).get("duration")
            if c.cell_type != "code" or d is None:
                continue
            slot["cell_seconds"] += d
            if _is_import_cell(c.source):
                slot["import_seconds"] += d
            first = next((ln for ln in c.source.splitlines()
                          if ln.strip() and not ln.startswith("#|")), "")
            cells.setdefault(i, [0.0, first[:70]])[0] += d
    for name, slot in per_nb.items():
        top = sorted(per_cell[name].values(), reverse=True)[:3]
        slot["slowest_cells"] = [[round(total / slot["runs"], 3), src] for total, src in top]
    return per_nb


def section_clean(repeats: int, jobs: int) -> dict[str, Any]:
    todo = plan_runs()
    if not todo:
        raise RuntimeError("no notebook runs planned: are there notebooks in notebooks/?")
    log(f"clean: {len(todo)} runs, {repeats} round(s) of pipeline / papermill / nbconvert / floor")
    samples: dict[str, list[float]] = {k: [] for k in
                                       ("pipeline", "papermill", "nbconvert", "floor")}
    per_run: dict[str, Any] = {}
    render: dict[str, list[float]] = {"build_render_cached": [], "build_norender_cached": []}
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-clean-") as t:
            tmp = Path(t)
            wall, st = _pipeline_clean(jobs)
            samples["pipeline"].append(wall)
            per_run["pipeline"] = {k: v[1] for k, v in st.items()}
            log(f"  round {i + 1}: pipeline {wall:.1f}s")
            if i == 0:
                per_run["cells"] = _cell_times()
            # render, timed on the cache just filled: render minus no-render, both cached
            render["build_render_cached"].append(timed(casereport_cmd("build"))[0])
            render["build_norender_cached"].append(
                timed(casereport_cmd("build", "--no-render"))[0])
            wall, per_run["papermill"] = _serial_papermill(todo, tmp)
            samples["papermill"].append(wall)
            log(f"  round {i + 1}: papermill CLI serial {wall:.1f}s")
            prepared = _prepare_nbconvert(todo, tmp)
            wall, per_run["nbconvert"] = _serial_nbconvert(prepared, tmp)
            samples["nbconvert"].append(wall)
            log(f"  round {i + 1}: nbconvert serial {wall:.1f}s")
            wall, fl = _floor(todo, tmp)
            samples["floor"].append(wall)
            per_run["floor"] = fl["per_run"]
            per_run["floor_imports"] = fl["imports_seconds"]
            log(f"  round {i + 1}: floor {wall:.1f}s")
    med = {k: median(v) for k, v in samples.items()}
    rmed = {k: median(v) for k, v in render.items()}
    return {
        "runs": len(todo), "jobs": jobs, "repeats": repeats, "samples": samples, "median": med,
        "ratios": {
            "pipeline_vs_papermill": ratio(med["pipeline"], med["papermill"]),
            "pipeline_vs_nbconvert": ratio(med["pipeline"], med["nbconvert"]),
            "pipeline_vs_floor": ratio(med["pipeline"], med["floor"]),
            "papermill_vs_floor": ratio(med["papermill"], med["floor"]),
        },
        "render": {"samples": render, "median": rmed,
                   "render_seconds": (rmed["build_render_cached"] or 0)
                   - (rmed["build_norender_cached"] or 0)},
        "per_run": per_run,
        "run_ids": [r["run_id"] for r in todo],
    }


# ============================================================================ forked kernels


def _rusage_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _measured(cmd: list[str], cwd: Path = PROJECT) -> dict[str, Any]:
    """Run a command; wall seconds, CPU seconds of it and every descendant (all are waited
    for by their parents, so RUSAGE_CHILDREN holds them), and the peak of the summed RSS
    of its process tree, sampled every 0.2 s (pages a forked kernel shares with its
    template are counted in both, so this overstates the memory really used)."""
    import threading

    import psutil

    cpu0 = _rusage_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with contextlib.suppress(Exception):
                top = psutil.Process(proc.pid)
                rss = sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])
                peak[0] = max(peak[0], rss / 2**20)
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n"
                           f"{out[-3000:]}\n{err[-3000:]}")
    return {"wall": wall, "cpu": _rusage_cpu() - cpu0, "peak_rss_mib": peak[0], "stdout": out}


def _with_cpu(fn, *a) -> tuple[float, float, Any]:
    cpu0 = _rusage_cpu()
    wall, extra = fn(*a)
    return wall, _rusage_cpu() - cpu0, extra


def _overheads(cells: dict[str, Any]) -> dict[str, float]:
    """Mean seconds per run outside the cells, and outside the cells plus the import cells."""
    runs = sum(v["runs"] for v in cells.values())
    outside = sum(v["run_seconds"] - v["cell_seconds"] for v in cells.values())
    imports = sum(v["import_seconds"] for v in cells.values())
    return {"runs": runs, "outside_cells": outside / runs,
            "outside_cells_and_imports": (outside + imports) / runs}


def _cache_cell_seconds() -> tuple[int, float]:
    """(runs, summed cell seconds) of the executed notebooks in the project copy's cache."""
    import nbformat

    n, total = 0, 0.0
    for nb_path in (PROJECT / ".casereport-cache" / "runs").glob("*/*/notebook.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        n += 1
        total += sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
                     for c in nb.cells if c.cell_type == "code")
    return n, total


def section_fork(repeats: int, jobs: int, sites: list[int]) -> dict[str, Any]:
    """Clean build with forked kernels against the same build with --no-fork, serial papermill
    and nbconvert and the in-process floor (wall and CPU seconds); per-run overhead; and the
    case-profile build of synthetic trials of ``sites`` sites (time, CPU, peak memory)."""
    from casereport import synthetic

    todo = plan_runs()
    log(f"fork: {len(todo)} runs, {repeats} round(s) of fork / no-fork / papermill / "
        "nbconvert / floor")
    keys = ("fork", "nofork", "papermill", "nbconvert", "floor")
    wall: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}
    overhead: dict[str, Any] = {}
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-fork-") as t:
            tmp = Path(t)
            for key, extra in (("fork", []), ("nofork", ["--no-fork"])):
                clean_build_state()
                m = _measured(casereport_cmd("build", "--no-render", "--jobs", str(jobs), *extra))
                if key == "fork" and "not forked" in m["stdout"]:
                    raise RuntimeError(f"the forked build fell back:\n{m['stdout']}")
                wall[key].append(m["wall"])
                cpu[key].append(m["cpu"])
                overhead.setdefault(key, []).append(_overheads(_cell_times()))
                log(f"  round {i + 1}: {key} {m['wall']:.1f}s wall, {m['cpu']:.1f}s CPU")
            w, c, _ = _with_cpu(_serial_papermill, todo, tmp)
            wall["papermill"].append(w)
            cpu["papermill"].append(c)
            w, c, _ = _with_cpu(_serial_nbconvert, _prepare_nbconvert(todo, tmp), tmp)
            wall["nbconvert"].append(w)
            cpu["nbconvert"].append(c)
            w, c, _ = _with_cpu(_floor, todo, tmp)
            wall["floor"].append(w)
            cpu["floor"].append(c)
            log(f"  round {i + 1}: papermill {wall['papermill'][-1]:.1f}s, nbconvert "
                f"{wall['nbconvert'][-1]:.1f}s, floor {w:.1f}s")
    med_wall = {k: median(v) for k, v in wall.items()}
    med_cpu = {k: median(v) for k, v in cpu.items()}
    scale = []
    for n in sites:
        with tempfile.TemporaryDirectory(prefix="bench-sites-") as t:
            synthetic.make_trial(Path(t), n, n)
            clean_build_state()
            m = _measured(casereport_cmd("build", "--no-render", "--jobs", str(jobs),
                                         "--data-dir", t, "--only", "case_profile"))
            runs, cells = _cache_cell_seconds()
            # the same runs' analysis, in one process without kernels (CPU per run)
            syn = plan_runs(Path(t), ["case_profile"])
            _, fl = _floor(syn, Path(t), data_dir=Path(t))
            analysis_cpu = sum(fl["per_run_cpu"].values())
            scale.append({"sites": n, "runs": runs, "wall": m["wall"], "cpu": m["cpu"],
                          "cell_seconds": cells, "peak_rss_mib": m["peak_rss_mib"],
                          "analysis_cpu": analysis_cpu,
                          "cpu_per_run_beyond_analysis": (m["cpu"] - analysis_cpu) / runs})
            log(f"  {n} sites: {runs} case profiles, {m['wall']:.1f}s wall, {m['cpu']:.1f}s "
                f"CPU ({analysis_cpu:.1f}s of it analysis, in one process), peak "
                f"{m['peak_rss_mib']:.0f} MiB")
    return {
        "runs": len(todo), "jobs": jobs, "repeats": repeats,
        "wall": wall, "cpu": cpu, "median_wall": med_wall, "median_cpu": med_cpu,
        "ratios": {f"fork_vs_{k}": ratio(med_wall["fork"], med_wall[k])
                   for k in keys if k != "fork"},
        "overhead": {k: {f: median([o[f] for o in v]) for f in v[0]} for k, v in overhead.items()},
        "scale": scale,
    }


def fork_markdown(f: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The forked-kernel section of results.md and its target verdicts."""
    mw, mc, r = f["median_wall"], f["median_cpu"], f["ratios"]
    L = ["## Forked kernels (issue 14)", "",
         f"{f['runs']} notebook runs, `--jobs {f['jobs']}`, {f['repeats']} round(s), methods "
         f"interleaved; load average (1 min) before/after: {f.get('load')}. CPU seconds are "
         "those of the command and every process under it.", "",
         "| method | median wall | median CPU | build (forked) / method |", "|---|---|---|---|"]
    names = {"fork": "`casereport build --no-render` (forked kernels)",
             "nofork": "`casereport build --no-render --no-fork`",
             "papermill": "`papermill` CLI, serial", "nbconvert": "`jupyter nbconvert --execute`, "
             "serial", "floor": "floor: one process, no kernels"}
    for k, name in names.items():
        rat = "1.00×" if k == "fork" else _fmt_x(r.get(f"fork_vs_{k}"))
        L.append(f"| {name} | {_fmt_s(mw[k], 1)} | {_fmt_s(mc[k], 1)} | {rat} |")
    o = f["overhead"]
    L += ["", "Per-run overhead: a run's wall time in its worker minus the durations of its "
          "cells (kernel start, parameter injection, messaging, shutdown, writing the "
          "notebook); the second figure also counts the notebooks' import cells.", "",
          "| kernels | outside cells | outside cells + import cells |", "|---|---|---|",
          *[f"| {k} | {_fmt_s(v['outside_cells'])} | {_fmt_s(v['outside_cells_and_imports'])} |"
            for k, v in o.items()], "",
          "Synthetic trials (`casereport.synthetic`, n ENRICH-like and n RETAKE-like sites): "
          "`casereport build --no-render --data-dir SYN --only case_profile`, one case profile "
          "per site, forked kernels. Peak memory is the summed RSS of the build's process tree "
          "(shared copy-on-write pages counted once per process).", "",
          "| sites per trial | runs | wall | CPU | the analysis' CPU (one process) | CPU per "
          "run beyond the analysis | peak RSS (tree) |", "|---|---|---|---|---|---|---|"]
    for s in f["scale"]:
        an = s.get("analysis_cpu")
        L.append(f"| {s['sites']} | {s['runs']} | {_fmt_s(s['wall'], 1)} | {_fmt_s(s['cpu'], 1)} "
                 f"| {_fmt_s(an, 1)} | {_fmt_s(s.get('cpu_per_run_beyond_analysis'))} | "
                 f"{s['peak_rss_mib']:.0f} MiB |")
    marg = _marginal_beyond(f["scale"])
    L += ["", "The analysis' CPU is that of the same runs' cells executed one after another in "
          "one Python process with no kernel (the floor method; the data validated once, as "
          "the build does). 'Beyond the analysis' is the build's CPU minus that, per run; it "
          "includes the fixed costs (the build's start, validation and the two templates' "
          "imports). Per extra site (between the two sizes, so fixed costs cancel): "
          + (f"**{_fmt_s(marg)} CPU** beyond the analysis." if marg is not None else "n/a."),
          ""]
    v = []
    fr = r.get("fork_vs_floor")
    v.append(("Clean build ≤ 3× the in-process floor (forked kernels)",
              _verdict(fr is not None and fr <= 3.0, f"{_fmt_x(fr)}")))
    ov = o.get("fork", {}).get("outside_cells")
    v.append(("Overhead per run ≤ 0.3 s (forked kernels)",
              _verdict(ov is not None and ov <= 0.3, f"{_fmt_s(ov)} outside cells")))
    if len(f["scale"]) >= 2:
        a, b = f["scale"][0], f["scale"][-1]
        lin = (b["cpu"] / a["cpu"]) / (b["runs"] / a["runs"])
        per = b["cpu"] / b["runs"]
        v.append(("Case profiles scale linearly (CPU per run at the larger / the smaller size)",
                  _verdict(lin <= 1.2, f"{lin:.2f}, {a['sites']} to {b['sites']} sites")))
        marg = _marginal_beyond(f["scale"])
        v.append(("≤ 0.5 s CPU per site beyond its analysis",
                  _verdict(None if marg is None else marg <= 0.5,
                           f"{_fmt_s(marg)} per extra site; {_fmt_s(per)} per case profile in "
                           "all, analysis included")))
    return L, v


def _marginal_beyond(scale: list[dict[str, Any]]) -> float | None:
    """CPU seconds per extra case profile beyond its analysis, between the smallest and the
    largest synthetic trial: (Δ build CPU − Δ analysis CPU) / Δ runs."""
    if len(scale) < 2 or any(s.get("analysis_cpu") is None for s in scale):
        return None
    a, b = scale[0], scale[-1]
    extra_cpu = (b["cpu"] - a["cpu"]) - (b["analysis_cpu"] - a["analysis_cpu"])
    return extra_cpu / (b["runs"] - a["runs"])


def _profile_noop() -> list[list]:
    """cProfile of one no-op build: the casereport functions and imports that take the time."""
    with tempfile.TemporaryDirectory(prefix="bench-prof-") as t:
        prof = Path(t) / "noop.prof"
        timed([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "casereport", "build",
               "--no-render"])
        return _top_functions(prof, 18, prefer=("casereport", "<frozen importlib._bootstrap>"))


def _top_functions(prof: Path, n: int, prefer: tuple[str, ...] = ()) -> list[list]:
    import pstats

    st = pstats.Stats(str(prof))
    rows = []
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in st.stats.items():  # type: ignore
        short = file.split("site-packages/")[-1].split("/src/")[-1]
        rows.append([round(ct, 3), round(tt, 3), f"{short}:{line}({func})"])
    rows.sort(reverse=True)
    if prefer:
        picked = [r for r in rows if any(p in r[2] for p in prefer)]
        return picked[:n]
    return rows[:n]


def section_noop(repeats: int, clean: dict[str, Any] | None, jobs: int) -> dict[str, Any]:
    # a complete cache and build/ first (after `clean` they exist; otherwise build now)
    first = timed(casereport_cmd("build", "--jobs", str(jobs)))[0]
    samples: dict[str, list[float]] = {"noop_norender": [], "noop_render": []}
    for _ in range(repeats):
        wall, res = timed(casereport_cmd("build", "--no-render"))
        st = build_statuses()
        if any(s != "cached" for s, _ in st.values()):
            raise RuntimeError(f"no-op build executed runs:\n{res.stdout}")
        samples["noop_norender"].append(wall)
        samples["noop_render"].append(timed(casereport_cmd("build"))[0])
    med = {k: median(v) for k, v in samples.items()}
    clean_nr = clean["median"]["pipeline"] if clean else None
    clean_r = (clean_nr + clean["render"]["render_seconds"]) if clean else None
    return {
        "repeats": repeats, "samples": samples, "median": med, "setup_build_seconds": first,
        "clean_norender": clean_nr, "clean_render_estimate": clean_r,
        "speedup_norender": ratio(clean_nr, med["noop_norender"]),
        "speedup_render": ratio(clean_r, med["noop_render"]),
        "profile_top": _profile_noop(),
    }


EDITS = {
    # file -> (column edited in row 1, step): free columns, no derived published value
    "enrich_sites.csv": ("fidelity_score", 0.1),
    "retake_sites.csv": ("pct_phone_teams", -0.1),
}


def _edit(file: Path, column: str, step: float, k: int) -> None:
    import csv

    rows = list(csv.reader(file.read_text(encoding="utf-8").splitlines()))
    col = rows[0].index(column)
    rows[1][col] = f"{float(rows[1][col]) + step * k:.1f}"
    with open(file, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def section_change(repeats: int, files: list[str], jobs: int) -> dict[str, Any]:
    todo = plan_runs()
    timed(casereport_cmd("build", "--no-render", "--jobs", str(jobs)))  # cache complete
    out: dict[str, Any] = {"repeats": repeats, "files": {}}
    for name in files:
        column, step = EDITS[name]
        path = PROJECT / "data" / name
        original = path.read_bytes()
        readers = sorted(r["run_id"] for r in todo if f"data/{name}" in r["inputs"])
        samples, executed_sets = [], []
        try:
            for k in range(1, repeats + 1):
                _edit(path, column, step, k)  # new content every repeat: never a cache hit
                wall, res = timed(casereport_cmd("build", "--no-render", "--jobs", str(jobs)))
                st = build_statuses()
                samples.append(wall)
                executed_sets.append(sorted(r for r, (s, _) in st.items() if s == "ran"))
                path.write_bytes(original)
        finally:
            path.write_bytes(original)
        executed = executed_sets[-1]
        out["files"][name] = {
            "edit": f"row 1 {column} {step:+} x repeat", "samples": samples,
            "median": median(samples), "executed": len(executed), "total_runs": len(todo),
            "declared_readers": len(readers),
            "only_readers": all(set(e) <= set(readers) for e in executed_sets),
            "all_readers": all(set(e) == set(readers) for e in executed_sets),
            "executed_runs": executed, "reader_runs": readers,
        }
        log(f"  change {name}: {len(executed)}/{len(todo)} runs re-executed "
            f"(declared readers {len(readers)}), median {median(samples):.1f}s")
    timed(casereport_cmd("build", "--no-render", "--jobs", str(jobs)))  # back to the data
    return out


def _scale_params(notebook: str, data_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from casereport.pipeline import plan as runs

    defaults = runs.notebook_defaults(PROJECT / "notebooks" / f"{notebook}.ipynb")
    params = {k: v for k, v in defaults.items() if k not in runs.BUILD_OWNED}
    for k, v in defaults.items():
        if isinstance(v, str) and v.startswith("data/"):
            params[k] = str(data_dir / Path(v).name)
    params.update(extra)
    params["parameter_set"] = f"scale-{notebook}"
    return params


def scale_analyses() -> dict[str, tuple[str, dict[str, Any]]]:
    have = {p.stem for p in (PROJECT / "notebooks").glob("*.ipynb")}
    out = {}
    if "engagement_fidelity" in have:
        out["engagement_fidelity"] = ("engagement_fidelity", {})
    if "case_profile" in have:
        out["case_profile enrich site 1"] = ("case_profile", {"trial": "enrich", "site": "1"})
        out["case_profile retake site 1"] = ("case_profile", {"trial": "retake", "site": "1"})
    return out


def _profile_tables(prof: Path) -> dict[str, list]:
    return {
        "profile_top_cumulative": _top_functions(prof, 25),
        "profile_top_casereport": _top_functions(prof, 15, prefer=("casereport",)),
        "profile_top_self": sorted(_top_functions(prof, 100000), key=lambda r: -r[1])[:15],
    }


def section_scale(repeats: int, sizes: list[int], profile: bool, limit: float,
                  big_repeats: int) -> dict[str, Any]:
    from casereport import synthetic

    analyses = scale_analyses()
    if not analyses:
        raise RuntimeError("neither engagement_fidelity nor case_profile is in notebooks/")
    res: dict[str, Any] = {"repeats": repeats, "big_repeats": big_repeats, "limit": limit,
                           "seed": synthetic.DEFAULT_SEED, "sizes": sizes, "analyses": {}}
    stopped: dict[str, int] = {}
    synth = WORK / "synthetic"
    for n in sizes:
        t0 = time.perf_counter()
        trial = synthetic.make_trial(synth / f"sites-{n}", n, n)
        gen = time.perf_counter() - t0
        reps = repeats if n <= 100 else min(repeats, big_repeats)
        for label, (nb, extra) in analyses.items():
            tag = f"{n}-{label.replace(' ', '_')}"
            params_file = synth / f"params-{tag}.json"
            params_file.write_text(json.dumps(_scale_params(nb, trial.data_dir, extra)))
            nb_path = str(PROJECT / "notebooks" / f"{nb}.ipynb")
            slot = res["analyses"].setdefault(label, {}).setdefault(str(n), {
                "generate_seconds": gen, "kernel": [], "inproc": []})
            if label in stopped:
                slot["skipped"] = f"the {stopped[label]:,}-site run exceeded {limit:.0f} s"
                log(f"  scale {n:>6} sites  {label:<28} skipped ({slot['skipped']})")
                continue
            wlimit = ["--limit", str(limit)]
            for _ in range(reps):
                k = run_worker(["_scale", "kernel", nb_path, str(params_file), *wlimit],
                               timeout=2 * limit + 120)
                slot["kernel"].append(k)
                if "timeout" in k:
                    break
                slot["inproc"].append(run_worker(["_scale", "inproc", nb_path, str(params_file),
                                                  *wlimit], timeout=2 * limit + 120))
            if any("timeout" in x for x in slot["kernel"] + slot["inproc"]):
                stopped[label] = n
                slot["timed_out"] = True
                if profile:  # where the time goes, up to the limit
                    prof = synth / f"profile-{tag}.prof"
                    run_worker(["_scale", "inproc", nb_path, str(params_file), "--profile",
                                str(prof), "--limit", str(min(limit, 150))],
                               timeout=limit + 120)
                    if prof.exists():
                        slot.update(_profile_tables(prof))
            k = median([s.get("seconds") for s in slot["kernel"]])
            p = median([s.get("seconds") for s in slot["inproc"]])
            slot["median"] = {
                "kernel_seconds": k, "inproc_seconds": p,
                "kernel_peak_rss_mib": median([s.get("peak_rss_mib") for s in slot["kernel"]]),
                "inproc_peak_rss_mib": median([s.get("peak_rss_mib") for s in slot["inproc"]]),
                "inproc_rss_after_imports_mib": median(
                    [s.get("rss_after_imports_mib") for s in slot["inproc"]]),
                "notebook_bytes": median([s.get("out_bytes") for s in slot["kernel"]]),
            }
            log(f"  scale {n:>6} sites  {label:<28} kernel {_fmt_s(k)}  in-process {_fmt_s(p)}"
                + ("  (time limit reached)" if slot.get("timed_out") else ""))
    for label, by_n in res["analyses"].items():
        lo = by_n.get(str(min(sizes)), {}).get("median", {})
        hi = by_n.get(str(max(sizes)), {}).get("median", {})
        by_n["ratio"] = {m: ratio(hi.get(f"{m}_seconds"), lo.get(f"{m}_seconds"))
                         for m in ("kernel", "inproc")}
        if label in stopped:
            continue
        missed = any(x is None or x > TARGETS["scale_ratio"] for x in by_n["ratio"].values())
        if profile and missed:
            n = max(sizes)
            tag = f"{n}-{label.replace(' ', '_')}"
            prof = synth / f"profile-{tag}.prof"
            nb, _extra = analyses[label]
            run_worker(["_scale", "inproc", str(PROJECT / "notebooks" / f"{nb}.ipynb"),
                        str(synth / f"params-{tag}.json"), "--profile", str(prof),
                        "--limit", str(limit)], timeout=2 * limit + 120)
            if prof.exists():
                by_n[str(n)].update(_profile_tables(prof))
    return res


# ============================================================================ report


def _fmt_s(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f} s"


def _fmt_x(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def _verdict(ok: bool | None, detail: str) -> str:
    if ok is None:
        return f"not measured ({detail})"
    return ("**met**" if ok else "**missed**") + f" ({detail})"


def write_markdown(results: dict[str, Any]) -> str:
    L: list[str] = []
    meta = results.get("meta", {})
    L += ["# Benchmark results", "",
          f"Produced by `.venv/bin/python benchmarks/run.py {meta.get('argv', '')}` "
          f"on {meta.get('date', '?')} (commit `{meta.get('commit', '?')}`), "
          f"{meta.get('cpus', '?')} cores, {meta.get('memory_gib', '?')} GiB, Python "
          f"{meta.get('python', '?')}, papermill {meta.get('papermill', '?')}, "
          f"nbconvert {meta.get('nbconvert', '?')}. Medians over the repeats stated per "
          "section; raw samples in `results.json`. Load average (1 min) is noted per section "
          "because other work shared the machine.", ""]
    s = results.get("sections", {})
    verdicts = []

    if "clean" in s:
        c = s["clean"]
        m, r = c["median"], c["ratios"]
        L += ["## 1. Clean build against papermill, nbconvert and the in-process floor", "",
              f"{c['runs']} notebook runs; `casereport build --no-render --jobs {c['jobs']}` "
              "from an empty cache against the same runs executed one after another; "
              f"{c['repeats']} round(s), methods interleaved; load {c.get('load')}.", "",
              "| method | median wall | ratio build / method | samples |", "|---|---|---|---|"]
        labels = {"pipeline": "`casereport build --no-render` (process pool)",
                  "papermill": "`papermill` CLI, serial", "nbconvert":
                  "`jupyter nbconvert --execute`, serial", "floor":
                  "floor: one process, no kernels"}
        for k, lab in labels.items():
            rr = 1.0 if k == "pipeline" else ratio(m["pipeline"], m[k])
            L.append(f"| {lab} | {_fmt_s(m[k], 1)} | {_fmt_x(rr)} | "
                     f"{', '.join(f'{x:.1f}' for x in c['samples'][k])} |")
        ren = c["render"]
        L += ["", f"Render step (report fragments + pandoc preview, no Quarto on this machine), "
              f"timed separately: {_fmt_s(ren['render_seconds'])} (cached `build` "
              f"{_fmt_s(ren['median']['build_render_cached'])} minus cached `build --no-render` "
              f"{_fmt_s(ren['median']['build_norender_cached'])}).", ""]
        ok = r["pipeline_vs_papermill"] is not None and \
            r["pipeline_vs_papermill"] <= TARGETS["clean_vs_papermill"]
        verdicts.append(("Clean build ≤ 0.6 × serial papermill",
                         _verdict(ok, f"{_fmt_x(r['pipeline_vs_papermill'])}")))
        cells = c["per_run"].get("cells", {})
        if cells:
            L += ["Where a run's time goes (papermill per-cell durations in the executed "
                  "notebooks of a clean build, two runs at a time; 'run' is the worker's wall "
                  "time for the run, kernel start and shutdown included):", "",
                  "| notebook | runs | mean run | mean in cells | of which import cells "
                  "| mean outside cells | slowest cells (mean) |", "|---|---|---|---|---|---|---|"]
            for nb, v in sorted(cells.items()):
                n = v["runs"]
                slow = "; ".join(f"{d:.2f}s `{src}`" for d, src in v.get("slowest_cells", []))
                L.append(f"| {nb} | {n} | {v['run_seconds'] / n:.2f} s | "
                         f"{v['cell_seconds'] / n:.2f} s | {v['import_seconds'] / n:.2f} s | "
                         f"{(v['run_seconds'] - v['cell_seconds']) / n:.2f} s | {slow} |")
            L.append("")
        fl = c["per_run"].get("floor", {})
        if fl:
            L += [f"Floor: `import casereport` {_fmt_s(c['per_run'].get('floor_imports'))}, "
                  f"then the {len(fl)} runs' cells in {_fmt_s(sum(fl.values()))} (the first "
                  "run's import cell imports pandas, seaborn, statsmodels once; mean "
                  f"{_fmt_s(sum(fl.values()) / len(fl))} per run); the rest of the floor's "
                  "wall time is the interpreter start and reading the notebooks.", ""]

    if "overhead" in s:
        o = s["overhead"]
        m, d = o["median"], o["derived"]
        L += ["## Per-run overhead", "", f"{len(o['samples']['python_start'])} repeat(s); "
              f"load {o.get('load')}.", "",
              "| what | median |", "|---|---|",
              f"| Python start (`python -c pass`) | {_fmt_s(m['python_start'])} |",
              f"| `import nbformat` (fresh process) | {_fmt_s(m['import_nbformat'])} |",
              f"| `import papermill` (fresh process) | {_fmt_s(m['import_papermill'])} |",
              f"| `import casereport.pipeline.plan` (fresh process) | "
              f"{_fmt_s(m['import_casereport_runs'])} |",
              f"| notebook import stack (pandas, statsmodels, seaborn, casereport) in a fresh "
              f"process | {_fmt_s(m['import_notebook_stack'])} |",
              f"| kernel start + stop, empty notebook (papermill API) | "
              f"{_fmt_s(d['kernel_start_stop'])} |",
              f"| imports inside the kernel (imports notebook − empty) | "
              f"{_fmt_s(d['kernel_imports'])} |",
              f"| papermill CLI process on top of the API (CLI − API, empty) | "
              f"{_fmt_s(d['papermill_cli_process'])} |",
              f"| `papermill` CLI, empty notebook | {_fmt_s(m['papermill_cli_empty'])} |",
              f"| `papermill` CLI, imports notebook | {_fmt_s(m['papermill_cli_imports'])} |",
              f"| `jupyter nbconvert --execute`, empty notebook | "
              f"{_fmt_s(m['nbconvert_cli_empty'])} |", ""]

    if "noop" in s:
        n = s["noop"]
        m = n["median"]
        L += ["## 2. No-op rebuild", "", f"{n['repeats']} repeat(s); load {n.get('load')}.", "",
              "| build | clean | no-op | speed-up |", "|---|---|---|---|",
              f"| `casereport build --no-render` | {_fmt_s(n['clean_norender'], 1)} | "
              f"{_fmt_s(m['noop_norender'])} | {_fmt_x(n['speedup_norender'])} |",
              f"| `casereport build` (with render; clean = clean `--no-render` + render) | "
              f"{_fmt_s(n['clean_render_estimate'], 1)} | {_fmt_s(m['noop_render'])} | "
              f"{_fmt_x(n['speedup_render'])} |", ""]
        ok1 = m["noop_norender"] is not None and m["noop_norender"] < TARGETS["noop_seconds"]
        ok2 = n["speedup_norender"] is not None and \
            n["speedup_norender"] >= TARGETS["noop_speedup"]
        verdicts.append(("No-op rebuild < 1 s", _verdict(
            ok1, f"{_fmt_s(m['noop_norender'])} without render, "
            f"{_fmt_s(m['noop_render'])} with render")))
        verdicts.append(("No-op ≥ 20 × faster than clean", _verdict(
            ok2, f"{_fmt_x(n['speedup_norender'])} without render, "
            f"{_fmt_x(n['speedup_render'])} with render")))
        if n.get("profile_top"):
            L += ["cProfile of one no-op `build --no-render` (cumulative seconds, casereport "
                  "functions and imports; profiling inflates the times):", "",
                  "| cumulative | self | function |", "|---|---|---|"]
            L += [f"| {ct:.3f} | {tt:.3f} | `{fn}` |" for ct, tt, fn in n["profile_top"]]
            L.append("")

    if "change" in s:
        ch = s["change"]
        L += ["## 3. Rebuild after changing one data file", "",
              f"One cell of row 1 edited (a new value each repeat); `build --no-render`; "
              f"{ch['repeats']} repeat(s); load {ch.get('load')}.", "",
              "| file changed | runs re-executed | runs declaring the file as input | "
              "only those? | median time |", "|---|---|---|---|---|"]
        all_ok = True
        for f, v in ch["files"].items():
            all_ok &= bool(v["only_readers"])
            L.append(f"| `{f}` | {v['executed']} of {v['total_runs']} | "
                     f"{v['declared_readers']} | "
                     f"{'yes' if v['only_readers'] else 'NO'}"
                     f"{'' if v['all_readers'] else ' (not all of them ran)'} | "
                     f"{_fmt_s(v['median'], 1)} |")
        L.append("")
        for f, v in ch["files"].items():
            L.append(f"- `{f}` re-executed: {', '.join(v['executed_runs'])}")
        L.append("")
        verdicts.append(("One-file change re-executes only its readers",
                         _verdict(all_ok, ", ".join(f"{f}: {v['executed']}/{v['total_runs']}"
                                                    for f, v in ch["files"].items()))))

    if "scale" in s:
        sc = s["scale"]
        L += ["## 4. Scale: synthetic trials", "",
              f"`casereport.synthetic.make_trial(dir, n, n, seed={sc['seed']})` (n ENRICH-like "
              "and n RETAKE-like sites); each analysis's data-path parameters point at the "
              f"synthetic files. {sc['repeats']} repeat(s); load {sc.get('load')}. "
              "*kernel*: papermill run in the `casereport` kernel (kernel start and imports "
              "included), peak RSS of the kernel process (`getrusage(RUSAGE_CHILDREN)` in a "
              "wrapper process); *in-process*: the notebook's cells executed in a fresh "
              "Python process after the imports (floor method), peak RSS of that process "
              "(`RUSAGE_SELF`).", "",
              "| analysis | sites | kernel wall | in-process wall | kernel peak RSS | "
              "in-process peak RSS (after imports) | executed notebook |",
              "|---|---|---|---|---|---|---|"]
        for label, by_n in sc["analyses"].items():
            for n in sc["sizes"]:
                v = by_n.get(str(n))
                if not v:
                    continue
                if v.get("skipped"):
                    L.append(f"| {label} | {n:,} | not run: {v['skipped']} | | | | |")
                    continue
                mm = v["median"]
                over = f"> {sc['limit']:.0f} s (stopped)"
                kt = over if mm["kernel_seconds"] is None and v.get("timed_out") \
                    else _fmt_s(mm["kernel_seconds"])
                it = over if mm["inproc_seconds"] is None and v.get("timed_out") \
                    else _fmt_s(mm["inproc_seconds"])
                L.append(
                    f"| {label} | {n:,} | {kt} | {it} | {_mib(mm['kernel_peak_rss_mib'])} | "
                    f"{_mib(mm['inproc_peak_rss_mib'])} ({_mib(mm['inproc_rss_after_imports_mib'])}"
                    f") | {_kib(mm['notebook_bytes'])} |")
        L.append("")
        worst_ok = True
        details = []
        for label, by_n in sc["analyses"].items():
            r = by_n.get("ratio", {})
            if r.get("kernel") is None:
                done = [n for n in sc["sizes"] if by_n.get(str(n), {}).get("median", {})
                        .get("kernel_seconds") is not None]
                big = max(done) if done else None
                lo_s = by_n.get(str(min(sc["sizes"])), {}).get("median", {}).get(
                    "kernel_seconds")
                hi_s = by_n.get(str(big), {}).get("median", {}).get("kernel_seconds")
                at = (f", already {_fmt_x(ratio(hi_s, lo_s))} at {big:,} sites"
                      if big and big != min(sc["sizes"]) else "")
                details.append(f"{label}: {max(sc['sizes']):,} sites not reached{at}")
            else:
                details.append(f"{label}: {_fmt_x(r.get('kernel'))} kernel, "
                               f"{_fmt_x(r.get('inproc'))} in-process")
            worst_ok &= r.get("kernel") is not None and r["kernel"] <= TARGETS["scale_ratio"]
        L += [f"Largest / smallest size: {'; '.join(details)}.", ""]
        verdicts.append((f"{max(sc['sizes']):,} sites within 3 × the {min(sc['sizes'])}-site "
                         "time (kernel wall)", _verdict(worst_ok, "; ".join(details))))
        for label, by_n in sc["analyses"].items():
            for n in sc["sizes"]:
                v = by_n.get(str(n), {})
                if not v.get("profile_top_casereport"):
                    continue
                cut = " (stopped at the time limit)" if v.get("timed_out") else ""
                L += [f"cProfile, {label}, {n:,} sites, in-process{cut} "
                      "(cumulative / self seconds; casereport functions, then the largest "
                      "self times):", "", "| cumulative | self | function |", "|---|---|---|"]
                seen = set()
                for ct, tt, fn in (v["profile_top_casereport"] + v.get("profile_top_self", [])[:8]):
                    if fn not in seen:
                        seen.add(fn)
                        L.append(f"| {ct:.3f} | {tt:.3f} | `{fn}` |")
                L.append("")

    if "fork" in s:
        fl, fv = fork_markdown(s["fork"])
        L += fl
        verdicts += fv
    if verdicts:
        L[4:4] = ["## Targets", "", "| target | result |", "|---|---|",
                  *[f"| {t} | {v} |" for t, v in verdicts], ""]
    if NOTES_MD.exists():  # the hand-written reading of these figures
        L += [NOTES_MD.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(L)


def _mib(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MiB"


def _kib(x: float | None) -> str:
    return "–" if x is None else f"{x / 1024:,.0f} KiB"


def summary_lines(results: dict[str, Any]) -> list[str]:
    s = results.get("sections", {})
    out = []
    if "clean" in s:
        c = s["clean"]
        m = c["median"]
        out.append(f"clean build {m['pipeline']:.1f}s | papermill serial {m['papermill']:.1f}s "
                   f"| nbconvert serial {m['nbconvert']:.1f}s | floor {m['floor']:.1f}s")
        out.append("  build/papermill {:.2f}  build/nbconvert {:.2f}  build/floor {:.2f}".format(
            *[c["ratios"][k] for k in ("pipeline_vs_papermill", "pipeline_vs_nbconvert",
                                       "pipeline_vs_floor")]))
        out.append(f"  render step {c['render']['render_seconds']:.2f}s")
    if "overhead" in s:
        d = s["overhead"]["derived"]
        out.append(f"per run: kernel start/stop {d['kernel_start_stop']:.2f}s, kernel imports "
                   f"{d['kernel_imports']:.2f}s, papermill CLI process "
                   f"{d['papermill_cli_process']:.2f}s")
    if "noop" in s:
        n = s["noop"]
        out.append(f"no-op build --no-render {n['median']['noop_norender']:.2f}s "
                   f"(speed-up {n['speedup_norender'] or 0:.1f}x); with render "
                   f"{n['median']['noop_render']:.2f}s (speed-up {n['speedup_render'] or 0:.1f}x)")
    if "change" in s:
        for f, v in s["change"]["files"].items():
            out.append(f"change {f}: {v['executed']}/{v['total_runs']} re-executed "
                       f"(readers {v['declared_readers']}, only readers: {v['only_readers']}) "
                       f"in {v['median']:.1f}s")
    if "scale" in s:
        for label, by_n in s["scale"]["analyses"].items():
            r = by_n.get("ratio", {})
            out.append(f"scale {label}: {max(s['scale']['sizes'])}/{min(s['scale']['sizes'])} "
                       f"sites kernel {_fmt_x(r.get('kernel'))}, in-process "
                       f"{_fmt_x(r.get('inproc'))}")
    return out


def _meta(argv: list[str]) -> dict[str, Any]:
    from importlib.metadata import version

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    return {
        "argv": " ".join(argv), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit, "cpus": os.cpu_count(), "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "papermill": version("papermill"), "nbconvert": version("nbconvert"),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the quick sections")
    ap.add_argument("--clean-repeats", type=int, default=None,
                    help="rounds of the clean-build comparison (default: --repeats)")
    ap.add_argument("--quick", action="store_true",
                    help="1 repeat, sizes 7 and 1,000, one changed file: a smoke run")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--sizes", default=None, help="scale sizes (default 7,100,1000,10000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-profile", action="store_true", help="skip cProfile at scale")
    ap.add_argument("--scale-limit", type=float, default=240.0,
                    help="seconds one scale run may take; larger sizes are then skipped")
    ap.add_argument("--big-repeats", type=int, default=1,
                    help="repeats at 1,000 sites and more (default 1)")
    ap.add_argument("--notebooks-from", type=Path, default=None,
                    help="copy notebooks from this folder instead of notebooks/ (harness tests)")
    ap.add_argument("--sites", default="25,100", type=lambda x: [int(v) for v in x.split(",")],
                    help="synthetic trial sizes of the fork section's case-profile build")
    ap.add_argument("--results", type=Path, default=RESULTS_JSON,
                    help="results JSON (results.md is written beside it)")
    args = ap.parse_args(argv)
    args.results = args.results.resolve()
    if args.notebooks_from is not None:
        args.notebooks_from = args.notebooks_from.resolve()
    repeats = 1 if args.quick else args.repeats
    clean_repeats = args.clean_repeats or repeats
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    sizes = ([int(x) for x in args.sizes.split(",")] if args.sizes
             else QUICK_SIZES if args.quick else SIZES)
    change_files = ["retake_sites.csv"] if args.quick else list(EDITS)

    WORK.mkdir(parents=True, exist_ok=True)
    log(f"private project copy in {PROJECT}")
    make_project(args.notebooks_from)
    # Kernels, builds and workers import the copy's package (PYTHONPATH comes before the
    # editable install), so edits to src/ during a run do not leak into the measurements.
    os.environ["PYTHONPATH"] = str(PROJECT / "src")
    sys.path.insert(0, str(PROJECT / "src"))
    os.chdir(PROJECT)  # relative data paths resolve as in the build (cwd first, then root)
    results: dict[str, Any] = {}
    if args.results.exists():
        results = json.loads(args.results.read_text())
    results.setdefault("sections", {})
    results["meta"] = _meta(argv)
    md_path = args.results.with_suffix(".md")

    def save() -> None:
        args.results.write_text(json.dumps(results, indent=1, default=str) + "\n")
        md_path.write_text(write_markdown(results) + "\n")

    def run_section(name: str, fn, *a) -> None:
        log(f"section {name}")
        before = load()
        out = fn(*a)
        out["load"] = [before[0], load()[0]]
        out["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["sections"][name] = out
        save()

    if "overhead" in sections:
        run_section("overhead", section_overhead, repeats)
    if "clean" in sections:
        run_section("clean", section_clean, clean_repeats, args.jobs)
    if "noop" in sections:
        clean = results["sections"].get("clean")
        run_section("noop", section_noop, repeats, clean, args.jobs)
    if "change" in sections:
        run_section("change", section_change, repeats, change_files, args.jobs)
    if "fork" in sections:
        run_section("fork", section_fork, clean_repeats, args.jobs, args.sites)
    if "scale" in sections:
        run_section("scale", section_scale, repeats, sizes, not args.no_profile,
                    args.scale_limit, args.big_repeats)
    save()
    print()
    for line in summary_lines(results):
        print(line)
    print(f"\nwrote {args.results} and {md_path}")
    return 0


def _internal(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--out", required=True)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--limit", type=float, default=None)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "_floor":
        floor_main(a.args[0], a.out, a.profile, a.data_dir)
    elif a.cmd == "_scale":
        scale_worker(a.args[0], a.args[1], a.args[2], a.out, a.profile, a.limit)
    else:
        raise SystemExit(f"unknown internal command {a.cmd}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.exit(_internal(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
