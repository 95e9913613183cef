"""Issue 11's corrections hold in the built report: the ENRICH text says what its tables
show. Each check reads the full build (``built_project``: build/results, build/variables and,
with Quarto on PATH, the rendered HTML) and recomputes the expected value from the build's
own tidy results, never from typed numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from casereport.primitives import paths, results
from casereport.report import shortcodes

INDEX = paths.ROOT / "index.qmd"


def _results(root: Path) -> pd.DataFrame:
    df = results.read_results(root / "build" / "results" / "all_results.csv")
    return df[df["parameter_set"] == "primary"]


def _html(root: Path) -> str:
    from tests.test_quarto import _html_text, require_quarto

    require_quarto()
    return re.sub(r"\s+", " ", _html_text(root / "_manuscript" / "index.html"))


def _before(text: str, start: str, end: str) -> str:
    """Text from the last ``start`` before the first ``end`` (skips the table of contents,
    which lists the headings before the body)."""
    j = text.index(end)
    return text[text.rindex(start, 0, j) : j]


def _after(text: str, start: str, end: str) -> str:
    """Text from the last ``start`` (the body heading) to the next ``end``."""
    i = text.rindex(start)
    return text[i : text.index(end, i)]


def test_source_wording_corrected():
    """The source no longer says the weighted model is "within sites", nor leads influence
    with Cook's distance alone; the influence sentence quotes the influence table's sites
    through variables (never typed)."""
    src = shortcodes.article_source(INDEX)
    assert "Within sites, weighting" not in src
    assert "the largest Cook's distance was" not in src
    for key in ("removal_strengthens_site", "removal_weakens_site", "leverage_max_site",
                "n_loo_ci_including_zero"):  # fmt: skip
        assert shortcodes.var_shortcode(f"enrich_influence.{key}") in src
    assert "sets.without_site_6.enrich_association.ols_slope" in src
    assert "sets.without_site_2.enrich_association.ols_slope" in src
    # One Limitations section (issue 22): "What these data can and cannot show" is absorbed.
    assert "## What these data can and cannot show" not in src
    assert src.count("## Limitations") == 1


def test_influence_sentence_names_the_sites_of_the_influence_table(built_project):
    """Expected: from the build's leave-one-out slopes (the influence table's "slope without
    site" column): the site whose removal gives the largest slope and the one whose removal
    gives the smallest (positive full slope), and the site of largest leverage."""
    df = _results(built_project)
    loo = df[(df["analysis"] == "enrich_loo")
             & df["quantity"].str.startswith("ols_slope_without_site_")]  # fmt: skip
    by_site = dict(zip(loo["quantity"].str.rsplit("_", n=1).str[1], loo["estimate"], strict=True))
    up, down = max(by_site, key=by_site.get), min(by_site, key=by_site.get)
    lev = df[df["quantity"].str.startswith("leverage_site_")]
    top_lev = lev.loc[lev["estimate"].idxmax(), "quantity"].rsplit("_", 1)[1]
    text = _html(built_project)
    assert f"Leaving out site {up} raises the slope most" in text
    assert f"Leaving out site {down}, the site with the highest leverage" in text
    assert f"site {top_lev})" in text
    n_zero = sum(
        lo <= 0 <= hi for lo, hi in zip(loo["ci_low"], loo["ci_high"], strict=True)
    )
    assert f"{n_zero} of the leave-one-out intervals include zero" in text
    assert len(loo) == 7  # one interval per site left out (the influence table's rows)
    assert "Within sites, weighting" not in text


def test_summary_shows_the_spread_of_estimands(built_project):
    """The Summary quotes r with its interval, Spearman, Kendall's tau with its exact p and
    the participant-weighted odds ratio with its p (values from build/variables.yml) and
    says the estimands disagree."""
    v = yaml.safe_load((built_project / "build" / "variables.yml").read_text(encoding="utf-8"))
    a, nn = v["enrich_association"], v["enrich_nonnormal"]
    summary = _before(_html(built_project), "Summary", "In the RETAKE trial")
    for needle in (a["pearson_r"], a["pearson_r_ci"], a["spearman_rho"], a["spearman_rho_p"],
                   nn["kendall_tau"], f"exact {nn['kendall_tau_p']}", a["glm_odds_ratio"],
                   a["glm_odds_ratio_p"], "disagree"):  # fmt: skip
        assert needle in summary, needle


def test_figure_caption_cutoffs_and_sets(built_project):
    """Fig. 1 says sites are plotted at their recomputed engagement, and the text names the
    site and both percentages (from the build's Table 2 rows); the cut-offs are said to be
    chosen to reproduce the selection; both illustrative exclusion sets are quoted; the limits
    section comes before Limitations, which names each limit once."""
    df = _results(built_project)
    site = results.lookup(df, "enrich_table2", "plotted_recomputed_site", "label")
    pub = results.lookup(df, "enrich_table2", "plotted_recomputed_published_pct")
    text = _html(built_project)
    assert "plotted at its engagement recomputed from its counts" in text
    assert f"site {site} is at" in text and f"its printed {pub:g}% is drawn beside it" in text
    assert "chosen here so that the published selection is reproduced" in text
    assert "illustrative" in text and "without_site_6" in text
    # "the two sets move the slope in opposite directions, and only the first keeps its
    # interval clear of zero": checked on the build's results of both sets
    allr = results.read_results(built_project / "build" / "results" / "all_results.csv")
    slope = allr[(allr["analysis"] == "enrich_association") & (allr["quantity"] == "ols_slope")]
    s = slope.set_index("parameter_set")
    full = s.loc["primary", "estimate"]
    assert s.loc["without_site_2", "estimate"] > full > s.loc["without_site_6", "estimate"]
    assert s.loc["without_site_2", "ci_low"] > 0 > s.loc["without_site_6", "ci_low"]
    assert "What these data can and cannot show" not in text  # absorbed by Limitations
    limits = _after(text, "Each limit is argued where it arises", "Supplement")
    for point in ("Sites, not people", "Fidelity may depend on engagement", "after looking at",
                  "Confounding and missing data", "one primary estimand"):  # fmt: skip
        assert point in limits, point


@pytest.mark.parametrize("quantity", ["odds_ratio_binomial", "odds_ratio_quasi_binomial",
                                      "odds_ratio_beta_binomial", "odds_ratio_random_intercept",
                                      "odds_ratio_meta_regression"])  # fmt: skip
def test_every_model_of_the_robustness_table_is_in_the_results(built_project, quantity):
    """Each model's odds ratio is a tidy row with an interval and a p-value."""
    df = _results(built_project)
    r = df[(df["analysis"] == "enrich_or_models") & (df["quantity"] == quantity)].iloc[0]
    assert r["ci_low"] < r["estimate"] < r["ci_high"] and 0 <= r["p_value"] <= 1


def test_qca_minimisation_sentence_matches_the_results(built_project):
    """The text says minimisation finds no sufficient configuration for high engagement and
    quotes the low-engagement solution: the build's results must agree (found = 0 for high,
    1 for low), and the calibration subsection states how "urban" is coded."""
    df = _results(built_project)
    src = shortcodes.article_source(INDEX)
    a = "qca_enrich_minimisation"
    if "finds no sufficient\nconfiguration for high engagement" in src:
        assert results.lookup(df, a, "found_high_conservative") == 0
        assert results.lookup(df, a, "found_high_parsimonious") == 0
    assert results.lookup(df, a, "found_low_conservative") == 1
    text = _html(built_project)
    assert "counts as not urban" in text
