"""A private copy of the project, built for real, shared by the slow tests.

The package is pointed at the copy with CASEREPORT_ROOT, so the developer's build/ and
cache are never touched, and a fresh clone (CI) tests the real report without a prior build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from casereport import paths

COPY = ["data", "notebooks", "params", "src", "requirements", "index.qmd", "references.bib",
        "_quarto.yml", "_quarto", "pyproject.toml"]


def make_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = paths.ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def casereport(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASEREPORT_ROOT": str(root), "COLUMNS": "200"}
    env.pop("CASEREPORT_SKIP_PRERENDER", None)
    return subprocess.run([sys.executable, "-m", "casereport", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def statuses(root: Path) -> dict[str, str]:
    """run_id -> 'ran' | 'cached' | 'failed' for the last build in ``root`` (full or
    ``--only``), as the build records them in .casereport-cache/last-build.json."""
    import json

    record = root / ".casereport-cache" / "last-build.json"
    if not record.is_file():
        return {}
    return {r["run_id"]: r["status"] for r in json.loads(record.read_text())["runs"]}


def manifest_statuses(out: subprocess.CompletedProcess, root: Path) -> dict[str, str]:
    """run_id -> 'ran' | 'cached', as recorded in build/manifest.json by a full build."""
    import json

    assert out.returncode == 0, out.stdout + out.stderr
    manifest = json.loads((root / "build" / "manifest.json").read_text())
    return {r["run_id"]: r["status"] for r in manifest["runs"]}


def full_build(root: Path) -> subprocess.CompletedProcess:
    """`casereport build --strict`: with Quarto on PATH, a Quarto warning fails it."""
    out = casereport(root, "build", "--jobs", "2", "--strict")
    assert out.returncode == 0, out.stdout + out.stderr
    return out
