"""Figure builders: one figure, labelled axes, every site labelled, any number of sites."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from casereport import stats
from casereport.analyses.case_profile import analysis as profile
from casereport.analyses.case_profile import figures as cp_figures
from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import figures
from casereport.analyses.mentoring_time import analysis as retake
from casereport.analyses.mentoring_time import figures as mt_figures
from casereport.display import show_figure
from casereport.primitives import paths
from casereport.trialdata import loaders, trials

matplotlib.use("Agg")
SYN = paths.TESTS_DIR / "fixtures" / "synthetic_trial"


def _texts(fig):
    return {t.get_text() for ax in fig.axes for t in ax.texts} | {
        t.get_text() for ax in fig.axes for t in ax.get_yticklabels()
    }


@pytest.mark.parametrize("folder", [paths.DATA_DIR, SYN], ids=["real", "synthetic"])
def test_enrich_scatter_labels_every_site(folder):
    df = enrich.prepare(loaders.load_enrich(folder / "enrich" / "enrich_sites.csv"))
    fig = figures.scatter(df, stats.site_ols(df, "engagement_pct", "fidelity_score"))
    ax = fig.axes[0]
    assert "fidelity" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert {f"Site {s}" for s in df["site"]} <= _texts(fig)
    assert any(line.get_linestyle() == ":" for line in ax.get_lines())  # dotted fit
    # the legend's section titles are bold words, the entries plain; no mathtext anywhere
    # (oracle: the legend's titles as the builder names them)
    texts = ax.get_legend().get_texts()
    bold = [t.get_text() for t in texts if t.get_fontweight() == "bold"]
    assert bold == ["Employer", "Location", "With data", "Fit", "Published"][:len(bold)]
    assert len(bold) >= 4 and not any("$" in t.get_text() for t in texts)
    show_figure(fig)


@pytest.mark.parametrize("folder", [paths.DATA_DIR, SYN], ids=["real", "synthetic"])
def test_retake_figures(folder):
    df = retake.prepare(
        loaders.load_retake(folder / "retake" / "retake_sites.csv"),
        loaders.load_factors(folder / "retake" / "retake_site_factors.csv"),
    )
    groups = retake.groups(df, 60, 10)
    for fig in (mt_figures.minutes(df, groups), mt_figures.caseload(df, groups)):
        assert "minutes" in (fig.axes[0].get_xlabel() + fig.axes[0].get_ylabel())
        assert {f"Site {s}" for s in df["site"]} <= _texts(fig)
        show_figure(fig)


def test_profile_figure_one_strip_per_measure():
    cut = trials.get("enrich").parameters  # the trial's cut-offs (data/enrich/trial.yaml)
    p = profile.build("enrich", "2", enrich=loaders.load_enrich(), cutoffs=cut)
    fig = cp_figures.profile_strips(p.frame, p.site, p.measures, p.trial_label)
    assert len(fig.axes) == len(p.measures)
    assert all(ax.get_xlabel() for ax in fig.axes)
    show_figure(fig)


def test_data_text_is_shown_literally():
    df = enrich.prepare(loaders.load_enrich())
    df.loc[0, "location"] = "<script>$x$"
    fig = figures.scatter(df, stats.site_ols(df, "engagement_pct", "fidelity_score"))
    fig.canvas.draw()  # mathtext would fail or eat the dollars
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert r"<script>\$x\$" in legend
    show_figure(fig)


def test_large_trials_label_only_the_most_influential_sites():
    """Up to LABEL_ALL_MAX sites all are labelled (the paper labels all 7); above, the
    LABEL_TOP sites with the largest Cook's distance (oracle: sorting the influence table)."""
    import numpy as np
    import pandas as pd

    from casereport import stats
    from casereport.analyses.engagement_fidelity import figures

    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({"site": [str(i) for i in range(n)], "fidelity_score": rng.uniform(3, 12, n)})
    df["engagement_pct"] = 5 * df["fidelity_score"] + rng.normal(0, 5, n)
    ols = stats.site_ols(df, "engagement_pct", "fidelity_score")
    mask = figures.label_subset(ols, df["site"])
    expected = set(ols.influence.nlargest(figures.LABEL_TOP, "cooks_d")["site"].astype(str))
    assert set(df.loc[mask, "site"]) == expected
    small = df.head(7)
    assert figures.label_subset(stats.site_ols(small, "engagement_pct", "fidelity_score"),
                                small["site"]).all()


