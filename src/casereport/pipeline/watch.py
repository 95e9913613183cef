"""The files ``casereport preview`` watches, and how it notices that one changed.

Watched: the data folder, ``params/``, the notebooks, the package's modules, the article's
sources (``index.qmd`` and every ``.qmd`` it includes, ``_quarto.yml``, ``_quarto/``) and
``references.bib`` — what the build reads, so a change there can change the report.

Changes are found by polling: every half second each watched file's modification time
(nanoseconds) and size are compared with the last look. No file-watching library
(``watchfiles``, ``watchdog``) is in the pinned environment, and the watched set is a
few hundred files, so one ``stat`` each per poll is cheap; polling also works the same on
every file system (network mounts, containers) where inotify events may not arrive. An
edit that keeps both the size and the timestamp would be missed; editors write a new
timestamp on every save.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from casereport.primitives import paths

#: Seconds between two looks at the watched files.
POLL = 0.5
_INCLUDE = re.compile(r"\{\{<\s*include\s+([^\s>]+)\s*>\}\}")
_ARTICLE = ["index.qmd", "_quarto.yml", "references.bib",
            "supplement/index.qmd", "supplement/_quarto.yml"]  # fmt: skip


def _included(qmd: Path, seen: set[Path]) -> Iterator[Path]:
    """``qmd`` and every file its ``{{< include >}}`` shortcodes name, recursively."""
    if qmd in seen or not qmd.is_file():
        return
    seen.add(qmd)
    yield qmd
    for name in _INCLUDE.findall(qmd.read_text(encoding="utf-8", errors="replace")):
        yield from _included((qmd.parent / name.strip("\"'")).resolve(), seen)


def _files_under(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for p in sorted(folder.rglob("*")):
        parts = p.relative_to(folder).parts
        hidden = any(part.startswith(".") or part == "__pycache__" for part in parts)
        if p.is_file() and not hidden:
            yield p


def watched(data_dir: Path | None = None) -> list[Path]:
    """Every file the preview watches, each once."""
    root = paths.ROOT
    found: list[Path] = []
    for folder in (data_dir or paths.DATA_DIR, paths.PARAMS_DIR, root / "_quarto",
                   root / "sections" / "templates"):  # the shapes' section templates
        found += _files_under(folder)
    found += sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
    found += [p for p in _files_under(paths.SRC_DIR) if p.suffix == ".py"]
    found += [root / name for name in _ARTICLE]
    found += _included((root / "index.qmd").resolve(), set())
    return list(dict.fromkeys(p.resolve() for p in found))


Snapshot = dict[Path, tuple[int, int]]


def snapshot(files: list[Path]) -> Snapshot:
    """Modification time (ns) and size of each file that exists."""
    out: Snapshot = {}
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out[f] = (st.st_mtime_ns, st.st_size)
    return out


def changed(before: Snapshot, after: Snapshot) -> list[Path]:
    """Files added, removed or modified between two snapshots, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def look(data_dir: Path | None = None) -> Snapshot:
    """A snapshot of the watched set as it is now (files added since count too)."""
    return snapshot(watched(data_dir))
