"""Claims under data changes: each perturbation builds the real notebooks on changed data.

The project copy starts from the session's full build on the real data (``built_project``,
every claim holds), with its run cache. Each perturbation edits the copy's ``data/`` in
place and builds; the cache is keyed on the content of what each run reads, so only the
runs that read the changed file re-execute, and ``data/`` is put back afterwards. One
perturbation is built with ``--data-dir`` on an edited copy of ``data/`` instead, so the
option is still exercised end to end (every run re-executes there: the run keys hold the
data paths). Quarto is taken off PATH for these builds, so the no-Quarto preview is the
rendered report checked here, except in the one Quarto test at the end, which renders
the RETAKE site-11 edit (its runs are cached by then) and checks both the failed claims'
marks and that only the two views the edit changed are rendered again. Each test's
docstring says what the perturbation makes false and why, from a calculation independent
of casereport (numpy on the changed table, or arithmetic on its cells).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from casereport.report import shortcodes
from tests.project import casereport, copy_built

pytestmark = pytest.mark.slow


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return casereport(root, *args, quarto=False)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _status(root: Path) -> dict[str, str]:
    doc = json.loads((root / "build" / "claims.json").read_text(encoding="utf-8"))
    return {c["id"]: c["status"] for c in doc["claims"]}


@pytest.fixture(scope="module")
def project(built_project, tmp_path_factory) -> Path:
    """A copy of the session's build on the real data, with its run cache and its last
    manuscript (so a render here is that of a project rendered before); its build/ kept
    as ``base_build`` for the diffs, its data/ as ``data-real`` to put back."""
    root = copy_built(built_project, tmp_path_factory.mktemp("claims") / "project")
    if (built_project / "_manuscript").is_dir():
        shutil.copytree(built_project / "_manuscript", root / "_manuscript")
    out = _run(root, "build", "--jobs", "2", "--strict")
    assert out.returncode == 0, out.stdout + out.stderr
    shutil.copytree(root / "build", root / "base_build")
    shutil.copytree(root / "data", root / "data-real")
    return root


@pytest.fixture
def data(project) -> Path:
    """The copy's data/, for the test to edit in place; put back afterwards."""
    yield project / "data"
    shutil.rmtree(project / "data")
    shutil.copytree(project / "data-real", project / "data")


def _perturbed(root: Path, name: str) -> Path:
    """A copy of data/ beside it (for ``--data-dir``)."""
    data = root / f"data-{name}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(root / "data", data)
    return data


def _edit(data: Path, table: str, site: str, **cells: str) -> Path:
    """``data`` with one site's cells of ``table`` changed."""
    rows = _rows(data / table)
    next(r for r in rows if r["site"] == site).update(cells)
    _write(data / table, rows)
    return data


def _build_strict(root: Path, data: Path) -> subprocess.CompletedProcess:
    extra = () if data == root / "data" else ("--data-dir", str(data))
    return _run(root, "build", "--jobs", "2", "--strict", *extra)


def _n_marks(root: Path, ids: set[str]) -> int:
    """How many sentences the article marks for these claims: the one with the id and each
    further one resting on it (``{.claim of="id"}``)."""
    text = shortcodes.article_source(root / "index.qmd")
    return sum(1 + text.count(f'of="{cid}"') for cid in ids)


def _assert_marked(root: Path, out: subprocess.CompletedProcess, failed: set[str]) -> None:
    """--strict exits 1 naming each failed claim; the preview marks each; diff lists each."""
    status = _status(root)
    assert {k for k, v in status.items() if v == "fails"} == failed, status
    assert out.returncode == 1, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert "Traceback" not in text
    for cid in failed:
        assert f"claim {cid} fails" in text
    page = (root / "build" / "report-preview.html").read_text(encoding="utf-8")
    for cid in failed:
        assert f'id="{cid}" class="claim claim-failed"' in page, cid
    assert page.count("Not supported by these data") == _n_marks(root, failed)
    diff = _run(root, "diff", str(root / "base_build"), str(root / "build"),
                "--json", str(root / "diff.json"))
    assert diff.returncode == 1, diff.stdout + diff.stderr
    rows = json.loads((root / "diff.json").read_text(encoding="utf-8"))
    rows = rows["changes"] if isinstance(rows, dict) else rows
    listed = [r for r in rows if r["section"] == "claims"]
    assert {r["where"].split(":")[0].removeprefix("claim ") for r in listed} == failed
    first = [r["section"] for r in rows[: len(listed)]]
    assert first == ["claims"] * len(listed)  # claims lead the conclusions


