"""``casereport status``: each run of the plan up to date or stale, and why.

A run is up to date while the cache holds an entry for its key whose package modules
still hash the same (:meth:`cache.RunCache.get`, what the build would reuse). For a stale
run the reasons come from comparing what its key is made of now with the components the
last cached run of the same run id recorded (``meta.json`` ``components``): the data files
(and, from the copies kept in ``.casereport-cache/data/``, the cells
:mod:`data_diff` names), the parameters, the notebook's cells, the package modules and
the environment (lock file, codebook, Python). The key itself is unchanged.

The build records which entry each run used last in ``.casereport-cache/latest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casereport.pipeline import cache
from casereport.pipeline import plan as run_plan
from casereport.primitives import atomic, paths

LATEST = "latest.json"  # run_id -> its last cache entry, relative to the cache folder
SNAPSHOTS = "data"  # copies of the data files runs read, by sha256
LOCK = paths.ROOT / "requirements" / "lock.txt"


@dataclass
class RunStatus:
    run_id: str
    up_to_date: bool
    reasons: list[str] = field(default_factory=list)

    def short(self) -> str:
        """One line: the first reason, and how many more."""
        if not self.reasons:
            return ""
        more = len(self.reasons) - 1
        return self.reasons[0] + (f" (+{more} more)" if more else "")


def _cells(notebook: Path) -> list[dict[str, Any]]:
    """Each cell that enters the key (``cache.notebook_code_hash``): number, type, hash."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = []
    for i, c in enumerate(nb["cells"], start=1):
        if c["cell_type"] == "raw":
            continue
        src = c.get("source", "")
        src = src if isinstance(src, str) else "".join(src)
        tags = sorted(c.get("metadata", {}).get("tags", []))
        h = hashlib.sha256(json.dumps([c["cell_type"], src, tags]).encode()).hexdigest()
        first = next((line.strip() for line in src.splitlines() if line.strip()), "")
        out.append({"cell": i, "type": c["cell_type"], "sha256": h[:16], "first": first[:60]})
    return out


def _hash(path: Path) -> str:
    return cache.sha256_file(path) if path.is_file() else ""


def components(notebook: Path, parameters: dict, inputs: dict[str, str]) -> dict[str, Any]:
    """What a run's key is made of, part by part (stored in its cache entry)."""
    return {
        "cells": _cells(notebook),
        "parameters": json.loads(json.dumps(parameters, default=str)),
        "inputs": dict(inputs),
        "lock": _hash(LOCK),
        "python": ".".join(map(str, sys.version_info[:2])),
    }


def snapshot(inputs: dict[str, str]) -> None:
    """Keep a copy of each data file a run read (``RunKey.inputs``: file -> sha256) for
    later cell diffs; a file already edited again since the run is skipped."""
    folder = paths.CACHE_DIR / SNAPSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    for name, sha in inputs.items():
        dest, src = folder / sha, paths.resolve(name)
        if dest.exists() or not src.is_file():
            continue
        tmp = folder / f".{sha}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        if cache.sha256_file(tmp) == sha:
            tmp.replace(dest)
        else:
            tmp.unlink()


def record_inputs(notebook: Path, parameters: dict, inputs: dict[str, str]) -> dict[str, Any]:
    """For a run's cache entry: ``{"components": ...}``, with a copy of its data files kept."""
    snapshot(inputs)
    return {"components": components(notebook, parameters, inputs)}


def record_runs(planned: list) -> None:
    """Write the runs of this build (full, ``--only`` or failed: ``build.Planned``) with their
    status to ``paths.LAST_BUILD``; tests and benchmarks read it instead of the console
    output. Each run's cache entry becomes its latest (``remember``)."""
    runs = [{"run_id": p.run.run_id, "status": p.status, "seconds": p.seconds} for p in planned]
    paths.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    atomic.write_text(paths.LAST_BUILD, json.dumps({"runs": runs}, indent=2))
    remember({p.run.run_id: p.cached for p in planned if p.cached is not None})


def remember(entries: dict[str, Path]) -> None:
    """Record each run's cache entry as its latest (merged with earlier builds)."""
    record = paths.CACHE_DIR / LATEST
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    root = paths.CACHE_DIR
    for run_id, entry in entries.items():
        try:
            known[run_id] = str(entry.relative_to(root))
        except ValueError:
            known[run_id] = str(entry)
    root.mkdir(parents=True, exist_ok=True)
    atomic.write_text(record, json.dumps(dict(sorted(known.items())), indent=2))


def _latest(run_id: str) -> dict | None:
    try:
        rel = json.loads((paths.CACHE_DIR / LATEST).read_text()).get(run_id)
        return json.loads((paths.CACHE_DIR / rel / "meta.json").read_text()) if rel else None
    except (OSError, ValueError, TypeError):
        return None


def recorded_seconds(run_id: str) -> float | None:
    """How long the run's last execution took (its latest cache entry), or None."""
    meta = _latest(run_id)
    seconds = meta.get("seconds") if meta else None
    return float(seconds) if isinstance(seconds, int | float) else None


