"""Figures of a case profile: one site's measures highlighted against its trial's other
sites (strip plots)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import Locator, MaxNLocator

from casereport.display.figures import plain
from casereport.display.setup import PALETTE


class InView(Locator):
    """The ticks of ``base`` that lie in the view, the only ones an axis draws.

    An axis makes a tick (five artists) for every location its locator returns, the one
    or two beyond each end of the view included, and then draws only those inside it;
    about a quarter of a strip figure's ticks were made and never drawn. Autoscaling asks
    ``base`` (its ``nonsingular`` and ``view_limits``), so the view is the same."""

    def __init__(self, base: Locator):
        self.base = base

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.base.set_axis(axis)

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin: float, vmax: float):
        locs = np.asarray(self.base.tick_values(vmin, vmax))
        lo, hi = min(vmin, vmax), max(vmin, vmax)
        # A little wider than the axis' own test (1e-10 of the view, in pixels), so no tick
        # it would draw is dropped; one it would not is still filtered out by the axis.
        slack = (hi - lo) * 1e-9
        return locs[(locs >= lo - slack) & (locs <= hi + slack)]

    def nonsingular(self, v0: float, v1: float):
        return self.base.nonsingular(v0, v1)

    def view_limits(self, vmin: float, vmax: float):
        return self.base.view_limits(vmin, vmax)


def profile_strips(
    df: pd.DataFrame, site: str, measures: Mapping[str, str], trial_label: str
) -> plt.Figure:
    """One strip per measure: every site of the trial (grey), this site highlighted, the
    trial median dashed. ``measures`` maps column -> axis label (with units)."""
    site = str(site)
    k = len(measures)
    height = 0.95 * k + 0.9
    fig, axes = plt.subplots(k, 1, figsize=(7.0, height), squeeze=False)
    # Fixed margins (inches: title above, an x label under each strip) instead of
    # tight_layout, which measured every tick label again (about a quarter of its time);
    # the saved PNG is cropped to its contents anyway (savefig.bbox "tight").
    top, bottom, gap = 0.4, 0.55, 0.6  # inches: title; last x label; ticks and label
    strip = (height - top - bottom - (k - 1) * gap) / k
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - top / height, bottom=bottom / height,
                        hspace=gap / strip)  # fmt: skip
    hl = sns.color_palette(PALETTE)[3]
    is_site = df["site"].astype(str).to_numpy() == site
    rng = np.random.default_rng(0)  # fixed vertical jitter
    for ax, (c, label) in zip(axes[:, 0], measures.items(), strict=True):
        v = df[c].to_numpy(float)
        jit = rng.uniform(-0.15, 0.15, v.size)
        ax.scatter(v[~is_site], jit[~is_site], color="0.6", s=25, zorder=2)
        ax.scatter(v[is_site], np.zeros(is_site.sum()), color=hl, s=90, edgecolor="black",
                   zorder=3, label=plain(f"Site {site}"))  # fmt: skip
        ax.axvline(np.nanmedian(v), color="black", ls="--", lw=1)
        whole = np.all(np.mod(v[~np.isnan(v)], 1) == 0)  # counts: whole-number ticks
        ax.xaxis.set_major_locator(InView(MaxNLocator(integer=True) if whole
                                          else ax.xaxis.get_major_locator()))  # fmt: skip
        ax.set_yticks([])
        ax.set_ylim(-0.5, 0.5)
        # No y ticks, label or grid lines, so the y axis draws nothing; hidden, it is not
        # laid out at every draw and tight box either (nor measured by the side spines).
        ax.yaxis.set_visible(False)
        ax.set_xlabel(label, fontsize=9)
    title = f"{plain('Site ' + site)} (highlighted) against the other {trial_label} sites"
    axes[0, 0].set_title(title + "; dashed: trial median", fontsize=10)
    return fig
