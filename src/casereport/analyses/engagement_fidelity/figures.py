"""Figures of the engagement-fidelity shape: the engagement against site score scatter
(with its fit, intervals and labelled sites) and the missing-data bounds per site."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from scipy import stats

from casereport.analyses.estimability import passes_through
from casereport.display.figures import MARKERS, colours, label_points, plain
from casereport.primitives.rounding import round_half_up
from casereport.stats import clopper_pearson

# Up to this many sites every site is labelled, as in the paper's Fig. 1; above it only the
# sites that need a label are: the most influential ones (largest Cook's distance).
LABEL_ALL_MAX = 30


LABEL_TOP = 10


def _levels(values: Sequence[Any]) -> list[Any]:
    """Sorted distinct values: the same category gets the same colour/marker in every run."""
    return sorted({str(v) for v in values})


def label_subset(ols: Any, sites: pd.Series) -> np.ndarray:
    """Boolean mask over ``sites``: which sites the scatter labels."""
    sites = sites.astype(str)
    if len(sites) <= LABEL_ALL_MAX or ols is None:  # no fit: label every site
        return np.ones(len(sites), dtype=bool)
    inf = ols.influence
    top = inf["site"].astype(str).to_numpy()[
        np.argsort(-np.nan_to_num(inf["cooks_d"].to_numpy(float), nan=-1.0))[:LABEL_TOP]
    ]
    return sites.isin(top).to_numpy()


def _mean_band(ols: Any, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS fitted line and its pointwise confidence band for the mean at ``grid``."""
    x = ols.influence["x"].to_numpy(float)
    sxx = float(((x - x.mean()) ** 2).sum())
    fit = ols.intercept + ols.slope * grid
    se = ols.sigma * np.sqrt(1 / ols.n + (grid - x.mean()) ** 2 / sxx)
    q = stats.t.ppf(0.5 + ols.level / 2, ols.n - 2)
    return fit, fit - q * se, fit + q * se


def published_positions(df: pd.DataFrame) -> pd.DataFrame:
    """Sites whose published engagement % (``pct_engaged``) is not their recomputed one
    rounded half up: ``site, fidelity_score, engagement_pct, pct_engaged`` (empty when the
    table has no published column or every site agrees)."""
    if "pct_engaged" not in df.columns:
        return df.iloc[0:0]
    pub = df["pct_engaged"].to_numpy(float)
    off = np.array([round_half_up(v) != p for v, p in zip(df["engagement_pct"], pub,
                                                            strict=True)], dtype=bool)  # fmt: skip
    return df.loc[off, ["site", "fidelity_score", "engagement_pct", "pct_engaged"]]


