"""Section `spelling`: what the spelling of the article's variable shortcodes costs the
render. Before its Typst render Quarto reads the whole article with pandoc's markdown reader
to look for level-one headings (src/core/lib/markdown-analysis/level-one-headings.ts); that
reader is quadratic in "<" followed by a space, as in ``{{< var x >}}``. Measured two ways,
each with the article as written (``{{<var x>}}``) and respelled with the spaces:

- that one pandoc read, of the very text Quarto hands it (caught by a stand-in for pandoc,
  ``QUARTO_PANDOC``, in one Typst render of each spelling), timed on its own;
- the article's whole Quarto render (HTML and Typst PDF, every notebook view) of the same
  build/, the two spellings interleaved.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .builds import QUARTO_BIN
from .common import PROJECT, _fmt_s, _fmt_x, _verdict, log, median, ratio, timed
from .odds import env_for

PANDOC = QUARTO_BIN / "tools" / "x86_64" / "pandoc"
LEVEL_ONE = Path("/opt/quarto/quarto-cli/src/resources/filters/quarto-internals/"
                 "leveloneanalysis.lua")
SPACED = (re.compile(r"\{\{<var ([^\s>]+)>\}\}"), r"{{< var \1 >}}")


def _sources(project: Path) -> list[Path]:
    return [project / "index.qmd", *sorted((project / "sections").glob("*.qmd"))]


def _respell(project: Path) -> dict[Path, str]:
    """Rewrite every variable shortcode with the spaces; returns the original texts."""
    pattern, repl = SPACED
    saved = {}
    for p in _sources(project):
        saved[p] = p.read_text(encoding="utf-8")
        p.write_text(pattern.sub(repl, saved[p]), encoding="utf-8")
    return saved


def _read_seconds(text: str, reader: str = "markdown") -> float:
    t0 = time.perf_counter()
    subprocess.run([str(PANDOC), "-f", reader, "-t", "markdown", "-L", str(LEVEL_ONE)],
                   input=text.encode(), capture_output=True, check=True)
    return time.perf_counter() - t0


# The mechanism on its own: paragraphs each with one "<" followed by a space, read with
# pandoc's markdown and with raw HTML and native spans turned off.
SYNTHETIC = "Paragraph {i}: x < y and y > z."
SYNTHETIC_SIZES = (200, 800)
READERS = ("markdown", "markdown-raw_html-native_spans")


def _synthetic() -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for reader in READERS:
        out[reader] = {}
        for n in SYNTHETIC_SIZES:
            text = "\n\n".join(SYNTHETIC.format(i=i) for i in range(n))
            out[reader][n] = median([_read_seconds(text, reader) for _ in range(3)])
    return out


# Stands in for pandoc: keeps the input of the level-one read ("-f markdown -t markdown -L
# .../leveloneanalysis.lua") in $CATCH, and passes every call on to the real pandoc.
CATCHER = """#!/bin/sh
case "$*" in
  *leveloneanalysis.lua*) tee "$CATCH" | "$REAL_PANDOC" "$@" ;;
  *) exec "$REAL_PANDOC" "$@" ;;
esac
"""


def _quarto(project: Path, *args: str, extra: dict[str, str] | None = None) -> float:
    env = env_for(project)
    env["PATH"] = f"{QUARTO_BIN}{os.pathsep}{env['PATH']}"
    env.update(CASEREPORT_SKIP_PRERENDER="1", CASEREPORT_SKIP_POSTRENDER="1",
               QUARTO_PYTHON=sys.executable, **(extra or {}))
    out = project / "_manuscript.spelling"
    shutil.rmtree(out, ignore_errors=True)
    try:
        return timed([str(QUARTO_BIN / "quarto"), "render", *args, "--output-dir", str(out)],
                     cwd=project, env=env)[0]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _as_quarto_reads(project: Path) -> str:
    """The text of the level-one read in a Typst render of the article."""
    catcher, caught = project.parent / "pandoc-catcher.sh", project.parent / "level-one.md"
    catcher.write_text(CATCHER)
    catcher.chmod(0o755)
    caught.unlink(missing_ok=True)
    _quarto(project, str(project / "index.qmd"), "--to", "typst",
            extra={"QUARTO_PANDOC": str(catcher), "REAL_PANDOC": str(PANDOC),
                   "CATCH": str(caught)})
    return caught.read_text(encoding="utf-8")


def _render_article(project: Path) -> float:
    return _quarto(project, str(project))


def built(jobs: int) -> None:
    """The private copy's build/, which the renders read (a no-op when it is up to date)."""
    subprocess.run([sys.executable, "-m", "casereport", "build", "--no-render", "--jobs",
                    str(jobs)], cwd=PROJECT, env=env_for(PROJECT), capture_output=True,
                   check=True)


