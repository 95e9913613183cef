"""The two sides of ``casereport diff``: a build folder, the working tree, or a git ref.

A git ref is checked out in a temporary ``git worktree`` and built there with
``--no-render``, its own code on ``PYTHONPATH`` (the build and its notebook kernels run
the ref's package), sharing this project's run cache through a symlink: runs whose
inputs and code are unchanged are taken from the cache, not executed. The shared cache
brings its build lock with it, so two builds never write one cache at once (a side
waits for a running build); entries are written atomically (:mod:`.cache`). The worktree
is removed afterwards, also when the build fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casereport.primitives import paths
from casereport.primitives.results import COLUMNS

#: What this version of ``casereport diff`` reads; ``build/manifest.json`` records it.
RESULTS_FORMAT = 1
_AUDIT_COLUMNS = ["id", "status", "recomputed", "recomputed_rounded"]
_LOCKED = 75  # the build's exit code while another build holds the lock
WORKING_TREE = "."


class SideError(RuntimeError):
    """A side cannot be compared; the message says why (exit 2)."""


@dataclass
class Side:
    label: str
    manifest: dict
    results: pd.DataFrame
    audit: pd.DataFrame
    data_dir: Path | None = None
    trial: str = ""
    keep: list[Path] = field(default_factory=list)  # temporary folders to remove
    claims: list[dict] = field(default_factory=list)  # build/claims.json, judged claims


def trial_of(data_dir: Path) -> str:
    """The trials (data set) a build is of: their names from the trial folders."""
    from casereport.trialdata import trials

    try:
        return ", ".join(trials.names(data_dir).values())
    except (OSError, ValueError):
        return ""


def load(folder: Path, label: str) -> Side:
    """Read a finished ``build/`` folder; :class:`SideError` for anything older or partial."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    results_path = folder / "results" / "all_results.csv"
    audit_path = folder / "audit.csv"
    missing = [p.name for p in (manifest_path, results_path, audit_path) if not p.is_file()]
    if missing:
        raise SideError(
            f"{folder} is not a build folder of this results format "
            f"(missing {', '.join(missing)}); rebuild it with `casereport build`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        results = pd.read_csv(results_path, dtype={"label": str})
        audit = pd.read_csv(audit_path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SideError(f"cannot read the build folder {folder}: {exc}") from exc
    fmt = manifest.get("results_format", 0)
    if "label" not in results.columns:  # builds from before naming quantities had labels
        results["label"] = ""
    lacking = [c for c in COLUMNS if c not in results.columns] + [
        c for c in _AUDIT_COLUMNS if c not in audit.columns
    ]
    if fmt > RESULTS_FORMAT or lacking or not isinstance(manifest.get("runs"), list):
        raise SideError(
            f"{folder} has results format {fmt}"
            f"{' lacking ' + ', '.join(lacking) if lacking else ''}; this casereport reads "
            f"format {RESULTS_FORMAT}: rebuild it with this version"
        )
    data_dir = folder / "data" if (folder / "data").is_dir() else None
    trial = str(manifest.get("trial") or (trial_of(data_dir) if data_dir else ""))
    claims_path = folder / "claims.json"
    claims = json.loads(claims_path.read_text("utf-8"))["claims"] if claims_path.is_file() else []
    return Side(label, manifest, results, audit, data_dir, trial, claims=claims)


def _git(*args: str, cwd: Path = paths.ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def _build(root: Path, jobs: int | None, src: Path | None = None) -> subprocess.CompletedProcess:
    """``casereport build --no-render`` in ``root`` (with ``src`` first on the path); waits
    while another build holds the shared cache's lock."""
    env = {**os.environ, "CASEREPORT_ROOT": str(root)}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "casereport", "build", "--no-render"]
    cmd += ["--jobs", str(jobs)] if jobs else []
    deadline = time.monotonic() + 3600
    while True:
        out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        if out.returncode != _LOCKED or time.monotonic() > deadline:
            return out
        time.sleep(2)


def _failed(label: str, out: subprocess.CompletedProcess) -> SideError:
    tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-15:])
    return SideError(f"{label}: the build failed (exit {out.returncode}):\n{tail}")


def build_ref(ref: str, jobs: int | None = None) -> Side:
    """Check ``ref`` out in a temporary worktree, build it there, load its build."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise SideError(f"{ref!r} is neither a build folder nor a git ref of {paths.ROOT}")
    tmp = Path(tempfile.mkdtemp(prefix="casereport-diff-"))
    wt = tmp / "tree"
    try:
        added = _git("worktree", "add", "--detach", "--quiet", str(wt), commit.stdout.strip())
        if added.returncode != 0:
            raise SideError(f"{ref}: git worktree add failed: {added.stderr.strip()}")
        paths.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        (wt / ".casereport-cache").symlink_to(paths.CACHE_DIR, target_is_directory=True)
        out = _build(wt, jobs, wt / "src")
        if out.returncode != 0:
            raise _failed(ref, out)
        try:
            side = load(wt / "build", ref)
        except SideError as exc:
            raise SideError(f"{ref}: {exc}") from None
        # the data it was built from (a ref older than the build's data snapshot: data/)
        shutil.copytree(side.data_dir or wt / "data", tmp / "data")
        side.data_dir = tmp / "data"
        side.trial = side.trial or trial_of(side.data_dir)
        side.keep.append(tmp)
        return side
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _git("worktree", "remove", "--force", str(wt))
        _git("worktree", "prune")


def build_working_tree(jobs: int | None = None) -> Side:
    """Build the project itself (``casereport build --no-render``) and load ``build/``."""
    out = _build(paths.ROOT, jobs)
    if out.returncode != 0:
        raise _failed("working tree", out)
    side = load(paths.BUILD_DIR, "working tree")
    if side.data_dir is None:
        side.data_dir = paths.DATA_DIR
    return side


def record_inputs(build_dir: Path, data_dir: Path) -> None:
    """Give a new build folder what a later diff reads besides its results: a copy of its
    data folder (``build/data/``), the results format and the trial in the manifest."""
    shutil.copytree(data_dir, build_dir / "data", ignore=shutil.ignore_patterns(".*"))
    manifest_path = build_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(results_format=RESULTS_FORMAT, trial=trial_of(data_dir))
    manifest_path.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def resolve(spec: str, jobs: int | None = None) -> Side:
    """A build folder (``build/`` or a project root holding one), ``.`` for the working
    tree, or a git ref."""
    if spec == WORKING_TREE:
        return build_working_tree(jobs)
    p = Path(spec)
    if p.is_dir():
        folder = p / "build" if (p / "build" / "manifest.json").is_file() else p
        return load(folder, spec)
    return build_ref(spec, jobs)


def release(*sides: Side) -> None:
    for side in sides:
        for p in side.keep:
            shutil.rmtree(p, ignore_errors=True)