def _cell_reasons(old: list[dict], new: list[dict]) -> list[str]:
    out = []
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a and b and (a["type"], a["sha256"]) == (b["type"], b["sha256"]):
            continue
        if b is None:
            out.append(f"notebook: cell {a['cell']} removed")
        elif a is None:
            out.append(f"notebook: {b['type']} cell {b['cell']} added")
        else:
            out.append(f"notebook: {b['type']} cell {b['cell']} changed ({b['first']!r})")
    return out


def _data_reasons(name: str, old_sha: str, new_path: Path) -> list[str]:
    """The cells of one data file that changed, as ``casereport diff`` names them."""
    from casereport.diff import data_cells as data_diff

    old = paths.CACHE_DIR / SNAPSHOTS / old_sha
    if not (old.is_file() and new_path.suffix == ".csv"):
        return [f"data: {name} changed"]
    keys = data_diff._primary_keys(new_path.parent)  # noqa: SLF001 (same package)
    try:
        changes = data_diff.compare_table(
            new_path.name, data_diff._read(old), data_diff._read(new_path),  # noqa: SLF001
            keys.get(new_path.name, []))
    except ValueError:
        changes = []
    if not changes:
        return [f"data: {name} changed (bytes)"]
    out = []
    for c in changes:
        where = c.where.split(": ", 1)[-1]
        if c.old or c.new:  # one cell
            out.append(f"data: {name}: {where}, {c.what}: {c.old!r} -> {c.new!r}")
        elif "column" in where:
            out.append(f"data: {name}: {where}: {c.what}")
        else:
            out.append(f"data: {name}: {where}")
    return out


def explain(
    run: run_plan.Run, parameters: dict, key: cache.RunKey, store: cache.RunCache
) -> RunStatus:
    """Up to date (a cache hit) or stale, with the reasons."""
    if store.get(key.key) is not None:
        return RunStatus(run.run_id, True)
    meta = _latest(run.run_id)
    if meta is None:
        return RunStatus(run.run_id, False, ["never built"])
    reasons: list[str] = []
    old = meta.get("components")
    if old is None:
        reasons.append("cached by an older casereport (no recorded key components)")
    else:
        new = components(run.notebook_path, parameters, key.inputs)
        for name in sorted(set(old["inputs"]) | set(new["inputs"])):
            a, b = old["inputs"].get(name), new["inputs"].get(name)
            if a == b:
                continue
            if a is None or b is None:
                reasons.append(f"data: {name} {'now read' if a is None else 'no longer read'}")
            else:
                reasons += _data_reasons(name, a, paths.resolve(name))
        for p in sorted(set(old["parameters"]) | set(new["parameters"])):
            a, b = old["parameters"].get(p), new["parameters"].get(p)
            if a != b:
                reasons.append(f"parameter: {p}: {a!r} -> {b!r}")
        reasons += _cell_reasons(old["cells"], new["cells"])
        if old["lock"] != new["lock"]:
            reasons.append("environment: requirements/lock.txt changed")
        if old["python"] != new["python"]:
            reasons.append(f"environment: Python {old['python']} -> {new['python']}")
    deps = meta.get("deps") or {}
    now = cache.dependency_hashes(list(deps), store.src)
    reasons += [f"package: {m} changed" for m in sorted(deps) if deps[m] != now[m]]
    return RunStatus(run.run_id, False, reasons or ["its cache entry is missing"])


def status(data_dir: Path | None = None) -> list[RunStatus]:
    """Every run of the plan, in plan order."""
    env = cache.environment_hash()
    store = cache.RunCache()
    out = []
    for run in run_plan.plan(data_dir):
        params = run_plan.effective_parameters(run)
        files = run_plan.input_files(params, run.reads)
        key = cache.run_key(run.notebook_path, params, files, env)
        out.append(explain(run, params, key, store))
    return out


def run(data_dir: Path | None = None, as_json: bool = False) -> int:
    """Print the status (text or JSON); exit code 0 all up to date, 1 something stale."""
    try:
        found = status(data_dir)
    except run_plan.PlanError as exc:
        print(f"casereport status: {exc}", file=sys.stderr)
        return 2
    stale = [s for s in found if not s.up_to_date]
    if as_json:
        print(json.dumps({"up_to_date": not stale, "runs": [asdict(s) for s in found]},
                         indent=2))
    else:
        width = max((len(s.run_id) for s in found), default=0)
        for s in found:
            print(f"{'up to date' if s.up_to_date else 'stale':<10}  {s.run_id:<{width}}"
                  f"{'  ' + s.reasons[0] if s.reasons else ''}")
            for r in s.reasons[1:]:
                print(f"{'':<10}  {'':<{width}}  {r}")
        print(f"{len(found) - len(stale)} of {len(found)} runs up to date"
              + (f"; {len(stale)} stale (`casereport build` re-runs them)" if stale else ""))
    return 1 if stale else 0
