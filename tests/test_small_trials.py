"""A trial of any size gets a report (issue 20, item 4), tested with the real build.

Each case is a copy of the project whose data folder is the project's, with the ENRICH
site table edited (:func:`trial_data`, the one place that knows where that table lives).
Each case is built once per session (``casereport build``, real papermill-executed
notebooks, Quarto off PATH so the no-Quarto preview is the rendered report); the cases
share one run cache, so after the first only the runs that read the ENRICH table execute.

Where the expected values come from: the reasons are the estimability checks' own wording
(``analyses/estimability.py``: "needs at least N sites; this trial has n", with n the
number of rows kept, and "fidelity score does not vary (v at every site)"); a parameter set
is not applicable when a site it names is not a row of the edited table (the sets name
sites 2, 4 and 6: ``params/engagement_fidelity/*.yaml``).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from casereport.primitives import paths
from tests.project import casereport, copy_built, make_project

pytestmark = pytest.mark.slow

Rows = list[dict[str, str]]
# Where the ENRICH-shaped site table lives in a data folder (re-point here when it moves).
ENRICH_TABLE = Path("enrich/enrich_sites.csv")
RETAKE_TABLES = (Path("retake/retake_sites.csv"), Path("retake/retake_site_factors.csv"))


def _read(path: Path) -> Rows:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: Rows, fields: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def trial_data(root: Path, enrich: Callable[[Rows], Rows] | None = None,
               retake_sites: list[str] | None = None) -> Path:
    """The project copy ``root`` with its data folder replaced by a fresh copy of the
    project's, the ENRICH site table rewritten by ``enrich`` (rows in, rows out) and,
    with ``retake_sites``, the RETAKE tables cut to those sites. Returns the data folder."""
    data = root / "data"
    shutil.rmtree(data)
    shutil.copytree(paths.DATA_DIR, data)
    if enrich is not None:
        table = data / ENRICH_TABLE
        rows = _read(table)
        _write(table, enrich(rows), list(rows[0]))
    if retake_sites is not None:
        for name in RETAKE_TABLES:
            rows = _read(data / name)
            _write(data / name, [r for r in rows if r["site"] in retake_sites], list(rows[0]))
    return data


def _build(root: Path) -> tuple[Path, str]:
    out = casereport(root, "build", "--jobs", "2", quarto=False)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "Traceback" not in text
    return root, text


@pytest.fixture(scope="session")
def three_sites(tmp_path_factory) -> tuple[Path, str]:
    """ENRICH sites 1, 2 and 4 only (the first case's build: every run executes). Site 2
    is kept because a published claim the audit recomputes is a ratio at site 2 (0/0
    without it: an error, tests/test_claims_perturbed.py); site 4 because the article
    describes Fig. 1 by the site whose printed percentage differs from its counts, and a
    trial with no such site leaves that sentence's numbers unresolved."""
    root = make_project(tmp_path_factory.mktemp("small") / "three")
    trial_data(root, lambda rows: [r for r in rows if r["site"] in ("1", "2", "4")])
    return _build(root)


def _next_case(three_sites, tmp_path_factory, name: str, **edits) -> tuple[Path, str]:
    root = copy_built(three_sites[0], tmp_path_factory.mktemp("small") / name, outputs=False)
    trial_data(root, **edits)
    return _build(root)


@pytest.fixture(scope="session")
def constant_score(three_sites, tmp_path_factory) -> tuple[Path, str]:
    """Every ENRICH site with fidelity score 10.0."""
    return _next_case(three_sites, tmp_path_factory, "constant",
                      enrich=lambda rows: [{**r, "fidelity_score": "10.0"} for r in rows])


@pytest.fixture(scope="session")
def none_engaged(three_sites, tmp_path_factory) -> tuple[Path, str]:
    """ENRICH site 1 with no one engaged (0 of 89, 0%)."""
    return _next_case(three_sites, tmp_path_factory, "zero", enrich=lambda rows: [
        {**r, "engaged": "0", "pct_engaged": "0"} if r["site"] == "1" else r for r in rows])


@pytest.fixture(scope="session")
def retake_two_sites(three_sites, tmp_path_factory) -> tuple[Path, str]:
    """RETAKE sites 3 and 4 only (105 and 97 minutes a month: both 'more than expected')."""
    return _next_case(three_sites, tmp_path_factory, "retake2", retake_sites=["3", "4"])


def _results(root: Path, name: str) -> list[dict[str, str]]:
    return _read(root / "build" / "results" / f"{name}.csv")


def _reasons(root: Path, name: str) -> dict[str, str]:
    return {r["analysis"]: r["label"] for r in _results(root, name)
            if r["quantity"] == "not_estimable"}


def _claims(root: Path) -> dict:
    return json.loads((root / "build" / "claims.json").read_text(encoding="utf-8"))


def _page(root: Path) -> str:
    return (root / "build" / "report-preview.html").read_text(encoding="utf-8")


def _only_real_problems(root: Path) -> None:
    """What --strict would fail on: only claims that fail on these data, never a quoted
    number left without a value (each reads 'not estimable' or 'not applicable')."""
    doc = _claims(root)
    assert all(re.match(r"claim \S+ fails", p) for p in doc["problems"]), doc["problems"]
    assert "?var:" not in _page(root)


def test_three_sites_report(three_sites):
    """3 sites: the deletion analyses need 4 (leave-one-out leaves 2), the employer
    stratum has 2 NHS sites (sites 1 and 2) and needs 3; the set naming site 6 is not
    applicable and says why; without_site_2 leaves 2 sites, too few for the association
    (3); site4_published_pct runs as the primary does."""
    root, out = three_sites
    reasons = {
        "enrich_loo": "needs at least 4 sites; this trial has 3",
        "enrich_influence": "needs at least 4 sites; this trial has 3",
        "enrich_stratum": "within employer = NHS: needs at least 3 sites; the stratum has 2",
    }
    assert _reasons(root, "engagement_fidelity--primary") == reasons
    assert _reasons(root, "engagement_fidelity--site4_published_pct") == reasons
    assert _reasons(root, "engagement_fidelity--without_site_2")["enrich_association"] == (
        "needs at least 3 sites; this trial has 2")
    assert re.search(r"not applicable\s+engagement_fidelity--without_site_6: exclude_sites "
                     r"names site 6, which data/enrich/enrich_sites.csv does not have; "
                     r"not run", out)
    assert not (root / "build" / "results" / "engagement_fidelity--without_site_6.csv").exists()
    assert "1 not applicable" in out
    page = _page(root)
    assert "Needs at least 4 sites; this trial has 3." in page  # the tables' note
    assert re.search(r"The parameter set\s+<code>without_site_6</code>.*?is not\s+applicable",
                     page, re.S)
    fragment = (root / "build" / "fragments" / "sensitivity.md").read_text(encoding="utf-8")
    assert r"exclude\_sites names site 6" in fragment  # escaped Markdown
    status = {c["id"]: c["status"] for c in _claims(root)["claims"]}
    # each reads the leverage or influence quantities (enrich_influence) or the sets
    for cid in ("enrich-site6-most-leverage", "enrich-sets-opposite",
                "enrich-loo-changes-conclusion"):
        assert status[cid] == "not evaluable", cid
    assert 'id="enrich-site6-most-leverage" class="claim claim-not-evaluable"' in page
    variables = (root / "_variables.yml").read_text(encoding="utf-8")
    assert "not applicable" in variables and "not estimable" in variables
    _only_real_problems(root)
    profiles = {p.name for p in (root / "build" / "results").glob("case_profile--enrich-*")}
    assert profiles == {f"case_profile--enrich-{s}.csv" for s in "124"}


def test_constant_score_report(constant_score):
    """Fidelity 10.0 at every site: no association of fidelity with engagement can be
    estimated (primary estimand included); the site table and case selection still are."""
    root, _ = constant_score
    reasons = _reasons(root, "engagement_fidelity--primary")
    assert reasons["enrich_association"] == "fidelity score does not vary (10 at every site)"
    assert {"enrich_loo", "enrich_influence", "enrich_primary",
            "enrich_sensitivity"} <= set(reasons)
    rows = _results(root, "engagement_fidelity--primary")
    assert any(r["analysis"] == "enrich_cases" for r in rows)
    status = {c["id"]: c["status"] for c in _claims(root)["claims"]}
    assert status["enrich-primary-inconclusive"] == "not evaluable"
    assert "Fidelity score does not vary (10 at every site)." in _page(root)
    _only_real_problems(root)


def test_site_with_no_one_engaged_report(none_engaged):
    """0 engaged at site 1 is a valid count: every analysis is estimable and the full
    report builds with every run applicable."""
    root, out = none_engaged
    for name in ("primary", "without_site_2", "without_site_6", "site4_published_pct"):
        assert _reasons(root, f"engagement_fidelity--{name}") == {}, name
    assert "not applicable" not in out
    _only_real_problems(root)


def test_retake_two_sites_one_group_report(retake_two_sites):
    """RETAKE with 2 sites, both 'more than expected' (Table 3: 2,514/24 = 105 and
    2,324/24 = 97 minutes a month, both more than 10 above 60): the mentoring-time, cross-case
    and profile notebooks all run, and the report builds."""
    root, _ = retake_two_sites
    rows = {(r["analysis"], r["quantity"]): r for r in _results(root, "mentoring_time--primary")}
    assert rows[("retake_groups", "n_more")]["estimate"] in ("2", "2.0")
    profiles = {p.name for p in (root / "build" / "results").glob("case_profile--retake-*")}
    assert profiles == {"case_profile--retake-3.csv", "case_profile--retake-4.csv"}
    _only_real_problems(root)