def test_real_data_every_claim_holds(project):
    """On the published tables every declared claim holds and the article marks each one
    (expected: the sentences were written from these numbers)."""
    doc = json.loads((project / "build" / "claims.json").read_text(encoding="utf-8"))
    assert doc["claims"] and all(c["status"] == "holds" for c in doc["claims"]), doc
    assert all(c["in_article"] for c in doc["claims"])
    assert doc["problems"] == []


def test_site6_fidelity_corrected(project, data):
    """ENRICH site 6 fidelity 7.9 -> 10.6 (the issue's plausible correction).

    Independent calculation on the changed Table 2 (numpy, below): Pearson r falls to about
    0.32 while Spearman's rho is about 0.43, so "the rank correlations were weaker" fails;
    site 6 (voluntary) now scores 10.6, above NHS sites 1 (10.4) and 7 (9.7), so "the
    voluntary-sector sites are the lowest on fidelity" fails; site 6 (30% engaged, 10.6)
    is high on fidelity and low on engagement, a second outlier, so the cut-offs no longer
    give the paper's selection. The influence sites change and no odds-ratio interval
    excludes one (the issue's reading of this build). With r = 0.32 on 5 df no p-value is
    below 0.05 (so they no longer "disagree"), and the full slope's interval now includes
    zero, so neither "a single site can change a conclusion" nor the exclusion-set
    contrast (without site 2 clear of zero, without site 6 not) stands. With site 6 at
    10.6 the mean fidelity is 10.4 and site 4 (9.0) is the farthest from it (1.4 below;
    site 6 is 0.2 above), so site 4, not site 6, has the highest leverage."""
    _edit(data, "enrich/enrich_sites.csv", "6", fidelity_score="10.6")
    rows = _rows(data / "enrich" / "enrich_sites.csv")
    x = np.array([float(r["fidelity_score"]) for r in rows])
    y = np.array([int(r["engaged"]) / int(r["with_engagement_data"]) for r in rows])
    r = np.corrcoef(x, y)[0, 1]
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731 - no ties in these data
    rho = np.corrcoef(rank(x), rank(y))[0, 1]
    assert abs(rho) > abs(r)  # the oracle: ranks are now the stronger
    out = _build_strict(project, data)
    _assert_marked(project, out, {
        "enrich-ranks-weaker",
        "enrich-strengthening-site",
        "enrich-leaning-site",
        "enrich-voluntary-lowest",
        "enrich-cutoffs-reproduce",
        "enrich-or-depends-on-model",
        "enrich-slope-similar-ranks-not",
        "enrich-p-values-disagree",
        "enrich-loo-changes-conclusion",
        "enrich-sets-opposite",
        "enrich-site6-most-leverage",
    })


def test_retake_site_minutes_changed(project, data):
    """RETAKE site 11: 1,605 -> 1,400 minutes over its 22 months (64 a month).

    Hand calculation: 1400 / 22 = 63.6 minutes a month, within 10 of the expected 60, so
    site 11 moves from "more" to "close"; the paper lists reasons for it (turnover, low
    competency, site issues), so a close site now has a reason and "0 and 0 have one, by
    construction" is false; and the RETAKE truth-table row of site 11's reasons now holds a
    site without the outcome (more than expected), so "consistency 1 by construction"
    fails too."""
    _edit(data, "retake/retake_sites.csv", "11", mentoring_minutes="1400", minutes_per_month="64")
    out = _build_strict(project, data)
    _assert_marked(project, out, {"retake-reasons-only-above",
                                  "qca-retake-consistency-by-construction"})