def test_scatter_marks_the_published_position_where_it_differs():
    """Issue 19, item 9: Table 2 prints 41% for site 4, whose counts give 8 / 17 = 47.06%
    (hand division); the redrawn Fig. 1 puts site 4 at 47.06 and a hollow marker at the
    published 41 (both read from the data, not typed), and the legend names the site."""
    df = enrich.prepare(loaders.load_enrich())
    pub = figures.published_positions(df)
    assert pub["site"].tolist() == ["4"]
    assert pub["pct_engaged"].iloc[0] == 41 and pub["engagement_pct"].iloc[0] == pytest.approx(
        100 * 8 / 17)
    fig = figures.scatter(df, stats.site_ols(df, "engagement_pct", "fidelity_score"))
    ax = fig.axes[0]
    hollow = [c for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets())
              and (c.get_facecolors().size == 0 or c.get_facecolors()[:, 3].max() == 0)]
    pts = [tuple(o) for c in hollow for o in c.get_offsets()]
    assert (9.0, 41.0) in pts  # site 4: fidelity 9.0, published 41%
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "printed %, site 4" in legend
    show_figure(fig)


def test_missing_figure_marks_zero_width_bounds():
    """Site 3: all 34 with data of 34 offered (Table 2), so its bounds have zero width; the
    figure draws a diamond there and names the site in the legend. Oracle: the bounds table
    (lower = upper only where with data = offered), checked against Table 2's counts."""
    from casereport.analyses.engagement_fidelity import limits as L

    df = enrich.prepare(loaders.load_enrich())
    mis = L.missing(df)
    full = df.loc[df["with_engagement_data"] == df["offered_peer_support"], "site"].tolist()
    assert full == ["3"]
    fig = figures.missing_bounds(mis, df)
    ax = fig.axes[0]
    diamonds = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    assert len(diamonds) == 1 and len(diamonds[0].get_xdata()) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Zero-width bounds (no missing data): site 3" in legend
    rows = pd.DataFrame(L.missing_rows(mis)).set_index("quantity")
    assert rows.loc["zero_width_sites", "label"] == "3"
    show_figure(fig)


def test_missing_bounds_figure_stops_growing_above_its_row_limit():
    """Up to BOUNDS_ROWS_MAX sites one labelled row per site (the real 7: 7 labels, as
    the data name them); above, the figure keeps the height of BOUNDS_ROWS_MAX rows and
    drops the labels (oracle: counting the figure's tick labels and its height)."""
    import pandas as pd

    from casereport.analyses.engagement_fidelity import limits as enrich_limits

    real = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))
    fig = figures.missing_bounds(enrich_limits.missing(real), real)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(real) and all(t.startswith("Site ") for t in labels)
    reps = figures.BOUNDS_ROWS_MAX // len(real) + 2
    big = pd.concat([real.assign(site=real["site"].astype(str) + f"-{i}") for i in range(reps)],
                    ignore_index=True)
    fig = figures.missing_bounds(enrich_limits.missing(big), big)
    assert len(big) > figures.BOUNDS_ROWS_MAX
    assert fig.axes[0].get_yticklabels() == []
    assert fig.get_size_inches()[1] == pytest.approx(0.45 * figures.BOUNDS_ROWS_MAX + 1.6)


