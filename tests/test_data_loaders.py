"""Typed loaders, the codebook's data dictionary and the synthetic fixture trial."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from casereport import audit
from casereport.primitives import paths
from casereport.trialdata import codebook, loaders, trials, validate

FIXTURE = Path(__file__).parent / "fixtures" / "synthetic_trial"


def test_enrich_dtypes_follow_codebook():
    """Architecture contract: site is str, counts int64, fidelity float64, file order kept
    (sites "1".."7" as in 004 Table 2)."""
    df = loaders.load_enrich()
    assert df["site"].tolist() == [str(i) for i in range(1, 8)]
    assert all(isinstance(s, str) for s in df["site"])
    assert df["engaged"].dtype == "int64" and df["fidelity_score"].dtype == "float64"
    assert list(df.columns) == codebook.column_names(codebook.ENRICH)
    assert set(df["employer"]) == {"NHS", "Voluntary"}


def test_retake_dtypes_follow_codebook():
    """16 RETAKE sites (001 Table 3), percentages as float, counts as int."""
    df = loaders.load_retake()
    assert len(df) == 16 and df["site"].iloc[-1] == "16"
    assert df["pct_phone_teams"].dtype == "float64" and df["ots"].dtype == "int64"


def test_factors_wide():
    """factors_wide: one row per site in file order, factor columns in codebook order;
    site 1 has turnover, low competency and larger caseloads (001 Results)."""
    wide = loaders.factors_wide(loaders.load_factors())
    assert list(wide.columns) == ["site", *loaders.factor_names()]
    assert wide["site"].tolist() == [str(i) for i in range(1, 17)]
    site1 = wide.set_index("site").loc["1"].to_dict()
    assert site1 == {
        "ot_turnover": 1,
        "low_competency": 1,
        "less_confident": 0,
        "larger_caseload": 1,
        "site_specific_issues": 0,
    }
    assert wide.drop(columns="site").sum().to_dict() == {
        "ot_turnover": 7,
        "low_competency": 7,
        "less_confident": 4,
        "larger_caseload": 2,
        "site_specific_issues": 4,
    }


def _pivot_wide(df: pd.DataFrame) -> pd.DataFrame:
    """The oracle: factors_wide as a pandas pivot (its implementation before 2026-12-04)."""
    order = list(dict.fromkeys(df["site"]))
    wide = df.pivot(index="site", columns="factor", values="present")
    cols = [f for f in loaders.factor_names() if f in wide.columns]
    wide = wide.reindex(index=order, columns=cols).fillna(0).astype("int64")
    wide.columns.name = None
    return wide.reset_index()


def test_factors_wide_is_the_pivot():
    """factors_wide against the pivot it replaced, frame for frame (values, dtypes, column
    and index types): the real table, its rows reversed, every third row (factors missing
    for some sites), an unknown factor, other dtypes of site and present, one row, none,
    only unknown factors; a (site, factor) pair given twice raises pivot's ValueError."""
    real = loaders.load_factors()
    extra = pd.DataFrame({"site": ["1"], "factor": ["zzz"], "present": [1], "sentence": [""]})
    cases = [real, real.iloc[::-1].reset_index(drop=True), real.iloc[::3].reset_index(drop=True),
             pd.concat([real, extra], ignore_index=True), real.astype({"site": object}),
             real.assign(site=real["site"].astype(int)),
             real.assign(present=real["present"].astype(float)),
             real.assign(present=real["present"].astype("Int64")), real.iloc[:1], real.iloc[:0],
             pd.DataFrame({"site": ["1", "2"], "factor": ["a", "b"], "present": [1, 0]})]
    for df in cases:
        pd.testing.assert_frame_equal(loaders.factors_wide(df), _pivot_wide(df),
                                      check_index_type=True, check_column_type=True)
    twice = pd.concat([real, real.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate entries") as mine:
        loaders.factors_wide(twice)
    with pytest.raises(ValueError) as theirs:
        _pivot_wide(twice)
    assert str(mine.value) == str(theirs.value)


def test_load_claims():
    """Each claim has a source, a published value and a recipe; ids are unique."""
    claims = pd.concat([loaders.load_claims(t.claims_path) for t in trials.discover().values()])
    assert claims["id"].is_unique
    assert claims["source"].notna().all() and claims["compute"].map(bool).all()
    assert "retake_total_ots" in set(claims["id"])


def test_loaders_accept_root_relative_paths():
    """Notebook parameters are root-relative strings resolved through paths.resolve."""
    assert loaders.load_enrich("data/enrich/enrich_sites.csv").equals(loaders.load_enrich())


def test_missing_file_raises_data_error(tmp_path):
    """A missing file is a DataError naming the file, not a pandas traceback."""
    with pytest.raises(loaders.DataError, match="nope.csv"):
        loaders.load_retake(tmp_path / "nope.csv")


def test_data_dictionary_covers_every_column():
    """One row per column of every file, each with type, unit and description."""
    dd = codebook.data_dictionary()
    assert list(dd.columns) == ["file", "column", "type", "unit", "allowed", "description"]
    names = codebook.resource_names(codebook.load_package())
    expected = sum(len(codebook.column_names(r)) for r in names)
    assert len(dd) == expected == 10 + 8 + 4 + 3 + 14 + 9  # columns per codebook resource
    assert (dd["description"].str.len() > 10).all() and (dd["unit"] != "").all()
    pct = dd[(dd["file"] == "enrich/enrich_sites.csv") & (dd["column"] == "pct_engaged")].iloc[0]
    assert pct["unit"] == "percent" and "0 to 100" in pct["allowed"]


def test_datapackage_is_valid_frictionless():
    """Each trial's data/<trial>/datapackage.json is a valid Data Package and its data pass
    frictionless' own validation (types, constraints, primary and foreign keys)."""
    from frictionless import Package

    for trial in trials.discover().values():
        report = Package(str(trial.package_path)).validate()
        assert report.valid, (trial.code, report.flatten(["rowNumber", "fieldName", "message"]))


def test_codebook_names_match_architecture():
    """File and column names exactly as docs/architecture.md lists them."""
    arch = (paths.ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for res in codebook.resource_names(codebook.load_package()):
        assert f"`{codebook.resource(res)['path']}`" in arch
        for col in codebook.column_names(res):
            assert f"`{col}`" in arch, col


# ------------------------------------------------------------------ synthetic fixture trial


def test_synthetic_trial_validates_and_reproduces():
    """The fixture (11 + 9 sites) is valid and, built with half-up rounding, every derived
    number reproduces."""
    assert validate.validate_dir(FIXTURE).problems == []
    assert len(loaders.load_enrich(FIXTURE / "enrich" / "enrich_sites.csv")) == 11
    assert len(loaders.load_retake(FIXTURE / "retake" / "retake_sites.csv")) == 9
    table = audit.audit(FIXTURE)
    assert len(table) == 11 * 2 + 9 * 2 + 3 + 2  # + Table 1's three printed percentages
    assert (table["status"] == "reproduced").all()


def test_synthetic_trial_codebook_is_a_copy():
    """The fixture's trial folders carry the same codebooks as data/'s (regenerate it if a
    codebook changes: tests/fixtures/make_synthetic_trial.py)."""
    for trial in trials.discover().values():
        ours = json.loads(trial.package_path.read_text(encoding="utf-8"))
        theirs = json.loads((FIXTURE / trial.code / "datapackage.json").read_text(encoding="utf-8"))
        assert ours == theirs, trial.code


def test_synthetic_trial_is_reproducible(tmp_path):
    """The generator is deterministic (fixed seed): a fresh run gives the committed files."""
    script = FIXTURE.parent / "make_synthetic_trial.py"
    copy = tmp_path / "fixtures"
    copy.mkdir()
    (copy / script.name).write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run([sys.executable, str(copy / script.name)], check=True, capture_output=True)
    for f in (p for p in FIXTURE.rglob("*") if p.is_file()):
        rel = f.relative_to(FIXTURE)
        assert (copy / "synthetic_trial" / rel).read_bytes() == f.read_bytes(), rel


def test_synthetic_frames_have_contract_dtypes():
    """Loaders give the fixture the same dtypes as the real data."""
    real = loaders.load_retake()
    synth = loaders.load_retake(FIXTURE / "retake" / "retake_sites.csv")
    pd.testing.assert_series_equal(real.dtypes, synth.dtypes)


def test_validate_dir_returns_the_tables_the_loaders_would():
    """Validate once: the build's audit and run plan take validate_dir's typed tables, so
    they must be exactly what data.load_* returns (dtypes included)."""
    checked = validate.validate_dir(paths.DATA_DIR)
    assert checked.ok
    readers = {codebook.ENRICH: loaders.load_enrich, codebook.RETAKE: loaders.load_retake,
               codebook.FACTORS: loaders.load_factors,
               codebook.THEORY: loaders.load_programme_theory}
    for name, load in readers.items():
        pd.testing.assert_frame_equal(checked.tables[name], load())
    assert validate.validate_dir(paths.ROOT / "no-such-folder").tables == {}


def test_loader_skips_validation_only_for_the_bytes_the_build_validated(tmp_path, monkeypatch):
    """The build records the validation keys of the files it validated; a kernel's loader
    then skips the checks for exactly those bytes, and checks again after any edit or when
    nothing was recorded (JupyterLab). Expected by construction of the keys (sha256 of the
    file, the resource name and the codebook)."""
    shutil.copytree(paths.ENRICH_CSV.parent, tmp_path / "enrich")  # a trial folder
    csv = tmp_path / "enrich" / "enrich_sites.csv"
    record = tmp_path / "validated.json"
    loaders.record_validated({codebook.ENRICH: csv}, record)
    calls = []
    real = validate.check_file
    monkeypatch.setattr(validate, "check_file", lambda *a, **k: calls.append(a) or real(*a, **k))

    monkeypatch.delenv(loaders.VALIDATED_ENV, raising=False)
    loaders.load_enrich(csv)
    assert len(calls) == 1  # nothing recorded: validated

    monkeypatch.setenv(loaders.VALIDATED_ENV, str(record))
    assert len(loaders.load_enrich(csv)) == 7
    assert len(calls) == 1  # same bytes: skipped

    csv.write_bytes(csv.read_bytes().replace(b"\n", b"\r\n", 1))
    loaders.load_enrich(csv)
    assert len(calls) == 2  # edited bytes: validated again