def test_voluntary_site_added(project):
    """An eighth ENRICH site: voluntary, fidelity 11.5, 12 of 30 engaged (40%).

    Hand calculation: a voluntary site at 11.5 scores above every NHS site (the highest is
    site 3 at 11.2), so the voluntary sites are no longer the lowest on fidelity; at 40%
    engaged and 11.5 it is high on fidelity and low on engagement, a second outlier, so the
    cut-offs no longer give the paper's selection (one outlier).

    Built with ``--data-dir`` on a copy of data/: the plan reads the sites from that folder
    (a profile of site 8 runs) and every run reads its files from there."""
    data = _perturbed(project, "site8")
    rows = _rows(data / "enrich" / "enrich_sites.csv")
    rows.append({**rows[-1], "site": "8", "total_participants": "60", "offered_peer_support":
                 "31", "with_engagement_data": "30", "pct_with_engagement_data": "97",
                 "engaged": "12", "pct_engaged": "40", "fidelity_score": "11.5",
                 "employer": "Voluntary", "location": "Urban"})
    _write(data / "enrich" / "enrich_sites.csv", rows)
    out = _build_strict(project, data)
    status = _status(project)
    assert status["enrich-voluntary-lowest"] == "fails"
    assert status["enrich-cutoffs-reproduce"] == "fails"
    assert out.returncode == 1 and "claim enrich-voluntary-lowest fails" in out.stdout
    manifest = json.loads((project / "build" / "manifest.json").read_text(encoding="utf-8"))
    runs = {r["run_id"]: r for r in manifest["runs"]}
    assert runs["case_profile--enrich-8"]["status"] == "ran"
    csv = str((data / "enrich" / "enrich_sites.csv").resolve())
    assert all(r["parameters"]["enrich_csv"] == csv
               for r in runs.values() if "enrich_csv" in r["parameters"])


def test_site4_fidelity_lowered(project, data):
    """ENRICH site 4 fidelity 9.0 -> 7.0.

    Hand calculation: the fidelity scores are then 10.4, 11.0, 11.2, 7.0, 10.9, 7.9, 9.7
    (mean 9.73); site 4 is 2.73 below the mean and site 6 1.83, so site 4 now has the
    highest leverage (h = 1/n + (x - mean)^2 / Sxx grows with the distance from the mean):
    the text names site 4 (a computed word) and the claim that the ``without_site_6`` set
    leaves out the highest-leverage site fails. Both voluntary sites (7.0, 7.9) are still
    below every NHS site (at least 9.7), so that claim still holds."""
    _edit(data, "enrich/enrich_sites.csv", "4", fidelity_score="7.0")
    out = _build_strict(project, data)
    status = _status(project)
    assert status["enrich-site6-most-leverage"] == "fails"
    assert status["enrich-voluntary-lowest"] == "holds"
    assert out.returncode == 1 and "claim enrich-site6-most-leverage fails" in out.stdout
    page = (project / "build" / "report-preview.html").read_text(encoding="utf-8")
    assert 'id="enrich-site6-most-leverage" class="claim claim-failed"' in page
    assert re.search(r"highest\s+leverage \([0-9.]+, site\s+4\)", page)


def test_retake_site_months_changed(project, data):
    """RETAKE site 15: 8 -> 14 months in the study for its 612 minutes (44 a month).

    Hand calculation: 612 / 14 = 43.7 minutes a month, more than 10 below the expected 60,
    so site 15 moves from "more" (77 a month) to "less"; the paper lists reasons for it, so
    a site below the expected amount now has a reason and "by construction" is false, in
    the reasons sentence and in the RETAKE truth table's consistency alike."""
    _edit(data, "retake/retake_sites.csv", "15", months_in_study="14", minutes_per_month="44")
    out = _build_strict(project, data)
    _assert_marked(project, out, {"retake-reasons-only-above",
                                  "qca-retake-consistency-by-construction"})