def section_spelling(repeats: int, jobs: int) -> dict[str, Any]:
    if not PANDOC.is_file() or not LEVEL_ONE.is_file():
        return {"skipped": f"no {PANDOC} or {LEVEL_ONE}"}
    built(jobs)
    texts = {"unspaced": _as_quarto_reads(PROJECT)}
    saved = _respell(PROJECT)
    try:
        texts["spaced"] = _as_quarto_reads(PROJECT)
    finally:
        for p, t in saved.items():
            p.write_text(t, encoding="utf-8")
    counts = {k: len(re.findall(r"<\s", v)) for k, v in texts.items()}
    read = {k: [] for k in texts}
    for _ in range(max(repeats, 3)):
        for k, v in texts.items():
            read[k].append(_read_seconds(v))
    render = {k: [] for k in texts}
    for i in range(max(repeats, 2)):
        for k in texts:
            log(f"  article render, {k} shortcodes, round {i + 1}")
            saved = _respell(PROJECT) if k == "spaced" else {}
            try:
                render[k].append(_render_article(PROJECT))
            finally:
                for p, t in saved.items():
                    p.write_text(t, encoding="utf-8")
    med = {"read": {k: median(v) for k, v in read.items()},
           "render": {k: median(v) for k, v in render.items()}}
    return {"repeats": repeats, "chars": {k: len(v) for k, v in texts.items()},
            "spaced_opens": counts, "samples": {"read": read, "render": render},
            "median": med, "synthetic": _synthetic()}


def spelling_markdown(s: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `spelling` section of results.md and its verdict."""
    if "skipped" in s:
        return [f"## Shortcode spelling: skipped ({s['skipped']})", ""], []
    m, n = s["median"], s["spaced_opens"]
    L = ["## Shortcode spelling and the article's render", "",
         "Before its Typst render Quarto reads the whole article with pandoc's markdown reader "
         "(`hasLevelOneHeadings`); that reader is quadratic in \"<\" followed by a space. "
         f"The article as written (`{{{{<var x>}}}}`, {n['unspaced']} such signs) against the "
         f"same article respelled `{{{{< var x >}}}}` ({n['spaced']}); load {s.get('load')}.",
         "", "| what | as written | respelled with spaces | samples (written; spaced) |",
         "|---|---|---|---|"]
    for k, lab in (("read", "that pandoc read of the article"),
                   ("render", "the article's Quarto render (HTML, PDF, notebook views)")):
        sam = s["samples"][k]
        L.append(f"| {lab} | {_fmt_s(m[k]['unspaced'])} | {_fmt_s(m[k]['spaced'])} | "
                 f"{', '.join(f'{x:.2f}' for x in sam['unspaced'])}; "
                 f"{', '.join(f'{x:.2f}' for x in sam['spaced'])} |")
    syn = s.get("synthetic")
    if syn:
        a, b = SYNTHETIC_SIZES
        L += ["", f"The mechanism on its own: {a:,} and {b:,} paragraphs of "
              f"`{SYNTHETIC.format(i='i')}` (median of 3 reads; linear would be "
              f"{b // a}× for {b // a}× the text):", "",
              f"| reader | {a:,} | {b:,} | ratio |", "|---|---|---|---|"]
        for reader, by_n in syn.items():
            lo, hi = by_n.get(a, by_n.get(str(a))), by_n.get(b, by_n.get(str(b)))
            L.append(f"| `{reader}` | {_fmt_s(lo)} | {_fmt_s(hi)} | {_fmt_x(ratio(hi, lo))} |")
    saved = m["render"]["spaced"] - m["render"]["unspaced"]
    L += ["", f"The render is {_fmt_s(saved, 1)} shorter as written "
          f"({_fmt_x(ratio(m['render']['spaced'], m['render']['unspaced']))}).", ""]
    v = [("Article render: shortcodes spelled without spaces (same build/, same run)",
          _verdict(m["render"]["unspaced"] < m["render"]["spaced"],
                   f"{_fmt_s(m['render']['spaced'], 1)} → "
                   f"{_fmt_s(m['render']['unspaced'], 1)}; the pandoc read "
                   f"{_fmt_s(m['read']['spaced'])} → {_fmt_s(m['read']['unspaced'])}"))]
    return L, v
