"""Figure builders: one figure, labelled axes, every site labelled, any number of sites."""

from __future__ import annotations

import matplotlib
import pytest

from casereport import data, figures, paths, stats
from casereport.analyses import enrich, profile, retake

matplotlib.use("Agg")
SYN = paths.TESTS_DIR / "fixtures" / "synthetic_trial"


def _texts(fig):
    return {t.get_text() for ax in fig.axes for t in ax.texts} | {
        t.get_text() for ax in fig.axes for t in ax.get_yticklabels()
    }


@pytest.mark.parametrize("folder", [paths.DATA_DIR, SYN], ids=["real", "synthetic"])
def test_enrich_scatter_labels_every_site(folder):
    df = enrich.prepare(data.load_enrich(folder / "enrich_sites.csv"))
    fig = figures.enrich_scatter(df, stats.site_ols(df, "engagement_pct", "fidelity_score"))
    ax = fig.axes[0]
    assert "fidelity" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert {f"Site {s}" for s in df["site"]} <= _texts(fig)
    assert any(line.get_linestyle() == ":" for line in ax.get_lines())  # dotted fit
    figures.show(fig)


@pytest.mark.parametrize("folder", [paths.DATA_DIR, SYN], ids=["real", "synthetic"])
def test_retake_figures(folder):
    df = retake.prepare(
        data.load_retake(folder / "retake_sites.csv"),
        data.load_factors(folder / "retake_site_factors.csv"),
    )
    groups = retake.groups(df, 60, 10)
    for fig in (figures.retake_minutes(df, groups), figures.retake_caseload(df, groups)):
        assert "minutes" in (fig.axes[0].get_xlabel() + fig.axes[0].get_ylabel())
        assert {f"Site {s}" for s in df["site"]} <= _texts(fig)
        figures.show(fig)


def test_profile_figure_one_strip_per_measure():
    p = profile.build("enrich", "2", enrich=data.load_enrich())
    fig = figures.profile_strips(p.frame, p.site, p.measures, p.trial_label)
    assert len(fig.axes) == len(p.measures)
    assert all(ax.get_xlabel() for ax in fig.axes)
    figures.show(fig)


def test_data_text_is_shown_literally():
    df = enrich.prepare(data.load_enrich())
    df.loc[0, "location"] = "<script>$x$"
    fig = figures.enrich_scatter(df, stats.site_ols(df, "engagement_pct", "fidelity_score"))
    fig.canvas.draw()  # mathtext would fail or eat the dollars
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert r"<script>\$x\$" in legend
    figures.show(fig)


def test_large_trials_label_only_the_most_influential_sites():
    """Up to LABEL_ALL_MAX sites all are labelled (the paper labels all 7); above, the
    LABEL_TOP sites with the largest Cook's distance (oracle: sorting the influence table)."""
    import numpy as np
    import pandas as pd

    from casereport import figures, stats

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


def test_missing_bounds_figure_stops_growing_above_its_row_limit():
    """Up to BOUNDS_ROWS_MAX sites one labelled row per site (the real 7: 7 labels, as
    the data name them); above, the figure keeps the height of BOUNDS_ROWS_MAX rows and
    drops the labels (oracle: counting the figure's tick labels and its height)."""
    import pandas as pd

    from casereport.analyses import enrich_limits

    real = enrich.prepare(data.load_enrich(paths.ENRICH_CSV))
    fig = figures.enrich_missing_bounds(real, enrich_limits.missing(real)["bounds"].table)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(real) and all(t.startswith("Site ") for t in labels)
    reps = figures.BOUNDS_ROWS_MAX // len(real) + 2
    big = pd.concat([real.assign(site=real["site"].astype(str) + f"-{i}") for i in range(reps)],
                    ignore_index=True)
    fig = figures.enrich_missing_bounds(big, enrich_limits.missing(big)["bounds"].table)
    assert len(big) > figures.BOUNDS_ROWS_MAX
    assert fig.axes[0].get_yticklabels() == []
    assert fig.get_size_inches()[1] == pytest.approx(0.45 * figures.BOUNDS_ROWS_MAX + 1.6)
