"""Data-aware run cache, keyed by content hashes (never timestamps).

A run's key hashes everything that can change its outputs: the notebook's
code cells, its effective parameters, the content of every data file it reads,
the package source the notebooks import, the codebook, and the pinned
environment. Quarto's freeze hashes only the source document and would miss a
changed CSV; this does not. Timestamps are never used, so a fresh clone built
twice hits the cache the second time.

Entries are written to a temporary folder and renamed into place, so a killed
build never leaves a half-written entry that a later build would trust.
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

from casereport import paths

# Modules of the build itself: changing them does not change what a notebook computes.
BUILD_ONLY = {
    "cli.py", "runs.py", "cache.py", "pipeline.py", "executors.py", "atomic.py", "__main__.py",
    "synthetic.py",  # benchmark data generator: notebooks never import it
}
BUILD_ONLY_DIRS = {"report"}
KEY_VERSION = "1"


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


def package_hash() -> str:
    """Hash of the package source the notebooks import, the codebook and the pins."""
    h = hashlib.sha256()
    for py in sorted(paths.SRC_DIR.rglob("*.py")):
        rel = py.relative_to(paths.SRC_DIR)
        if (len(rel.parts) == 1 and rel.name in BUILD_ONLY) or rel.parts[0] in BUILD_ONLY_DIRS:
            continue
        h.update(str(rel).encode())
        h.update(py.read_bytes())
    for extra in (paths.DATAPACKAGE, paths.ROOT / "requirements" / "lock.txt"):
        if extra.exists():
            h.update(extra.read_bytes())
    h.update(f"python {sys.version_info[:2]}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class RunKey:
    key: str
    inputs: dict[str, str]  # data file (root-relative where possible) -> sha256


def _display_path(p: Path) -> str:
    try:
        return str(p.relative_to(paths.ROOT))
    except ValueError:
        return str(p)


def run_key(notebook: Path, parameters: dict[str, Any], files: list[Path], pkg: str) -> RunKey:
    inputs = {_display_path(f): sha256_file(f) for f in files}
    payload = {
        "version": KEY_VERSION,
        "notebook": notebook_code_hash(notebook),
        "parameters": parameters,
        "inputs": sorted(inputs.values()),
        "package": pkg,
    }
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return RunKey(key[:32], inputs)


class RunCache:
    """``<cache>/runs/<key>/`` holds ``notebook.ipynb``, ``results/*.csv`` and ``meta.json``."""

    def __init__(self, root: Path = paths.CACHE_DIR):
        self.root = root / "runs"

    def _dir(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> Path | None:
        d = self._dir(key)
        return d if (d / "meta.json").is_file() else None

    def put(self, key: str, notebook_json: str, results: dict[str, str], meta: dict) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.root))
        try:
            (staging / "notebook.ipynb").write_text(notebook_json, encoding="utf-8")
            (staging / "results").mkdir()
            for name, text in results.items():
                (staging / "results" / name).write_text(text, encoding="utf-8")
            # meta.json last: its presence marks a complete entry
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
            final = self._dir(key)
            if final.exists():  # another build stored the same key meanwhile: identical content
                shutil.rmtree(staging)
                return final
            os.replace(staging, final)
            return final
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
