"""Section `clean`: a clean `casereport build --no-render` against serial papermill, serial
nbconvert and the in-process floor, with per-cell durations of the executed notebooks.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import (
    BIN,
    KERNEL,
    PROJECT,
    REPO,
    RUN_PY,
    _write_params,
    build_statuses,
    casereport_cmd,
    clean_build_state,
    log,
    median,
    plan_runs,
    ratio,
    timed,
)


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
    cmd = [sys.executable, str(RUN_PY), "_floor", str(runs_json), "--out", str(out)]
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
