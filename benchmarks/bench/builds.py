"""Section `builds` (issue 21): a clean `casereport build --no-render` of this tree against
the base commit's (built in its own private copy beside this one, rounds interleaved) and
against the in-process floor; the render step (Quarto HTML and PDF) on its own; and a
rebuild after a one-file data change with and without the render.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .clean import _floor
from .common import (
    PROJECT,
    _fmt_s,
    _fmt_x,
    _verdict,
    build_statuses,
    clean_build_state,
    log,
    median,
    plan_runs,
    ratio,
    timed,
)
from .odds import BASE, base_project, env_for
from .rebuild import EDITS, _edit

QUARTO_BIN = Path("/opt/quarto/bin")


def _build(project: Path, *args: str) -> float:
    env = env_for(project)
    if QUARTO_BIN.is_dir():
        env["PATH"] = f"{QUARTO_BIN}{os.pathsep}{env['PATH']}"
    return timed([sys.executable, "-m", "casereport", "build", *args], cwd=project, env=env)[0]


# every page rendered, as before issue 21's notebook views: no view is copied from the last
# manuscript (section `views` measures that)
RENDER = ("import sys; from pathlib import Path; from casereport.report import quarto, views; "
          "views.restore = lambda *a, **k: []; "
          "quarto.render(Path(sys.argv[1]), previous=Path(sys.argv[2]) if sys.argv[2:] "
          "else None)")


def _render(project: Path, previous: bool) -> float:
    """Seconds of ``quarto.render`` of ``project``'s build/ into a scratch folder; with
    ``previous`` it reads the last manuscript's supplement numbers (both projects at once)."""
    env = env_for(project)
    env["PATH"] = f"{QUARTO_BIN}{os.pathsep}{env['PATH']}"
    out = project / "_manuscript.bench"
    shutil.rmtree(out, ignore_errors=True)
    args = [str(project / "_manuscript")] if previous else []
    try:
        return timed([sys.executable, "-c", RENDER, str(out), *args], cwd=project, env=env)[0]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def section_builds(repeats: int, jobs: int, base: str = BASE) -> dict[str, Any]:
    old = base_project(base)
    todo = plan_runs()
    samples: dict[str, list[float]] = {"new": [], "old": [], "floor": []}
    for i in range(repeats):
        for name, project in (("new", PROJECT), ("old", old)):
            clean_build_state(project)
            samples[name].append(_build(project, "--no-render", "--jobs", str(jobs)))
            if name == "new" and any(s != "ran" for s, _ in build_statuses().values()):
                raise RuntimeError("the clean build did not execute every run")
        with tempfile.TemporaryDirectory(prefix="bench-builds-") as t:
            samples["floor"].append(_floor(todo, Path(t))[0])
        log(f"  round {i + 1}: new {samples['new'][-1]:.1f}s, old {samples['old'][-1]:.1f}s, "
            f"floor {samples['floor'][-1]:.1f}s")
    # the render on its own (Quarto, HTML and PDF, every page) of the same build/, two ways
    # interleaved: the supplement and then the article (the order before issue 21), and
    # both at once with the last manuscript's supplement numbers (quarto.render)
    _build(PROJECT, "--jobs", str(jobs))  # renders: the last manuscript exists from here
    render: dict[str, list[float]] = {"sequential": [], "parallel": []}
    for _ in range(2):
        for key in render:
            render[key].append(_render(PROJECT, previous=key == "parallel"))
    # after a one-file data change: the rebuild without the render, then with it (each way)
    name = "enrich/enrich_sites.csv"
    column, step = EDITS[name]
    path = PROJECT / "data" / name
    original = path.read_bytes()
    change: dict[str, list[float]] = {"norender": [], "sequential": [], "parallel": []}
    manuscript = PROJECT / "_manuscript"
    try:
        # new content every time (never a cache hit); k = 1 would put site 1's fidelity at
        # 10.5, exactly the fuzzy-set crossover of cross_case, which then fails (a
        # membership of 0.5 belongs to no configuration row)
        for k, key in ((2, "norender"), (3, "sequential"), (4, "parallel")):
            _edit(path, column, step, k)
            if key == "sequential":  # no last manuscript: the build renders one after other
                shutil.rmtree(manuscript, ignore_errors=True)
            args = ["--no-render"] if key == "norender" else []
            change[key].append(_build(PROJECT, *args, "--jobs", str(jobs)))
    finally:
        path.write_bytes(original)
    _build(PROJECT, "--jobs", str(jobs))
    med = {k: median(v) for k, v in samples.items()}
    cmed = {k: median(v) for k, v in change.items()}
    rmed = {k: median(v) for k, v in render.items()}
    log(f"  render {rmed['sequential']:.1f}s one after the other, {rmed['parallel']:.1f}s at "
        f"once; one-file change {cmed['norender']:.1f}s without render, "
        f"{cmed['sequential']:.1f}s / {cmed['parallel']:.1f}s with")
    return {"base": base, "runs": len(todo), "jobs": jobs, "repeats": repeats,
            "samples": samples, "median": med,
            "ratios": {"old_vs_new": ratio(med["old"], med["new"]),
                       "new_vs_floor": ratio(med["new"], med["floor"])},
            "render": {"samples": render, "median": rmed},
            "change": {"file": name, "samples": change, "median": cmed}}


