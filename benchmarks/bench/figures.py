"""Section `figures`: what a figure cell's PNG costs, two ways, in the same run.

Four of the report's figures (a case profile's strips, the ENRICH scatter and missing-data
bounds, the RETAKE minutes), each built from the real data in one process, interleaved:
matplotlib's ``savefig(bbox_inches="tight")`` at twice the figure's dpi (what the inline
backend's "retina" format calls: two draws, one to measure, one shifted onto a canvas of
the contents' size; the path before) against ``display.figures.png`` (one draw, cropped).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import RUN_PY, _fmt_s, _fmt_x, _verdict, median, ratio

FIGURES = ("profile strips", "enrich scatter", "missing bounds", "retake minutes")


def _makers():
    from casereport import stats
    from casereport.analyses.case_profile import analysis as profile
    from casereport.analyses.case_profile import figures as cp
    from casereport.analyses.engagement_fidelity import analysis as enrich
    from casereport.analyses.engagement_fidelity import figures as ef
    from casereport.analyses.engagement_fidelity import limits
    from casereport.analyses.mentoring_time import analysis as retake
    from casereport.analyses.mentoring_time import figures as mt
    from casereport.pipeline.plan import notebook_defaults
    from casereport.primitives import paths
    from casereport.trialdata import loaders

    # the expected minutes and tolerance as the case profile's parameters cell sets them
    mins = notebook_defaults(paths.NOTEBOOKS_DIR / "case_profile.ipynb")
    expected, tolerance = mins["expected_minutes_per_month"], mins["tolerance_minutes"]
    df = enrich.prepare(loaders.load_enrich())
    rt = retake.prepare(loaders.load_retake(), loaders.load_factors())
    prof = profile.build("retake", "3", retake=loaders.load_retake(),
                         factors=loaders.load_factors(), expected=expected,
                         tolerance=tolerance)  # fmt: skip
    return {
        "profile strips": lambda: cp.profile_strips(prof.frame, prof.site, prof.measures,
                                                    prof.trial_label),  # fmt: skip
        "enrich scatter": lambda: ef.scatter(df, stats.site_ols(df, "engagement_pct",
                                                                "fidelity_score")),  # fmt: skip
        "missing bounds": lambda: ef.missing_bounds(limits.missing(df), df),
        "retake minutes": lambda: mt.minutes(rt, retake.groups(rt, expected, tolerance)),
    }


def worker(out: str, repeats: int) -> None:
    """The timings of one figure to PNG, each way; JSON to ``out``."""
    import io
    import os
    import time

    from casereport.kernels import template

    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in template.PRELOAD:  # the kernel's import stack, as the build's template has it
        __import__(name)
    import matplotlib.pyplot as plt

    from casereport.display.figures import png
    from casereport.display.setup import setup

    setup()
    res: dict[str, dict[str, list[float]]] = {k: {"savefig": [], "png": []} for k in FIGURES}
    for name, make in _makers().items():
        plt.close(make())  # the first figure of each kind is not timed
        for _ in range(repeats):
            for how in ("savefig", "png"):
                fig = make()
                t0 = time.perf_counter()
                if how == "png":
                    png(fig, 2 * fig.dpi)
                else:
                    fig.savefig(io.BytesIO(), format="png", dpi=2 * fig.dpi, bbox_inches="tight")
                res[name][how].append(time.perf_counter() - t0)
                plt.close(fig)
    Path(out).write_text(json.dumps(res))


def section_figures(repeats: int) -> dict[str, Any]:
    n = max(repeats, 5)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, str(RUN_PY), "_figures", str(n), "--out", str(out)],
                       check=True, capture_output=True)  # fmt: skip
        return {"repeats": n, "draw": json.loads(out.read_text())}


def figures_markdown(s: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The `figures` section of results.md and its verdict."""
    L = ["## A figure cell's PNG", "",
         f"Four of the report's figures from the real data, one process, {s['repeats']} "
         "samples each way interleaved (medians); load "
         f"{s.get('load')}; finished {s.get('finished')}:", "",
         "| figure | savefig, bbox tight (before) | one draw, cropped (now) | ratio |",
         "|---|---|---|---|"]
    before = now = 0.0
    for name in FIGURES:
        m = {k: median(v) for k, v in s["draw"][name].items()}
        before, now = before + m["savefig"], now + m["png"]
        L.append(f"| {name} | {_fmt_s(m['savefig'], 3)} | {_fmt_s(m['png'], 3)} | "
                 f"{_fmt_x(ratio(m['savefig'], m['png']))} |")
    L += ["", f"In all {_fmt_s(before, 3)} → {_fmt_s(now, 3)} "
          f"({_fmt_x(ratio(before, now))}).", ""]
    v = [("A figure's PNG drawn once (four figures, same run)",
          _verdict(now < before, f"{_fmt_s(before, 3)} → {_fmt_s(now, 3)} in all"))]
    return L, v
