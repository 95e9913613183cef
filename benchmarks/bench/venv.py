"""Section `venv`: what an environment folder inside the project costs each Quarto render.
Quarto walks the whole project folder many times per render (its resource globs,
src/project/project-resources.ts), and never through a symbolic link; `make setup` now makes
the environment outside the project and links `.venv` to it (the Makefile's VENV_FILES).

The article's render of the same build/, interleaved, with `.venv` as

- a folder inside the project holding the running environment's folders and file names
  (empty files: a walk reads names, not contents), as `make setup` made it before;
- a link to that same tree outside the project, as `make setup` makes it now.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .common import PROJECT, WORK, _fmt_s, _fmt_x, _verdict, log, median, ratio
from .spelling import _render_article, built


def _mirror(src: Path, dest: Path) -> int:
    """``src``'s folders and file names under ``dest``, every file empty; returns the count."""
    n = 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            (dest / rel / name).touch()
            n += 1
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return n


def section_venv(repeats: int, jobs: int) -> dict[str, Any]:
    venv = PROJECT / ".venv"
    if venv.exists() or venv.is_symlink():
        return {"skipped": f"{venv} already exists"}
    built(jobs)
    outside = WORK / "venv-mirror"
    shutil.rmtree(outside, ignore_errors=True)
    files = _mirror(Path(sys.prefix), outside)
    samples: dict[str, list[float]] = {"folder": [], "link": []}
    try:
        for i in range(max(repeats, 2)):
            for how in samples:
                log(f"  article render, .venv as a {how}, round {i + 1}")
                if how == "folder":
                    outside.rename(venv)
                else:
                    venv.symlink_to(outside, target_is_directory=True)
                try:
                    samples[how].append(_render_article(PROJECT))
                finally:
                    if how == "folder":
                        venv.rename(outside)
                    else:
                        venv.unlink()
    finally:
        if venv.is_symlink():
            venv.unlink()
        shutil.rmtree(venv if venv.is_dir() else outside, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)
    return {"repeats": repeats, "files": files, "samples": samples,
            "median": {k: median(v) for k, v in samples.items()}}


def venv_markdown(s: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `venv` section of results.md and its verdict."""
    if "skipped" in s:
        return [f"## The environment folder and the render: skipped ({s['skipped']})", ""], []
    m = s["median"]
    L = ["## The environment folder and the render", "",
         "The article's Quarto render (HTML, PDF, notebook views) of the same build/, "
         f"interleaved, with `.venv` holding the names of the environment's {s['files']:,} "
         "files (empty) as a folder inside the project (how `make setup` made it before) and "
         f"as a link to the same tree outside it (how it makes it now); load {s.get('load')}.",
         "", "| `.venv` | median | samples |", "|---|---|---|"]
    for k, lab in (("folder", "a folder in the project"), ("link", "a link to a folder outside")):
        L.append(f"| {lab} | {_fmt_s(m[k])} | {', '.join(f'{x:.2f}' for x in s['samples'][k])} |")
    L += ["", f"The render is {_fmt_s(m['folder'] - m['link'], 1)} shorter with the link "
          f"({_fmt_x(ratio(m['folder'], m['link']))}).", ""]
    v = [("Article render: the environment outside the project (same build/, same run)",
          _verdict(m["link"] < m["folder"],
                   f"{_fmt_s(m['folder'], 1)} → {_fmt_s(m['link'], 1)}"))]
    return L, v
