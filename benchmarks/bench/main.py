"""The command line: which sections to run, the private project copy, results.json and
results.md written after each section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench

from .builds import section_builds
from .clean import section_clean
from .common import (
    PROJECT,
    QUICK_SIZES,
    REPO,
    RESULTS_JSON,
    SECTIONS,
    SIZES,
    WORK,
    load,
    log,
    make_project,
)
from .figures import section_figures
from .figures import worker as figures_worker
from .floor import floor_main, scale_worker
from .fork import section_fork
from .odds import BASE, odds_worker, section_odds
from .overhead import section_overhead
from .rebuild import EDITS, section_change, section_noop
from .report import summary_lines, write_markdown
from .scale import section_scale
from .spelling import section_spelling
from .venv import section_venv
from .views import section_views


def _meta(argv: list[str]) -> dict[str, Any]:
    from importlib.metadata import version

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    if dirty:  # the copy measured is the working tree, not the commit
        commit += " with uncommitted changes"
    return {
        "argv": " ".join(argv), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit, "cpus": os.cpu_count(), "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "papermill": version("papermill"), "nbconvert": version("nbconvert"),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=bench.__doc__,
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
    ap.add_argument("--base", default=BASE,
                    help="commit whose code the odds and builds sections compare with")
    ap.add_argument("--odds-sizes", default="100,300,1000",
                    help="synthetic trial sizes of the odds section")
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
    change_files = ["retake/retake_sites.csv"] if args.quick else list(EDITS)

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
        out["commit"] = results["meta"]["commit"]
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
    if "odds" in sections:
        run_section("odds", section_odds, repeats, args.base,
                    [int(x) for x in args.odds_sizes.split(",")], args.scale_limit)
    if "builds" in sections:
        run_section("builds", section_builds, clean_repeats, args.jobs, args.base)
    if "spelling" in sections:
        run_section("spelling", section_spelling, repeats, args.jobs)
    if "venv" in sections:
        run_section("venv", section_venv, repeats, args.jobs)
    if "views" in sections:
        run_section("views", section_views, repeats, args.jobs)
    if "figures" in sections:
        run_section("figures", section_figures, repeats)
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
    elif a.cmd == "_odds":
        odds_worker(a.out, int(a.args[0]))
    elif a.cmd == "_figures":
        figures_worker(a.out, int(a.args[0]))
    elif a.cmd == "_scale":
        scale_worker(a.args[0], a.args[1], a.args[2], a.out, a.profile, a.limit)
    else:
        raise SystemExit(f"unknown internal command {a.cmd}")
    return 0