def test_audit_recipe_on_renamed_sites_is_a_clean_error(project):
    """Letter ids without renaming the audit's recipes: the ENRICH recipe for site 2's
    engagement (``where: site == '2'``) selects no row, so its ratio is 0/0. Expected: exit
    1 with the claim and the file named, no traceback, the last good build/ kept."""
    data = _perturbed(project, "letters-audit")
    rows = _rows(data / "enrich" / "enrich_sites.csv")
    for r in rows:
        r["site"] = "ABCDEFG"[int(r["site"]) - 1]
    _write(data / "enrich" / "enrich_sites.csv", rows)
    before = (project / "build" / "manifest.json").read_bytes()
    out = _run(project, "build", "--jobs", "2", "--no-render", "--data-dir", str(data))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr and "╭" not in out.stdout
    assert "published_claims.yaml" in out.stdout and "enrich_site2_engagement" in out.stdout
    assert (project / "build" / "manifest.json").read_bytes() == before


def test_letter_site_ids(project, data):
    """Sites "A".."G" for 1..7, the site-naming parameter sets renamed to match.

    Expected from the mapping: the site whose removal raises the slope most is site 2 on
    the real data, so "B" here; the site with the highest leverage is site 6, so "F". No
    variable is left unresolved, the text names the letters, and the claim about the
    paper's selection (which names sites 2-6 by number) is marked not evaluable, not true.
    The article's quotes of the renamed parameter sets are the only unresolved variables,
    and each is listed as a problem (what ``--strict`` fails on).
    It renames the copy's parameter sets (in its data/enrich/params/, put back with the
    rest of data/ by the fixture)."""
    letters = dict(zip("1234567", "ABCDEFG", strict=True))
    for name in ("enrich/enrich_sites.csv",):
        rows = _rows(data / name)
        for r in rows:
            r["site"] = letters[r["site"]]
        _write(data / name, rows)
    # the audit's ENRICH recipes name sites too: a trial with letter ids publishes its own
    text = (data / "enrich" / "published_claims.yaml").read_text(encoding="utf-8")
    items = re.split(r"(?m)^(?=  - id: )", text)
    for i, item in enumerate(items):
        if item.startswith("  - id: enrich_"):
            item = re.sub(r'site: "(\d)"', lambda m: f'site: "{letters[m[1]]}"', item)
            items[i] = re.sub(r"site == '(\d)'", lambda m: f"site == '{letters[m[1]]}'", item)
    (data / "enrich" / "published_claims.yaml").write_text("".join(items), encoding="utf-8")
    _letters_build(project, data, data / "enrich" / "params" / "engagement_fidelity")


