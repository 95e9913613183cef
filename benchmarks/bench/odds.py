"""Section `odds` (issue 21): the five odds-ratio models of ENRICH with their intervals, the
code cells of every engagement-fidelity run, and the notebook on synthetic trials of 100,
300 and 1,000 sites, each with this tree's code against the base commit's (old) in one run.

The old code is the base commit's tree (``--base``, default 54c1821; ``git archive``) in
``benchmarks/work/base-<commit>``, copied like this tree into
``benchmarks/work/base-project``; its worker processes import that copy's ``src/`` first
(``PYTHONPATH``) and read its notebooks (``CASEREPORT_BENCH_PROJECT``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import (
    PROJECT,
    REPO,
    RUN_PY,
    WORK,
    _fmt_s,
    _fmt_x,
    _verdict,
    log,
    make_project,
    median,
    plan_runs,
    ratio,
    timed,
)

BASE = "54c1821"
BASE_PROJECT = WORK / "base-project"
SCALE_SITES = [100, 300, 1000]


def base_project(commit: str = BASE) -> Path:
    """A private copy of ``commit``'s project (its files by ``git archive``, then copied as
    this tree is)."""
    tree = WORK / f"base-{commit}"
    if not (tree / "src").is_dir():  # the commit's files (git archive: no worktree to remove)
        tree.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO, check=True,
                             capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=tar, check=True)
    make_project(source=tree, dest=BASE_PROJECT)
    return BASE_PROJECT


def env_for(project: Path) -> dict[str, str]:
    """The environment of a worker that runs ``project``'s code and notebooks."""
    return {**os.environ, "PYTHONPATH": str(project / "src"), "CASEREPORT_ROOT": str(project),
            "CASEREPORT_BENCH_PROJECT": str(project)}


def odds_worker(out_json: str, repeats: int) -> None:
    """Subprocess entry: time ``enrich_limits.odds_ratio_models(enrich, 0.95)`` on the real
    ENRICH data of this process's project: the first call (imports done: casereport,
    statsmodels) and ``repeats`` more; with the table it returned."""
    import statsmodels.api  # noqa: F401  (imported by the notebook before this cell)

    try:  # this tree's rooms (issue 20)
        from casereport.analyses.engagement_fidelity import analysis as enrich
        from casereport.analyses.engagement_fidelity import limits as limits
        from casereport.primitives import paths
        from casereport.trialdata import loaders
    except ImportError:  # the base commit's flat layout (54c1821)
        from casereport import data as loaders
        from casereport import paths
        from casereport.analyses import enrich
        from casereport.analyses import enrich_limits as limits

    df = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))
    t = time.perf_counter()
    table = limits.odds_ratio_models(df, 0.95)
    first = time.perf_counter() - t
    again = []
    for _ in range(repeats):
        t = time.perf_counter()
        limits.odds_ratio_models(df, 0.95)
        again.append(time.perf_counter() - t)
    Path(out_json).write_text(json.dumps({
        "code": str(Path(limits.__file__).resolve()), "first": first, "again": again,
        "table": table[["key", "estimate", "ci_low", "ci_high", "p_value"]].to_dict("records"),
    }))


