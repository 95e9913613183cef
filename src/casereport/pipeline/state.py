"""The state of the build folder: the input fingerprint of the no-op check, the build
lock's path and the two-rename swap of a new build/ (with recovery after a kill)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from casereport.pipeline import cache
from casereport.primitives import paths

# Everything a finished build/ depends on, besides the data folder (with every file of
# _quarto/: its filters, styles and scripts, claims.lua included).
REPORT_SOURCES = [
    "index.qmd",
    "_quarto.yml",
    "supplement/index.qmd",
    "supplement/_quarto.yml",
    "references.bib",
    "requirements/lock.txt",
]


def fingerprint(data_dir: Path) -> str:
    """Content hash of every input of a full build, cheap enough to check first.

    When it equals the one recorded in build/manifest.json, nothing the build reads
    has changed (data, notebooks, parameter sets, package, report sources), so the
    no-op build stops here, before validation, planning or any kernel.
    """
    h = hashlib.sha256()
    files = [
        *sorted(data_dir.rglob("*")),  # trial folders nest: every file of each
        *sorted(paths.PARAMS_DIR.rglob("*.yaml")),
        *sorted(paths.SRC_DIR.rglob("*.py")),
        *(paths.ROOT / f for f in REPORT_SOURCES),
        *sorted((paths.ROOT / "_quarto").glob("*")),
        *sorted((paths.ROOT / "sections").glob("*.qmd")),  # the article's included sections
        *sorted((paths.ROOT / "sections" / "templates").glob("*.md")),  # report/trial_sections
    ]
    for f in files:
        if f.is_file():
            h.update(f"{rel(f)}\0{cache.sha256_file(f)}\n".encode())
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        h.update(f"{rel(nb)}\0{cache.notebook_code_hash(nb)}\n".encode())
    # the data folder as the files are named (relative to the project when inside it): a
    # built project that is copied or moved is still up to date
    h.update(json.dumps([rel(Path(data_dir)), sys.version_info[:2]]).encode())
    return h.hexdigest()


def lock_path() -> Path:
    paths.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return paths.CACHE_DIR / "build.lock"


def recover_interrupted_swap() -> None:
    """A build killed between its two renames leaves build.old-*; put it back."""
    olds = sorted(paths.ROOT.glob("build.old-*"), key=lambda p: p.stat().st_mtime)
    if not paths.BUILD_DIR.exists() and olds:
        os.replace(olds.pop(), paths.BUILD_DIR)
    # half-written cache entries of a killed build (complete ones are renamed into place)
    staging = (
        [*paths.CACHE_DIR.glob("runs/.*"), *paths.CACHE_DIR.glob("runs/*/.*")]
        if paths.CACHE_DIR.exists()
        else []
    )
    for leftover in [*olds, *paths.ROOT.glob("build.tmp-*"), *staging]:
        shutil.rmtree(leftover, ignore_errors=True)


def swap_in(new: Path, target: Path | None = None) -> None:
    """Replace ``target`` (default build/) by ``new`` with two renames."""
    target = target or paths.BUILD_DIR
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(paths.ROOT))
    except ValueError:
        return str(p)
