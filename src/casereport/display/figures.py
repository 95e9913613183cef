"""Figures for the notebooks (seaborn/matplotlib, colour-blind-safe palette): the backend,
:func:`show`, and the helpers every room's figures use (colours, markers, point labels).

Each builder (in each analysis room's ``figures`` module) returns one
``matplotlib.figure.Figure``; a figure cell calls :func:`show`, which displays it once and
closes it. Site labels come from the data (``Site <id>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from casereport.analyses.estimability import NotEstimable
from casereport.display.setup import PALETTE, in_kernel

if not in_kernel():  # plain Python / tests: never open a window
    matplotlib.use("Agg")


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]


def show(fig: plt.Figure | NotEstimable) -> None:
    """Display ``fig`` once (inline backend in a kernel) and close it. An analysis the data
    cannot support is drawn as a small figure stating the reason, so the figure's label,
    caption and alt text still resolve."""
    if isinstance(fig, NotEstimable):
        note = str(fig)
        fig, ax = plt.subplots(figsize=(6.0, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, note, ha="center", va="center")
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(fig)
    finally:
        plt.close(fig)


def plain(text: Any) -> str:
    """Data text shown literally: a ``$`` would otherwise start matplotlib mathtext."""
    return str(text).replace("$", r"\$")


def colours(levels: Sequence[Any]) -> dict[Any, Any]:
    """A colour per level from the colour-blind palette, in the given order."""
    pal = sns.color_palette(PALETTE, max(len(levels), 1))
    return {lev: pal[i % len(pal)] for i, lev in enumerate(levels)}


def label_points(ax, xs, ys, labels, xtol: float, ytol: float) -> None:
    """Label each point; a label goes to the left when a neighbour sits to its right."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    for i, lab in enumerate(labels):
        lab = plain(lab)
        near = (np.abs(ys - ys[i]) < ytol) & (xs > xs[i]) & (xs - xs[i] < xtol)
        left = bool(near.any())
        ax.annotate(
            lab,
            (xs[i], ys[i]),
            xytext=(-7 if left else 7, 5),
            textcoords="offset points",
            ha="right" if left else "left",
            va="bottom",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "lw": 0.6},
        )
