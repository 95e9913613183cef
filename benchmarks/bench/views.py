"""Section `views` (issue 21): the render after an edit, with the notebook views whose key
did not change copied from the last manuscript (report/views.py) against every view
rendered again with the whole project (how `quarto.render` rendered before), interleaved,
of the same build/ and the same last manuscript; and what one view costs rendered alone
against its part of one whole render (which decides when the views are rendered alone).

Edits, each applied to the private copy, built without the render, measured, then undone:
the article's text (no view changes), one RETAKE data cell (the mentoring-time and
cross-case views change) and one ENRICH data cell (five of the six views change).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .builds import QUARTO_BIN, _build
from .common import PROJECT, _fmt_s, _fmt_x, _verdict, log, median, ratio, timed
from .odds import env_for
from .rebuild import EDITS, _edit

# quarto.render of the copy's build/ into argv[1], the last manuscript argv[2]; "whole"
# copies no view, so every view renders again with the whole project (the rule before)
RENDER = ("import sys; from pathlib import Path; from casereport.report import quarto, views; "
          "whole = sys.argv[3] == 'whole'; "
          "views.restore = (lambda *a, **k: []) if whole else views.restore; "
          "quarto.render(Path(sys.argv[1]), previous=Path(sys.argv[2]))")
WAYS = ("whole", "views")
EDIT_LABELS = {"article": "the article's text (index.qmd)",
               "retake": "one cell of `retake/retake_sites.csv`",
               "enrich": "one cell of `enrich/enrich_sites.csv`"}


def _env() -> dict[str, str]:
    env = env_for(PROJECT)
    env["PATH"] = f"{QUARTO_BIN}{os.pathsep}{env['PATH']}"
    return env


def _render(way: str) -> float:
    out = PROJECT / "_manuscript.views-bench"
    shutil.rmtree(out, ignore_errors=True)
    try:
        return timed([sys.executable, "-c", RENDER, str(out), str(PROJECT / "_manuscript"),
                      way], cwd=PROJECT, env=_env())[0]  # fmt: skip
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _quarto(target: Path, out: Path) -> float:
    """Seconds of `quarto render target` into ``out`` (kept: a later render reuses it)."""
    env = _env()
    env.update(CASEREPORT_SKIP_PRERENDER="1", CASEREPORT_SKIP_POSTRENDER="1",
               QUARTO_PYTHON=sys.executable)  # fmt: skip
    return timed([str(QUARTO_BIN / "quarto"), "render", str(target), "--output-dir",
                  str(out)], cwd=PROJECT, env=env)[0]  # fmt: skip


def _costs(article: str, notebooks: list[str]) -> dict[str, float]:
    """The whole project into an empty folder; then the article alone into the same
    folder (its views reused, as after an edit of its text); then each of the first and
    the last view alone into an empty folder (page and download, as a changed view)."""
    out = PROJECT / "_manuscript.views-cost"
    shutil.rmtree(out, ignore_errors=True)
    try:
        whole = _quarto(PROJECT, out)
        alone = _quarto(PROJECT / article, out)
        view = []
        for nb in (notebooks[0], notebooks[-1]):
            shutil.rmtree(out, ignore_errors=True)
            view.append(_quarto(PROJECT / nb, out))
        return {"whole": whole, "article": alone, "view": median(view)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _apply(edit: str, k: int) -> tuple[Path, bytes]:
    """Edit the copy (a new value each ``k``); returns the file and its bytes before."""
    if edit == "article":
        path = PROJECT / "index.qmd"
        before = path.read_bytes()
        path.write_bytes(before + f"\n<!-- benchmark edit {k} -->\n".encode())
    else:
        name = f"{edit}/{edit}_sites.csv"
        path = PROJECT / "data" / name
        before = path.read_bytes()
        column, step = EDITS[name]
        _edit(path, column, step, k + 1)  # k + 1: never site 1's fuzzy crossover (builds.py)
    return path, before


def section_views(repeats: int, jobs: int) -> dict[str, Any]:
    from casereport.report import views

    _build(PROJECT, "--jobs", str(jobs))  # the last manuscript, with its views' keys
    if not (PROJECT / "_manuscript" / views.RECORD).is_file():
        return {"skipped": "the build rendered no manuscript (no Quarto?)"}
    listed = views.manuscript(PROJECT)
    assert listed is not None
    article, notebooks = listed
    samples: dict[str, dict[str, list[float]]] = {e: {w: [] for w in WAYS} for e in EDIT_LABELS}
    for edit in EDIT_LABELS:
        path, before = _apply(edit, 1)
        try:
            _build(PROJECT, "--no-render", "--jobs", str(jobs))
            for i in range(max(repeats, 2)):
                for way in WAYS:
                    samples[edit][way].append(_render(way))
                    log(f"  {edit} edit, {way}, round {i + 1}: {samples[edit][way][-1]:.1f}s")
        finally:
            path.write_bytes(before)
            _build(PROJECT, "--no-render", "--jobs", str(jobs))
    # one view alone against its share of one whole render of the project
    cost: dict[str, list[float]] = {"whole": [], "article": [], "view": []}
    for _ in range(max(repeats, 2)):
        for k, v in _costs(article, notebooks).items():
            cost[k].append(v)
    cmed = {k: median(v) for k, v in cost.items()}
    share = (cmed["whole"] - cmed["article"]) / len(notebooks)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return {"repeats": repeats, "notebooks": len(notebooks), "commit_copy": git,
            "samples": samples,
            "median": {e: {w: median(v) for w, v in s.items()} for e, s in samples.items()},
            "cost": {"samples": cost, "median": cmed, "share": share,
                     "alone_vs_share": ratio(cmed["view"], share)}}


def views_markdown(s: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `views` section of results.md and its verdict."""
    if "skipped" in s:
        return [f"## Notebook views after an edit: skipped ({s['skipped']})", ""], []
    m, c = s["median"], s["cost"]
    L = ["## Notebook views after an edit", "",
         "The render step (`quarto.render`: Quarto, HTML and PDF, the supplement beside the "
         "article) after an edit, of the same build/ and the same last manuscript, two ways "
         "interleaved: every notebook view rendered again with the whole project (before), "
         "and only the views whose key changed, each alone, then the article (now; with "
         f"more than half of the {s['notebooks']} views changed the whole project renders, "
         f"as before). Load {s.get('load')}; finished {s.get('finished')}.", "",
         "| edit | every view again | changed views only | ratio | samples (before; now) |",
         "|---|---|---|---|---|"]
    for e, lab in EDIT_LABELS.items():
        w, v = m[e]["whole"], m[e]["views"]
        L.append(f"| {lab} | {_fmt_s(w, 1)} | {_fmt_s(v, 1)} | {_fmt_x(ratio(w, v))} | "
                 f"{', '.join(f'{x:.1f}' for x in s['samples'][e]['whole'])}; "
                 f"{', '.join(f'{x:.1f}' for x in s['samples'][e]['views'])} |")
    cm = c["median"]
    L += ["", "What one view costs (`quarto render` of the project's files, no supplement, "
          f"medians of {len(c['samples']['whole'])}): the whole project {_fmt_s(cm['whole'], 1)}, "
          f"the article alone with its views in place {_fmt_s(cm['article'], 1)}, so each "
          f"view's share of the whole render is {_fmt_s(c['share'], 1)}; the first and the last "
          f"view rendered alone take {_fmt_s(cm['view'], 1)} (median), "
          f"{_fmt_x(c['alone_vs_share'])} that share (Quarto starts and reads the project "
          "each time).", ""]
    ok = all(m[e]["views"] < m[e]["whole"] for e in ("article", "retake"))
    v = [("Render after a one-file edit: unchanged notebook views not rendered again "
          "(same build/, same run)",
          _verdict(ok, "; ".join(f"{e} {_fmt_s(m[e]['whole'], 1)} → {_fmt_s(m[e]['views'], 1)}"
                                 for e in EDIT_LABELS)))]
    return L, v