def _worker(args: list[str], project: Path, timeout: float = 1200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-odds-") as tmp:
        out = Path(tmp) / "out.json"
        timed([sys.executable, str(RUN_PY), *args, "--out", str(out)], cwd=REPO,
              timeout=timeout, env=env_for(project))
        return json.loads(out.read_text())


def _flat_data_paths(todo: list[dict]) -> list[dict]:
    """The same runs for the base commit, whose data/ was flat (``data/enrich_sites.csv``,
    not ``data/enrich/enrich_sites.csv``: the trial folders came with issue 20)."""
    def flat(v: Any) -> Any:
        return re.sub(r"^data/[^/]+/", "data/", v) if isinstance(v, str) else v

    return [{**r, "parameters": {k: flat(v) for k, v in r["parameters"].items()}}
            for r in todo]


def _floor_runs(todo: list[dict], project: Path) -> dict[str, Any]:
    """The floor (one process, no kernels) over ``todo`` with ``project``'s code."""
    moved = [{**r, "notebook_path": str(project / "notebooks" / Path(r["notebook_path"]).name)}
             for r in todo]
    with tempfile.TemporaryDirectory(prefix="bench-odds-floor-") as tmp:
        runs_json = Path(tmp) / "runs.json"
        runs_json.write_text(json.dumps(moved))
        out = Path(tmp) / "out.json"
        wall = timed([sys.executable, str(RUN_PY), "_floor", str(runs_json), "--out", str(out)],
                     cwd=REPO, env=env_for(project))[0]
        res = json.loads(out.read_text())
    res["process_wall"] = wall
    return res


def _scale_run(n: int, limit: float) -> dict[str, Any]:
    """The engagement-fidelity notebook, in-process, on a synthetic trial of ``n`` sites."""
    from casereport.trialdata import synthetic

    from .scale import _scale_params

    synth = WORK / "synthetic"
    trial = synthetic.make_trial(synth / f"sites-{n}", n, n)
    params_file = synth / f"params-odds-{n}.json"
    params_file.write_text(json.dumps(_scale_params("engagement_fidelity", trial.data_dir, {})))
    nb = str(PROJECT / "notebooks" / "engagement_fidelity.ipynb")
    return _worker(["_scale", "inproc", nb, str(params_file), "--limit", str(limit)], PROJECT,
                   timeout=limit + 300)


def section_odds(repeats: int, base: str = BASE, sizes: list[int] | None = None,
                 limit: float = 240.0) -> dict[str, Any]:
    old = base_project(base)
    out: dict[str, Any] = {"base": base, "repeats": repeats, "models": {}, "cells": {}}
    for name, project in (("new", PROJECT), ("old", old)):
        out["models"][name] = _worker(["_odds", str(repeats)], project)
        m = out["models"][name]
        log(f"  odds {name}: first call {m['first']:.3f}s, again {median(m['again']):.3f}s")
    ef = [r for r in plan_runs() if r["notebook"] == "engagement_fidelity"]
    for name, project in (("new", PROJECT), ("old", old)):
        res = _floor_runs(ef if name == "new" else _flat_data_paths(ef), project)
        out["cells"][name] = {"per_run": res["per_run"], "imports": res["imports_seconds"],
                              "per_run_cells": res["per_run_cells"]}
        log(f"  engagement_fidelity cells {name}: "
            + ", ".join(f"{k.split('--')[-1]} {v:.2f}s" for k, v in res["per_run"].items()))
    out["scale"] = {}
    for n in sizes or SCALE_SITES:
        r = _scale_run(n, limit)
        out["scale"][str(n)] = r
        log(f"  engagement_fidelity on {n} synthetic sites: "
            + (f"{r['seconds']:.1f}s" if "seconds" in r else f"stopped at {limit:.0f}s"))
    return out


def _runs_after_first(cells: dict[str, Any]) -> list[float]:
    """Per-run seconds of every run but the first (which also imports the libraries)."""
    return list(cells["per_run"].values())[1:]


def odds_markdown(o: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `odds` section of results.md and its target verdicts."""
    new, old = o["models"]["new"], o["models"]["old"]
    nf, of = median(new["again"]), median(old["again"])
    L = ["## Odds-ratio models and the engagement–fidelity run (issue 21)", "",
         f"Old = commit `{o['base']}` (its tree, `git archive`), new = this tree, in the same run; "
         f"load {o.get('load')}; finished {o.get('finished')}. "
         "`enrich_limits.odds_ratio_models(enrich, 0.95)`: all five models with their "
         "intervals for the 7 ENRICH sites, one process, after the imports.", "",
         "| code | first call | later calls (median) |", "|---|---|---|",
         f"| old | {_fmt_s(old['first'], 3)} | {_fmt_s(of, 3)} |",
         f"| new | {_fmt_s(new['first'], 3)} | {_fmt_s(nf, 3)} |",
         f"| old / new | {_fmt_x(ratio(old['first'], new['first']))} | {_fmt_x(ratio(of, nf))} |",
         ""]
    cn, co = o["cells"]["new"], o["cells"]["old"]
    L += ["Every engagement-fidelity run's code cells, in one process with no kernel (the "
          "floor), one after another; the first run also imports pandas, statsmodels, "
          "seaborn and casereport:", "",
          "| run | old | new |", "|---|---|---|"]
    for run_id, t_new in cn["per_run"].items():
        L.append(f"| {run_id} | {_fmt_s(co['per_run'].get(run_id))} | {_fmt_s(t_new)} |")
    L.append("")
    first_new = list(cn["per_run_cells"].values())[-1]
    slow = sorted(first_new, key=lambda c: -c[2])[:4]
    L += ["Slowest cells of the last new run: "
          + "; ".join(f"{s:.2f} s `{src}`" for _i, src, s in slow) + ".", ""]
    L += ["The engagement-fidelity notebook on synthetic trials "
          "(`casereport.trialdata.synthetic`, n ENRICH-like sites), in-process, new code:", "",
          "| sites | whole notebook | slowest cells |", "|---|---|---|"]
    for n, r in o["scale"].items():
        cells = sorted(r.get("cells", []), key=lambda c: -c[2])[:3]
        L.append(f"| {int(n):,} | {_fmt_s(r.get('seconds'))} | "
                 + "; ".join(f"{s:.2f} s `{src}`" for _i, src, s in cells) + " |")
    L.append("")
    sizes = sorted(o["scale"], key=int)
    v = [("Five odds-ratio models with intervals ≤ 0.3 s (one process)",
          _verdict(new["first"] <= 0.3, f"{_fmt_s(new['first'], 3)} first call, "
                   f"{_fmt_s(nf, 3)} later; old {_fmt_s(old['first'], 2)}"))]
    later = _runs_after_first(cn)
    v.append(("A whole engagement-fidelity run's cells ≤ 2 s",
              _verdict(bool(later) and max(later) <= 2.0,
                       f"{_fmt_s(min(later))}–{_fmt_s(max(later))} per run after the first "
                       f"(old {_fmt_s(min(_runs_after_first(co)))}–"
                       f"{_fmt_s(max(_runs_after_first(co)))})")))
    if len(sizes) >= 2:
        lo, hi = o["scale"][sizes[0]], o["scale"][sizes[-1]]
        grow = ratio(hi.get("seconds"), lo.get("seconds"))
        lin = int(sizes[-1]) / int(sizes[0])
        v.append((f"Synthetic trial: every analysis completes at {int(sizes[-1]):,} sites, time "
                  "at most linear",
                  _verdict(grow is not None and grow <= lin,
                           f"{_fmt_x(grow)} from {int(sizes[0]):,} to {int(sizes[-1]):,} sites "
                           f"(linear: {lin:.0f}×)")))
    return L, v
