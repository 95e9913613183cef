"""Tidy results writer and the analysis inputs in casereport.primitives.results."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from casereport.analyses import inputs
from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.mentoring_time import analysis as retake
from casereport.primitives import results
from casereport.trialdata import loaders


def test_write_results_columns_dtypes_and_atomic(tmp_path):
    res = results.Results()
    res.add("a", "x", 1.5, ci_low=1, ci_high=2, p_value=0.03, n=7)
    res.add("a", "y", None)
    path = results.write_results(res, tmp_path / "out", "nb--primary")
    assert path == tmp_path / "out" / "nb--primary.csv"
    assert [p.name for p in path.parent.iterdir()] == ["nb--primary.csv"]  # no temp left
    df = results.read_results(path)
    assert list(df.columns) == results.COLUMNS
    assert df["parameter_set"].tolist() == ["primary", "primary"]
    assert df["n"].dtype == "Int64" and df.loc[0, "n"] == 7
    assert math.isnan(df.loc[1, "estimate"])
    assert results.lookup(df, "a", "x", "p_value") == pytest.approx(0.03)


def test_write_results_rejects_duplicates_and_keeps_old_file(tmp_path):
    results.write_results([results.row("a", "x", 1)], tmp_path, "n--p")
    with pytest.raises(ValueError, match="duplicate"):
        results.write_results(
            [results.row("a", "x", 1), results.row("a", "x", 2)], tmp_path, "n--p"
        )
    assert results.read_results(tmp_path / "n--p.csv")["estimate"].tolist() == [1.0]


def test_read_results_folder_concatenates(tmp_path):
    results.write_results([results.row("a", "x", 1)], tmp_path, "n--primary")
    results.write_results([results.row("a", "x", 2)], tmp_path, "n--other")
    df = results.read_results(tmp_path)
    assert sorted(df["parameter_set"]) == ["other", "primary"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], []),
        (["2"], ["2"]),
        (2, ["2"]),
        ("2,4", ["2", "4"]),
        ('["2", "4"]', ["2", "4"]),
        (None, []),
    ],
)
def test_site_list(value, expected):
    assert inputs.site_list(value) == expected


def test_site_quantity_and_slug():
    assert results.site_quantity("pct_engaged", "3") == "pct_engaged_site_3"
    assert results.slug("North East/2") == "north_east_2"


def test_prepare_enrich_derives_site4_count_from_published_pct():
    raw = loaders.load_enrich()
    df = enrich.prepare(raw, engaged_from_published_pct=["4"])
    site4 = df.set_index("site").loc["4"]
    assert site4["engaged"] == 7  # round_half_up(41 x 17 / 100) = round(6.97)
    assert site4["engagement_pct"] == pytest.approx(700 / 17)
    assert raw.set_index("site").loc["4", "engaged"] == 8  # input untouched


def test_prepare_enrich_excludes_and_rejects_unknown_sites():
    df = enrich.prepare(loaders.load_enrich(), exclude_sites=["2"])
    assert "2" not in set(df["site"]) and len(df) == 6
    with pytest.raises(ValueError, match="99"):
        enrich.prepare(loaders.load_enrich(), exclude_sites=["99"])


def test_enrich_case_rows_reproduce_paper():
    df = enrich.prepare(loaders.load_enrich())
    from casereport.trialdata import trials

    ENRICH_CUTOFFS = trials.get("enrich").parameters

    rows = pd.DataFrame(enrich.cases_rows(enrich.cases(df, ENRICH_CUTOFFS),
                                                  ENRICH_CUTOFFS))  # fmt: skip

    def sites(cls):
        hit = rows[rows["quantity"].str.startswith(f"{cls}_site_") & (rows["estimate"] == 1)]
        return sorted(q.rsplit("_", 1)[1] for q in hit["quantity"])

    assert sites("high_high") == ["3", "5"]
    assert sites("low_low") == ["4", "6"]
    assert sites("outlier") == ["2"]


def test_retake_groups_reproduce_paper():
    df = retake.prepare(loaders.load_retake(), loaders.load_factors())
    groups = dict(zip(df["site"], retake.groups(df, 60, 10), strict=True))
    assert sorted((s for s, g in groups.items() if g == "close"), key=int) == ["9", "10", "13"]
    assert [s for s, g in groups.items() if g == "less"] == ["2"]
    assert sum(g == "more" for g in groups.values()) == 12


def test_pearson_without_each_equals_refitting():
    """Oracle: numpy's corrcoef on the data with each site removed, one at a time."""
    import numpy as np

    from casereport.stats import pearson_without_each

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=12), rng.normal(size=12)
    x[3] = 40.0  # a high-leverage site, as site 2 is in ENRICH
    fast = pearson_without_each(x, y)
    slow = [np.corrcoef(np.delete(x, i), np.delete(y, i))[0, 1] for i in range(12)]
    np.testing.assert_allclose(fast, slow, rtol=1e-10)
