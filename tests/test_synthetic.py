"""The synthetic trial generator: valid data, deterministic for a seed, the sizes asked for."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from casereport.trialdata import loaders, synthetic, validate

FILES = ["enrich/enrich_sites.csv", "retake/retake_sites.csv", "retake/retake_site_factors.csv",
         "retake/programme_theory.csv", "enrich/datapackage.json", "retake/datapackage.json",
         "enrich/trial.yaml", "enrich/published_claims.yaml", "retake/published_claims.yaml"]


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    return synthetic.make_trial(tmp_path_factory.mktemp("syn"), 40, 25)


def test_valid_under_the_validator(trial):
    assert validate.validate_dir(trial.data_dir).problems == []


def test_loaders_read_it_with_the_requested_sizes_and_unique_ids(trial):
    enrich = loaders.load_enrich(trial.enrich_csv)
    retake = loaders.load_retake(trial.retake_csv)
    factors = loaders.load_factors(trial.factors_csv)
    assert len(enrich) == 40 and enrich["site"].is_unique
    assert len(retake) == 25 and retake["site"].is_unique
    assert len(factors) == 25 * len(synthetic.FACTOR_PREVALENCE)
    assert not factors.duplicated(["site", "factor"]).any()
    assert list(loaders.factors_wide(factors)["site"]) == list(retake["site"])


def test_published_percentages_are_the_rounded_ratios(trial):
    """The *_pct and per-month columns are what a paper would print: ratios rounded half up."""
    e = pd.read_csv(trial.enrich_csv)
    r = pd.read_csv(trial.retake_csv)

    def half_up(x):
        return (x + 0.5 + 1e-9).astype(int)  # tiny guard: exact halves stay halves

    assert (e["pct_engaged"] == half_up(100 * e["engaged"] / e["with_engagement_data"])).all()
    assert (e["pct_with_engagement_data"]
            == half_up(100 * e["with_engagement_data"] / e["offered_peer_support"])).all()
    assert (r["minutes_per_month"] == half_up(r["mentoring_minutes"] / r["months_in_study"])).all()
    assert (r["participants_per_ot"] == half_up(r["participants"] / r["ots"])).all()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = synthetic.make_trial(tmp_path / "a", 30, 12, seed=7)
    b = synthetic.make_trial(tmp_path / "b", 30, 12, seed=7)
    c = synthetic.make_trial(tmp_path / "c", 30, 12, seed=8)
    match, mismatch, errors = filecmp.cmpfiles(a.data_dir, b.data_dir, FILES, shallow=False)
    assert sorted(match) == sorted(FILES) and not mismatch and not errors
    assert not filecmp.cmp(a.enrich_csv, c.enrich_csv, shallow=False)


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_sizes_including_one_site_and_a_thousand(tmp_path, n):
    t = synthetic.make_trial(tmp_path, n, n)
    assert validate.validate_dir(t.data_dir).problems == []
    assert len(pd.read_csv(t.enrich_csv, dtype=str)) == n
    assert len(pd.read_csv(t.retake_csv, dtype=str)) == n


def test_rejects_an_empty_trial(tmp_path):
    with pytest.raises(ValueError):
        synthetic.make_trial(tmp_path, 0, 5)


def test_command_line(tmp_path, capsys):
    assert synthetic.main([str(tmp_path / "cli"), "--enrich", "9", "--retake", "4"]) == 0
    assert "9 ENRICH-like and 4 RETAKE-like" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "cli" / "enrich" / "enrich_sites.csv")) == 9