def builds_markdown(b: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `builds` section of results.md and its target verdicts."""
    m, r = b["median"], b["ratios"]
    L = ["## Clean build against the base commit, the floor, and the render (issue 21)", "",
         f"{b['runs']} notebook runs, `--jobs {b['jobs']}`, {b['repeats']} round(s) "
         f"interleaved (new, old, floor); old = commit `{b['base']}` built in its own private "
         f"copy beside the new one; load {b.get('load')}; finished {b.get('finished')}.", "",
         "| method | median wall | samples |", "|---|---|---|"]
    for k, lab in (("new", "`casereport build --no-render`, this tree"),
                   ("old", f"`casereport build --no-render`, `{b['base']}`"),
                   ("floor", "floor: every run's cells in one process, no kernels")):
        L.append(f"| {lab} | {_fmt_s(m[k], 1)} | "
                 f"{', '.join(f'{x:.1f}' for x in b['samples'][k])} |")
    ch, rm = b["change"], b["render"]["median"]
    cm = ch["median"]
    seq_part = cm["sequential"] - cm["norender"]
    par_part = cm["parallel"] - cm["norender"]
    largest = "the largest part" if par_part > cm["norender"] else "no longer the largest part"
    L += ["", "The render step (Quarto, HTML and PDF, every page) on its own, of the same "
          "build/, two ways interleaved (2 samples each):", "",
          "| render | median | samples |", "|---|---|---|"]
    for k, lab in (("sequential", "the supplement, then the article (before)"),
                   ("parallel", "both at once, the article with the last numbers (now)")):
        L.append(f"| {lab} | {_fmt_s(rm[k], 1)} | "
                 f"{', '.join(f'{x:.1f}' for x in b['render']['samples'][k])} |")
    L += ["", f"After a one-cell edit of `{ch['file']}` (a new value each time): rebuild "
          f"without the render {_fmt_s(cm['norender'], 1)}; with it "
          f"{_fmt_s(cm['sequential'], 1)} before (no last manuscript: one after the other) "
          f"and {_fmt_s(cm['parallel'], 1)} now, so the render is "
          f"{_fmt_s(seq_part, 1)} → {_fmt_s(par_part, 1)} of it ({largest}).", ""]
    v = [("Clean build ≥ 2× faster than the base commit",
          _verdict(r["old_vs_new"] is not None and r["old_vs_new"] >= 2.0,
                   f"old / new {_fmt_x(r['old_vs_new'])}")),
         ("Clean build ≤ 1.5× the in-process floor",
          _verdict(r["new_vs_floor"] is not None and r["new_vs_floor"] <= 1.5,
                   f"{_fmt_x(r['new_vs_floor'])}")),
         ("Render step smaller than before (same build/, same run)",
          _verdict(rm["parallel"] < rm["sequential"],
                   f"{_fmt_s(rm['sequential'], 1)} → {_fmt_s(rm['parallel'], 1)}; after a "
                   f"one-file change {_fmt_s(seq_part, 1)} → {_fmt_s(par_part, 1)} of "
                   f"the rebuild"))]
    return L, v