def _pixels(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")).astype(int)


@pytest.mark.parametrize("outside", [False, True], ids=["inside", "legend-outside"])
def test_png_is_what_savefig_tight_draws(outside):
    """The one-draw PNG of ``display.figures.png`` against the oracle it replaces,
    matplotlib's ``savefig(bbox_inches="tight")`` at the same dpi, on a small figure with
    labels, a title, a legend and a label box: the same pixel size and, but for a
    sub-pixel shift of the drawing, the same pixels (mean difference under 1 of 255 per
    channel, under 2% of them more than 64 apart). A legend placed beyond the figure's
    right edge is clipped by one draw, so that figure is drawn by savefig itself: the same
    bytes."""
    import io

    import matplotlib.pyplot as plt
    import numpy as np

    from casereport.display.figures import label_points, png

    fig, ax = plt.subplots(figsize=(4.0, 3.0), dpi=100)
    fig.subplots_adjust(left=0.2, bottom=0.2, right=0.95, top=0.85)  # all inside the figure
    ax.scatter([1, 2, 3], [3, 1, 2], label="sites")
    ax.plot([1, 3], [1, 3], ls=":", label="fit")
    label_points(ax, [1, 2, 3], [3, 1, 2], ["1", "2", "3"], 0.5, 0.5)
    ax.set(xlabel="fidelity score", ylabel="engaged (%)", title="A title")
    if outside:
        ax.legend(loc="center left", bbox_to_anchor=(1.6, 0.5))
    else:
        ax.legend(loc="upper right")
    calls = []
    fig.savefig = lambda *a, **k: (calls.append(k), type(fig).savefig(fig, *a, **k))[1]
    data, size = png(fig, 200)
    assert len(calls) == (1 if outside else 0)  # savefig only for the legend outside
    ref = io.BytesIO()
    type(fig).savefig(fig, ref, format="png", dpi=200, bbox_inches="tight")
    mine, theirs = _pixels(data), _pixels(ref.getvalue())
    assert mine.shape == theirs.shape and size == (mine.shape[1], mine.shape[0])
    diff = np.abs(mine - theirs)
    assert diff.mean() < 1 and (diff > 64).mean() < 0.02
    if outside:
        assert data == ref.getvalue()
    assert fig.dpi == 100  # the figure as it was
    show_figure(fig)


def test_profile_strips_look_as_with_every_tick_and_the_y_axis():
    """The strip figure makes only the ticks it draws and hides its empty y axis; oracle:
    the same figure with each axis' own locator (every tick made), the y axis shown and its
    grid turned off, as the figure was built before: the same PNG, pixel for pixel, and the
    same drawn ticks, for an ENRICH and a RETAKE site."""
    import numpy as np

    from casereport.display.figures import png

    for trial, site in (("enrich", "6"), ("retake", "11")):
        p = profile.from_files(trial, site, cutoffs=trials.get("enrich").parameters,
                               expected=60.0, tolerance=10.0)  # fmt: skip
        new = cp_figures.profile_strips(p.frame, p.site, p.measures, p.trial_label)
        old = cp_figures.profile_strips(p.frame, p.site, p.measures, p.trial_label)
        for ax in old.axes:
            ax.xaxis.set_major_locator(ax.xaxis.get_major_locator().base)
            ax.yaxis.set_visible(True)
            ax.grid(axis="y", visible=False)
        (a, size_a), (b, size_b) = png(new, 200), png(old, 200)
        assert size_a == size_b and np.array_equal(_pixels(a), _pixels(b))
        made = [len(ax.xaxis.majorTicks) for ax in new.axes]
        drawn = [[(t.get_loc(), t.label1.get_text()) for t in ax.xaxis._update_ticks()]
                 for ax in new.axes]  # fmt: skip
        assert drawn == [[(t.get_loc(), t.label1.get_text()) for t in ax.xaxis._update_ticks()]
                         for ax in old.axes]  # fmt: skip
        assert sum(made) < sum(len(ax.xaxis.majorTicks) for ax in old.axes)
        show_figure(new)
        show_figure(old)


def test_png_has_the_chunks_imsave_writes():
    """display.figures.png writes its own PNG (unfiltered rows): the image matplotlib's
    imsave (Pillow) makes of the same pixels has the same chunks besides the pixel data
    (its Software text, the dpi as pixels per metre) and decodes to the same pixels."""
    import io
    import struct

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.image import imsave

    from casereport.display.figures import png

    def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
        out, i = [], 8
        while i < len(data):
            n = struct.unpack(">I", data[i:i + 4])[0]
            out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
            i += 12 + n
        return out

    fig, ax = plt.subplots(figsize=(3.0, 2.0))
    ax.plot([1, 2, 3], [2, 1, 3], label="a line")
    ax.set(title="A title", xlabel="x")
    data, (w, h) = png(fig, 150)
    ref = io.BytesIO()
    imsave(ref, _pixels(data).astype(np.uint8), format="png", dpi=150)
    mine = [(k, v) for k, v in chunks(data) if k != b"IDAT"]
    theirs = [(k, v) for k, v in chunks(ref.getvalue()) if k != b"IDAT"]
    assert mine == theirs and mine[0][0] == b"IHDR"
    assert np.array_equal(_pixels(data), _pixels(ref.getvalue()))
    assert _pixels(data).shape == (h, w, 4)
    show_figure(fig)
