"""Sections `noop` and `change`: a rebuild with nothing changed (and its profile), and a
rebuild after editing one cell of one data file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import PROJECT, build_statuses, casereport_cmd, log, median, plan_runs, ratio, timed


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
    "enrich/enrich_sites.csv": ("fidelity_score", 0.1),
    "retake/retake_sites.csv": ("pct_phone_teams", -0.1),
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
