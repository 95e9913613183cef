"""Data-aware run cache, keyed by content hashes (never timestamps).

A run's key hashes what it is asked to do: the notebook's code cells, its effective
parameters, the content of every data file it reads, the codebook and the pinned
environment. The package code it runs is tracked the way a compiler's dependency files
are: the executor records the ``casereport`` modules the run's kernel had loaded, and the
cache entry stores them with their hashes. An entry is a hit only while every one of those
files still has the recorded content, so editing any function a notebook reaches re-runs
that notebook, and editing code it never loads (the build, the report) re-runs nothing.
There is no hand-kept list of modules to leave out. A run with no entry yet (no recorded
dependencies) always executes.

Entries are written to a temporary folder and renamed into place, so a killed build
never leaves a half-written entry that a later build would trust, and a new entry never
replaces a good one: each set of dependency hashes has its own folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casereport.primitives import paths

KEY_VERSION = "2"
DEPS_FILE = "deps.json"  # written by the run's kernel: package modules it loaded


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def notebook_code_hash(path: Path) -> str:
    """Hash of what executes: cell types, sources and tags (outputs are ignored).

    Reads the nbformat-4 JSON directly (sources may be stored as a string or a list of
    lines); nbformat itself is slow to import for the no-op build.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))

    def text(src: str | list[str]) -> str:
        return src if isinstance(src, str) else "".join(src)

    cells = [
        (c["cell_type"], text(c.get("source", "")), sorted(c.get("metadata", {}).get("tags", [])))
        for c in nb["cells"]
        if c["cell_type"] != "raw"
    ]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def environment_hash() -> str:
    """Hash of what every run shares besides package code: the pins and the Python. (The
    trial codebooks are inputs of the runs that read their folders: plan.input_files.)"""
    h = hashlib.sha256()
    lock = paths.ROOT / "requirements" / "lock.txt"
    if lock.exists():
        h.update(lock.read_bytes())
    h.update(f"python {sys.version_info[:2]}".encode())
    return h.hexdigest()


def dependency_hashes(modules: list[str], src: Path | None = None) -> dict[str, str]:
    """``{module file relative to the package: sha256}``; a missing file hashes as ""."""
    src = src or paths.SRC_DIR
    return {m: sha256_file(src / m) if (src / m).is_file() else "" for m in sorted(modules)}


@dataclass(frozen=True)
class RunKey:
    key: str
    inputs: dict[str, str]  # data file (root-relative where possible) -> sha256


def _display_path(p: Path) -> str:
    try:
        return str(p.relative_to(paths.ROOT))
    except ValueError:
        return str(p)


def run_key(notebook: Path, parameters: dict[str, Any], files: list[Path], env: str) -> RunKey:
    inputs = {_display_path(f): sha256_file(f) for f in files}
    payload = {
        "version": KEY_VERSION,
        "notebook": notebook_code_hash(notebook),
        "parameters": parameters,
        "inputs": sorted(inputs.values()),
        "environment": env,
    }
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return RunKey(key[:32], inputs)


def _readable(meta: Path) -> bool:
    try:
        return isinstance(json.loads(meta.read_text()), dict)
    except (OSError, ValueError):
        return False


class RunCache:
    """``<cache>/runs/<key>/<deps hash>/`` holds ``notebook.ipynb``, ``results/*.csv`` and
    ``meta.json`` (with ``deps``: each package module the run loaded and its sha256)."""

    def __init__(self, root: Path = paths.CACHE_DIR, src: Path | None = None):
        self.root = root / "runs"
        self.src = src

    def _dir(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> Path | None:
        """The entry for ``key`` whose recorded dependencies all still hash the same."""
        d = self._dir(key)
        if not d.is_dir():
            return None
        for entry in sorted(d.iterdir()):
            if entry.name.startswith(".") or not (entry / "meta.json").is_file():
                continue
            try:
                deps = json.loads((entry / "meta.json").read_text()).get("deps")
            except (OSError, ValueError):
                continue
            if isinstance(deps, dict) and dependency_hashes(list(deps), self.src) == deps:
                return entry
        return None

    def put(
        self, key: str, notebook_json: str, results: dict[str, str], meta: dict,
        deps: dict[str, str], replace: bool = False,
    ) -> Path:
        """Store a run with its dependency hashes (``dependency_hashes``), all or nothing.

        An existing complete entry for the same key and dependencies is kept (another
        build stored the same run meanwhile) unless ``replace`` (``build --force``: the
        run just executed is the one to keep)."""
        tag = hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:16]
        parent = self._dir(key)
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{tag}.", dir=parent))
        try:
            (staging / "notebook.ipynb").write_text(notebook_json, encoding="utf-8")
            (staging / "results").mkdir()
            for name, text in results.items():
                (staging / "results" / name).write_text(text, encoding="utf-8")
            # meta.json last: its presence marks a complete entry
            meta = {**meta, "deps": deps}
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
            final = parent / tag
            if final.exists():
                if not replace and _readable(final / "meta.json"):  # stored meanwhile
                    shutil.rmtree(staging)
                    return final
                # an entry replaced, or unreadable (disk damage): set it aside, then
                # rename ours in (a reader in between sees a miss, never a mixture)
                trash = parent / f".old-{tag}-{os.getpid()}"
                os.replace(final, trash)
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(staging, final)
            return final
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