def scatter(df: pd.DataFrame, ols: Any, level: float = 0.95) -> plt.Figure:
    """Fig. 1 redrawn and extended: engagement % against site fidelity, every site
    labelled, at its engagement recomputed from the counts; where the published % differs
    (:func:`published_positions`), a hollow marker at the published value joined to the
    site's point; exact intervals per site; size by participants with engagement data;
    colour by employer, marker by location; dotted OLS line with its confidence band
    (left out when ``ols`` is None: the association was not estimable)."""
    lo, hi = clopper_pearson(df["engaged"], df["with_engagement_data"], level)
    x, y = df["fidelity_score"].to_numpy(float), df["engagement_pct"].to_numpy(float)
    emp, loc = df["employer"].astype(str), df["location"].astype(str)
    col = colours(_levels(emp))
    mk = {lev: MARKERS[i % len(MARKERS)] for i, lev in enumerate(_levels(loc))}
    m = df["with_engagement_data"].to_numpy(float)
    size = 25 + 275 * np.sqrt(m / m.max())

    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    xr = np.ptp(x) or 1.0
    grid = np.linspace(x.min() - 0.05 * xr, x.max() + 0.05 * xr, 100)
    if ols is not None:
        fit, blo, bhi = _mean_band(ols, grid)
        ax.fill_between(grid, blo, bhi, color="0.85", zorder=0, lw=0)
        ax.plot(grid, fit, ls=":", color="0.25", lw=1.8, zorder=1)
    ax.errorbar(x, y, yerr=[y - 100 * lo, 100 * hi - y], fmt="none", ecolor="0.45", lw=1, zorder=2)
    # one scatter call per employer × location group: vectorised for large trials
    for (e, lc), idx in df.groupby([emp, loc], sort=True).indices.items():
        ax.scatter(
            x[idx], y[idx], s=size[idx], color=col[e], marker=mk[lc],
            edgecolor="black", lw=0.7, zorder=3,
        )  # fmt: skip
    pub = published_positions(df)
    if len(pub):
        px = pub["fidelity_score"].to_numpy(float)
        ax.vlines(px, pub["pct_engaged"], pub["engagement_pct"], colors="0.2", lw=0.8,
                  linestyles="--", zorder=2)  # fmt: skip
        ax.scatter(px, pub["pct_engaged"], s=70, facecolors="none", edgecolors="black",
                   lw=1.2, zorder=3)  # fmt: skip
    show = label_subset(ols, df["site"])
    label_points(
        ax, x[show], y[show], [f"Site {s}" for s in df["site"].to_numpy()[show]],
        0.08 * xr + 0.3, 8,
    )  # fmt: skip
    ax.set_xlabel("Site fidelity score (index points, range 3–12)")
    ax.set_ylabel("Engaged with peer support (% of participants with data)")
    ax.set_ylim(0, 105)
    ax.set_xlim(grid[0] - 0.1 * xr, grid[-1] + 0.1 * xr)

    heads: list[Line2D] = []

    def head(text: str) -> Line2D:  # a section title inside the legend, set bold below
        heads.append(Line2D([], [], ls="", label=text))
        return heads[-1]

    handles = [head("Employer")]
    handles += [Line2D([], [], ls="", marker="o", color=c, mec="black", label=plain(k))
                for k, c in col.items()]  # fmt: skip
    handles.append(head("Location"))
    handles += [Line2D([], [], ls="", marker=mk[k], color="0.6", mec="black", label=plain(k))
                for k in mk]  # fmt: skip
    handles.append(head("With data"))
    sizes = sorted({int(m.min()), int(np.median(m)), int(m.max())})
    handles += [
        Line2D([], [], ls="", marker="o", color="white", mec="black",
               ms=np.sqrt(25 + 275 * np.sqrt(v / m.max())), label=f"n = {v}")
        for v in sizes
    ]  # fmt: skip
    pct = f"{100 * level:g}%"
    handles += [head("Fit")] if ols is not None else [head("Intervals")]
    if ols is not None:
        handles += [
            Line2D([], [], ls=":", color="0.25", label="OLS line of best fit"),
            plt.Rectangle((0, 0), 1, 1, fc="0.85", label=f"{pct} confidence band"),
        ]
    handles.append(Line2D([], [], color="0.45", label=f"{pct} exact CI (site)"))
    if len(pub):
        names = ", ".join(plain(s) for s in pub["site"])
        handles += [
            head("Published"),
            Line2D([], [], ls="", marker="o", mfc="none", mec="black",
                   label=f"printed %, site {names}"),
        ]  # fmt: skip
    leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1),
                    frameon=False, handletextpad=0.4, labelspacing=0.45)  # fmt: skip
    # bold as a font weight, not mathtext's \bf: parsing mathtext (pyparsing) took about a
    # tenth of a second of each figure, and the titles are plain words
    for handle, text in zip(handles, leg.get_texts(), strict=True):
        if any(handle is h for h in heads):
            text.set_fontweight("bold")
    fig.tight_layout()
    return fig


#: Sites above which the missing-data bounds figure stops growing and drops its site labels.
BOUNDS_ROWS_MAX = 60


@passes_through
def missing_bounds(mis: Any, df: pd.DataFrame, level: float = 0.95):
    """Each site's engagement: the exact interval among those with data (thin line, point
    at the observed %) beside the bounds among those offered (thick bar: lower = no one
    without data engaged, upper = all did), sites ordered by fidelity. ``mis``:
    :func:`casereport.analyses.engagement_fidelity.limits.missing`."""
    bounds = mis["bounds"].table
    lo, hi = clopper_pearson(df["engaged"], df["with_engagement_data"], level)
    d = df.assign(site=df["site"].astype(str), _lo=100 * lo, _hi=100 * hi)
    b = bounds.assign(site=bounds["site"].astype(str)).set_index("site")
    d = d.sort_values("fidelity_score").reset_index(drop=True)
    pos = np.arange(len(d))
    # a row of 0.45 in per site up to BOUNDS_ROWS_MAX sites; above, the rows share that
    # height and lose their labels (a 1,000-site figure was 450 in tall and took seconds)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * min(len(d), BOUNDS_ROWS_MAX) + 1.6))
    ax.hlines(pos + 0.15, d["_lo"], d["_hi"], color="0.3", lw=1.2,
              label=f"{100 * level:g}% exact CI, with data")
    ax.plot(d["engagement_pct"], pos + 0.15, "o", color="0.3", ms=4)
    bl = 100 * b.loc[d["site"], "lower"].to_numpy(float)
    bu = 100 * b.loc[d["site"], "upper"].to_numpy(float)
    ax.hlines(pos - 0.15, bl, bu, color="tab:orange", lw=5, label="Bounds over those offered")
    zero = np.isclose(bl, bu)  # no one offered lacks data: the bar would be invisible
    if zero.any():
        names = ", ".join(plain(s) for s in d.loc[zero, "site"])
        if len(names) > 60:  # a large trial: count the sites instead of listing them
            names = f"{int(zero.sum()):,} sites"
        ax.plot(bl[zero], pos[zero] - 0.15, "D", color="tab:orange", mec="black", ms=7,
                label=f"Zero-width bounds (no missing data): site {names}")  # fmt: skip
    if len(d) <= BOUNDS_ROWS_MAX:
        pairs = zip(d["site"], d["fidelity_score"], strict=True)
        ax.set_yticks(pos, [f"Site {s} (fidelity {plain(f)})" for s, f in pairs])
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(d):,} sites, ordered by fidelity")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Engaged with peer support (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
