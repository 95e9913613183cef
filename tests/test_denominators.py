"""Denominators the article names (issue 19, item 10), against Table 2 of Gillard 2024 and
Table 1 of Craven 2021 read by hand."""

from __future__ import annotations

import re

import pandas as pd

from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import limits as L
from casereport.analyses.mentoring_time import analysis as retake
from casereport.analyses.mentoring_time import tables as mt_tables
from casereport.primitives import paths, results
from casereport.report import shortcodes
from casereport.trialdata import loaders


def _article() -> str:
    return re.sub(r"\s+", " ", shortcodes.article_source(paths.ROOT / "index.qmd"))


def test_missing_share_is_of_those_offered():
    """Site 4: 33 offered peer support, 17 with engagement data (Table 2), so 16 of 33 =
    48.5% of those offered have none; the share is not of its participants in the trial."""
    rows = pd.DataFrame(L.missing_rows(L.missing(enrich.prepare(loaders.load_enrich()))))
    get = lambda q: results.lookup(rows, "enrich_missing", q)  # noqa: E731
    assert rows.set_index("quantity").loc["max_missing_site", "label"] == "4"
    assert (get("max_missing_n"), get("max_missing_offered")) == (16, 33)
    assert round(get("max_missing_share"), 1) == 48.5
    text = _article()
    # issue 22: said once, in the ENRICH section where the bounds are argued
    sentence = text[text.index("### Missing engagement data and the employer"):][:700]
    assert "of those offered have no engagement data" in sentence
    for q in ("max_missing_share", "max_missing_n", "max_missing_offered", "max_missing_site"):
        assert shortcodes.var_shortcode("enrich_missing." + q) in sentence, q
    assert "of a site's participants" not in text


def test_demographics_describe_the_interviewed_and_education_has_its_own_denominator():
    """Table 1 of Craven 2021 describes the 6 mentors and 19 OTs interviewed (001 Results),
    not the 41 OTs of Table 3; its footnote b says education data are missing for 3 OTs, so
    the education rows' denominator is 19 - 3 = 16, shown in the table's 'Of' column and
    quoted in the article through a variable."""
    demo = loaders.load_demographics()
    rows = pd.DataFrame(retake.demographics_rows(demo))
    get = lambda q: results.lookup(rows, "retake_demographics", q)  # noqa: E731
    assert (get("n_mentors"), get("n_ots"), get("n_with_data_ots_education")) == (6, 19, 16)
    shown = mt_tables.demographics(demo)
    edu = shown[(shown["Group"] == "OTs") & (shown["Characteristic"] == "Education")]
    assert len(edu) == 3 and (edu["Of"] == "16").all()
    others = shown[(shown["Group"] == "OTs") & (shown["Characteristic"] != "Education")]
    assert (others["Of"] == "19").all()
    text = _article()
    i = text.index('[]{.supp ref="tbl-retake-demographics"}')  # issue 22: in the supplement
    sentence = text[i - 100 : i + 400]
    for q in ("n_mentors", "n_ots", "n_with_data_ots_education"):
        assert shortcodes.var_shortcode("retake_demographics." + q) in sentence, q
    assert "interviewed" in sentence
