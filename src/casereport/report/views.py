"""The manuscript's notebook views, each keyed on what it is rendered from, so that a
render copies an unchanged view from the last manuscript instead of rendering it again.

A view (``build/runs/<run>-preview.html``, its figures in ``<run>_files/`` and the
download ``<run>.out.ipynb``) is what Quarto makes of one executed notebook listed under
``manuscript.notebooks`` in ``_quarto.yml``; each takes Quarto about 3 s, and after a
one-file data edit most did not change (benchmarks/results.md, section "views"). Its key
hashes the executed notebook with everything else a view is rendered from: ``_quarto.yml``,
every file under ``_quarto/`` (theme, filters, scripts), ``references.bib``, the Quarto
version and, when the notebook holds a shortcode, ``_variables.yml``. The last manuscript
records each view's key (:data:`RECORD`); a view whose key is the same is copied into the
new output folder with a fresh time, and Quarto's notebook context then reuses it
(``reviveOutput``, src/render/notebook/notebook-context.ts: an output at least as new as
its notebook is not rendered again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from casereport.primitives import atomic, paths

#: In a rendered manuscript: each view's notebook -> its key when it was rendered.
RECORD = ".casereport-views.json"
#: Part of every key: raise it when the way a view is rendered changes.
SCHEMA = 1
#: Project files every view is rendered from, besides its notebook and ``_quarto/``.
SHARED_FILES = ("_quarto.yml", "references.bib")
SHORTCODE = b"{{<"


def manuscript(root: Path | None = None) -> tuple[str, list[str]] | None:
    """(the article, the notebooks with a view), project-relative as ``_quarto.yml``'s
    ``manuscript`` names them; None when it lists no notebooks (Quarto then takes every
    input as one, and the whole project is rendered)."""
    root = root or paths.ROOT
    try:
        config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    ms = config.get("manuscript") if isinstance(config, dict) else None
    entries = ms.get("notebooks") if isinstance(ms, dict) else None
    if not isinstance(entries, list) or not entries:
        return None
    notebooks = [e.get("notebook") if isinstance(e, dict) else e for e in entries]
    if not all(isinstance(nb, str) and nb for nb in notebooks):
        return None
    return str(ms.get("article") or "index.qmd"), notebooks


def keys(notebooks: list[str], quarto_version: Any, root: Path | None = None) -> dict[str, str]:
    """Each notebook's key (see the module docstring); a notebook that does not exist has
    none, so it is always rendered (and Quarto reports it)."""
    root = root or paths.ROOT
    shared = hashlib.sha256(f"schema {SCHEMA}; quarto {quarto_version}".encode())
    extra = sorted(p for p in (root / "_quarto").rglob("*") if p.is_file()) \
        if (root / "_quarto").is_dir() else []  # fmt: skip
    for f in [*(root / name for name in SHARED_FILES), *extra]:
        _add(shared, root, f)
    out: dict[str, str] = {}
    for nb in notebooks:
        path = root / nb
        if not path.is_file():
            continue
        h = shared.copy()
        data = path.read_bytes()
        _add(h, root, path, data)
        if SHORTCODE in data:
            _add(h, root, root / "_variables.yml")
        out[nb] = h.hexdigest()
    return out


def _add(h: Any, root: Path, f: Path, data: bytes | None = None) -> None:
    h.update(str(f.relative_to(root)).encode() + b"\0")
    if data is None:
        data = f.read_bytes() if f.is_file() else b"(absent)"
    h.update(data + b"\0")


def outputs(out_dir: Path, notebook: str) -> list[Path]:
    """The view's files in a rendered manuscript: page, download, figures folder (Quarto's
    names: ``outputFile`` in notebook-contributor-html.ts and -ipynb.ts)."""
    rel = Path(notebook)
    where = Path(out_dir) / rel.parent
    return [where / f"{rel.stem}-preview.html", where / f"{rel.stem}.out.ipynb",
            where / f"{rel.stem}_files"]  # fmt: skip


def restore(previous: Path | None, out_dir: Path, new_keys: dict[str, str]) -> list[str]:
    """Copy into ``out_dir`` each view of the manuscript ``previous`` whose recorded key
    equals its key in ``new_keys``, touched so that Quarto takes it as up to date, with
    the manuscript's ``site_libs/`` (a view's page links its own libraries there); return
    the notebooks whose views were copied."""
    if previous is None:
        return []
    try:
        record = json.loads((Path(previous) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict):
        return []
    reused: list[str] = []
    for nb, key in new_keys.items():
        if record.get(nb) != key:
            continue
        page, download, figures = outputs(previous, nb)
        if not (page.is_file() and download.is_file()):
            continue
        for src, dest in zip((page, download, figures), outputs(out_dir, nb), strict=True):
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            elif src.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            _touch(dest)
        reused.append(nb)
    libs = Path(previous) / "site_libs"
    if reused and libs.is_dir():
        shutil.copytree(libs, Path(out_dir) / "site_libs", dirs_exist_ok=True)
    return reused


def _touch(path: Path) -> None:
    if path.is_dir():
        for p in [path, *path.rglob("*")]:
            os.utime(p)
    elif path.exists():
        os.utime(path)


def write_record(out_dir: Path, new_keys: dict[str, str]) -> None:
    """Record in the rendered manuscript ``out_dir`` the key of each view it holds."""
    atomic.write_text(Path(out_dir) / RECORD,
                      json.dumps(new_keys, indent=2, sort_keys=True) + "\n")  # fmt: skip