def _letters_build(project: Path, data: Path, params: Path) -> None:
    for old, new, text in (("without_site_2", "without_site_b", 'exclude_sites: ["B"]'),
                           ("without_site_6", "without_site_f", 'exclude_sites: ["F"]'),
                           ("site4_published_pct", "site_d_published_pct",
                            'engaged_from_published_pct: ["D"]')):
        (params / f"{old}.yaml").unlink()
        (params / f"{new}.yaml").write_text(text + "\n", encoding="utf-8")
    out = _run(project, "build", "--jobs", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    page = (project / "build" / "report-preview.html").read_text(encoding="utf-8")
    # The site-naming quantities resolve; only the article's quotes of the renamed
    # parameter sets (sets.without_site_2...) are unresolved, listed for --strict to fail on.
    unresolved = set(re.findall(r"\?var:([\w.]+)", page))
    assert unresolved and all(k.startswith("sets.") for k in unresolved), unresolved
    doc = json.loads((project / "build" / "claims.json").read_text(encoding="utf-8"))
    named = {p.split()[1] for p in doc["problems"] if p.startswith("var ")}
    assert named == unresolved
    assert "Leaving out site B" in page and "site F" in page
    status = _status(project)
    assert status["enrich-cutoffs-reproduce"] == "not evaluable"
    assert 'class="claim claim-not-evaluable"' in page


@pytest.mark.quarto
def test_failed_claim_marked_in_quarto_html_and_pdf_and_only_changed_views_render(project,
                                                                                  data):
    """The RETAKE site-11 edit of :func:`test_retake_site_minutes_changed` rendered by
    Quarto (its runs are cached by then, so only the render runs). One render checks two
    things:

    - the failed claims carry ``claim-failed`` in the HTML and the PDF text says "Not
      supported by these data" after each sentence; ``--strict`` exits 1 after rendering,
      so the report can be looked at but CI stops. Expected failures: the two of that
      test's hand calculation;
    - the edit re-executes the mentoring-time and cross-case runs only, so only their two
      views are rendered again (each alone, then the article); the four ENRICH views are
      the session manuscript's files, byte for byte, and the mentoring view shows the
      edited value. Oracle: the session manuscript (copied by the fixture), rendered from
      the same ENRICH notebooks, and the edited cell.

    The no-Quarto builds before this one leave ``_manuscript/`` as the session's."""
    from casereport.report import views
    from tests.test_quarto import _html_text, require_quarto

    exe = require_quarto()
    before = project / "session-manuscript"
    shutil.copytree(project / "_manuscript", before)
    _edit(data, "retake/retake_sites.csv", "11", mentoring_minutes="1400", minutes_per_month="64")
    env_path = f"{Path(exe).parent}{os.pathsep}{Path(sys.executable).parent}"
    env = {**os.environ, "CASEREPORT_ROOT": str(project), "COLUMNS": "200",
           "PATH": f"{env_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("CASEREPORT_SKIP_PRERENDER", None)
    out = subprocess.run([sys.executable, "-m", "casereport", "build", "--jobs", "2",
                          "--strict"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "quarto    ok" in out.stdout, out.stdout
    after = project / "_manuscript"
    page = (after / "index.html").read_text(encoding="utf-8")
    failed = {k for k, v in _status(project).items() if v == "fails"}
    assert failed == {"retake-reasons-only-above", "qca-retake-consistency-by-construction"}
    for cid in failed:
        assert re.search(rf'<span id="{cid}" class="claim claim-failed"', page), cid
    assert page.count("Not supported by these data") == _n_marks(project, failed)
    pdf = next(after.glob("*.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    # Typst may hyphenate a note across lines: undo that before counting; every failed
    # claim's note is in the PDF (the HTML count of every marked sentence is checked above)
    flat = " ".join(re.sub(r"-\s*\n\s*", "", text).split())
    assert flat.count("Not supported by these data") >= len(failed)

    # only the views whose executed notebook changed were rendered again
    assert ("notebook views: 4 of 6 unchanged (copied from the last manuscript), 2 to "
            "render") in out.stdout, out.stdout  # fmt: skip
    keys_before = json.loads((before / views.RECORD).read_text(encoding="utf-8"))
    keys_after = json.loads((after / views.RECORD).read_text(encoding="utf-8"))
    changed = {nb for nb in keys_after if keys_after[nb] != keys_before.get(nb)}
    assert changed == {"build/runs/mentoring_time--primary.ipynb",
                       "build/runs/cross_case--primary.ipynb"}  # fmt: skip
    for nb in keys_after:
        (page0, nb0, figs0), (page1, nb1, figs1) = (views.outputs(m, nb) for m in (before,
                                                                                   after))
        assert (page0.read_bytes() == page1.read_bytes()) == (nb not in changed), nb
        if nb not in changed:
            assert nb0.read_bytes() == nb1.read_bytes(), nb
            assert sorted(p.relative_to(figs0) for p in figs0.rglob("*")) == sorted(
                p.relative_to(figs1) for p in figs1.rglob("*")), nb
    view_of = {m: _html_text(views.outputs(m, "build/runs/mentoring_time--primary.ipynb")[0])
               for m in (before, after)}  # fmt: skip
    # Table 3's row of site 11 (site, months, minutes) with the published minutes, then 1400
    real = next(r for r in _rows(project / "data-real" / "retake" / "retake_sites.csv")
                if r["site"] == "11")  # fmt: skip
    row = r"Site 11\s+{}\s+{}\s"
    assert re.search(row.format(real["months_in_study"], real["mentoring_minutes"]),
                     view_of[before]), view_of[before]  # fmt: skip
    assert re.search(row.format(real["months_in_study"], 1400), view_of[after]), view_of[after]
    assert (after / "index.html").stat().st_mtime > (before / "index.html").stat().st_mtime
