"""Figures of the mentoring-time shape: support minutes per month by site against the
planned amount, and against the caseload."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from casereport.display.figures import colours, label_points, plain
from casereport.primitives.labels import GROUP_LABELS, MENTORING_GROUPS


def _groups_frame(df: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    d = df.assign(group=list(groups), label=[f"Site {s}" for s in df["site"]])
    d["_g"] = d["group"].map({g: i for i, g in enumerate(MENTORING_GROUPS)})
    return d.sort_values(["_g", "mpm"], kind="stable")


def minutes(
    df: pd.DataFrame, groups: Sequence[str], expected: float = 60.0, tolerance: float = 10.0
) -> plt.Figure:
    """Average mentoring minutes per month by site (horizontal bars) against the expected
    amount, sites grouped into less than, close to and more than expected (the paper's groups;
    the tolerance that counts as close is a parameter)."""
    d = _groups_frame(df, groups)
    col = colours(MENTORING_GROUPS)
    fig, ax = plt.subplots(figsize=(7.0, max(3.0, 0.32 * len(d) + 1.3)))
    ypos = np.arange(len(d))[::-1]
    ax.axvspan(expected - tolerance, expected + tolerance, color="0.9", zorder=0)
    ax.barh(ypos, d["mpm"], color=[col[g] for g in d["group"]], edgecolor="black", lw=0.5)
    ax.axvline(expected, color="black", ls="--", lw=1.2)
    ax.set_yticks(ypos, [plain(v) for v in d["label"]])
    ax.set_xlabel("Average mentoring per month (minutes)")
    ax.set_ylabel("")
    handles = [plt.Rectangle((0, 0), 1, 1, fc=col[g], ec="black", lw=0.5, label=GROUP_LABELS[g])
               for g in MENTORING_GROUPS if g in set(d["group"])]  # fmt: skip
    handles += [
        Line2D([], [], color="black", ls="--", label=f"expected {expected:g} min"),
        plt.Rectangle((0, 0), 1, 1, fc="0.9", label=f"± {tolerance:g} min (close)"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def caseload(df: pd.DataFrame, groups: Sequence[str], expected: float = 60.0) -> plt.Figure:
    """Minutes per month against participants per OT (caseload), point size by number of
    OTs, colour by mentoring group; every site labelled."""
    d = _groups_frame(df, groups)
    col = colours(MENTORING_GROUPS)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ots = d["ots"].to_numpy(float)
    sizes = 30 + 40 * ots
    ax.axhline(expected, color="black", ls="--", lw=1)
    ax.scatter(d["ppo"], d["mpm"], s=sizes, c=[col[g] for g in d["group"]], edgecolor="black",
               lw=0.6, zorder=3)  # fmt: skip
    xr = float(np.ptp(d["ppo"])) or 1.0
    label_points(ax, d["ppo"], d["mpm"], d["label"].tolist(), 0.12 * xr, 6)
    ax.set_xlabel("Participants per OT (caseload)")
    ax.set_ylabel("Average mentoring per month (minutes)")
    handles = [Line2D([], [], ls="", marker="o", color=col[g], mec="black", label=GROUP_LABELS[g])
               for g in MENTORING_GROUPS if g in set(d["group"])]  # fmt: skip
    handles += [Line2D([], [], ls="", marker="o", color="white", mec="black",
                       ms=np.sqrt(30 + 40 * v), label=f"{v} OTs")
                for v in sorted({int(ots.min()), int(ots.max())})]  # fmt: skip
    handles.append(Line2D([], [], color="black", ls="--", label=f"expected {expected:g} min"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig
