"""Section `fork`: clean builds with forked kernels against `--no-fork`, serial papermill and
nbconvert and the floor (wall and CPU), and case profiles of synthetic trials.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .clean import _cell_times, _floor, _prepare_nbconvert, _serial_nbconvert, _serial_papermill
from .common import (
    PROJECT,
    RUN_TIMEOUT,
    _fmt_s,
    _fmt_x,
    _verdict,
    casereport_cmd,
    clean_build_state,
    log,
    median,
    plan_runs,
    ratio,
)


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
    from casereport.trialdata import synthetic

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
          "Synthetic trials (`casereport.trialdata.synthetic`, n ENRICH-like and n RETAKE-like "
          "sites): "
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
          "includes the fixed costs (the build's start, validation and the template's "
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
