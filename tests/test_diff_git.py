"""`casereport diff` end to end: real edits of data/ and notebooks, committed in a
temporary git repository made from the project, each diffed through the real CLI.

Refs are built in temporary git worktrees that share the repository's run cache, seeded
from the session's full build, so only the runs an edit touches execute. Expected values
come from the paper's Table 2 (site 4: 8 of 17 engaged, published as 41%; 7/17 = 41.2%
rounds to the published 41) and from the case-type rules of
``analyses.engagement_fidelity.classify.classify_sites`` (low-low: engagement <= 60% and
fidelity <= 9.5; outlier: fidelity >= 10.5 with engagement <= 60%).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from casereport.primitives import paths
from tests.project import casereport, make_project

pytestmark = pytest.mark.slow
BASE = "base"


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture(scope="module")
def repo(built_project, tmp_path_factory) -> Path:
    """The project as a git repository on branch ``base``, its run cache seeded."""
    root = make_project(tmp_path_factory.mktemp("diffrepo") / "project")
    shutil.copy2(paths.ROOT / ".gitignore", root / ".gitignore")
    shutil.copytree(
        built_project / ".casereport-cache" / "runs", root / ".casereport-cache" / "runs"
    )
    _git(root, "init", "-q", "-b", BASE)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _commit_edit(root: Path, branch: str, edit) -> None:
    _git(root, "checkout", "-q", "-b", branch, BASE)
    edit(root)
    _git(root, "commit", "-qam", branch)
    _git(root, "checkout", "-q", BASE)


def _diff(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out_json = root.parent / "diff.json"
    out_json.unlink(missing_ok=True)
    out = casereport(root, "diff", *args, "--json", str(out_json), "--jobs", "2")
    assert out.returncode in (0, 1), out.stdout + out.stderr
    return out, json.loads(out_json.read_text())


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_same_commit_is_empty_and_executes_nothing(repo):
    """BASE against itself: no change, exit 0, and both sides' builds took every run from
    the cache (the manifests' statuses, not the console)."""
    out, d = _diff(repo, BASE, BASE)
    assert out.returncode == 0 and d["changes"] == [] and "No change" in out.stdout
    for side in ("base", "head"):
        assert d["runs"][side] and set(d["runs"][side].values()) == {"cached"}, d["runs"]
    assert not [w for w in _git(repo, "worktree", "list").splitlines()[1:]]  # cleaned up


def test_site4_engaged_8_to_7_turns_the_audit_verdict(repo):
    """engaged 8 -> 7 at site 4: 7/17 = 41.2% reproduces the published 41% (was 47.1%), so
    that audit verdict is a changed conclusion. The ENRICH case types stay (41 and 47 are
    both <= 60: low-low), and the headline association estimates move but keep their side.
    Some influence diagnostics do change sign (which site has the largest Cook's distance
    changes in the without-site sets); each conclusion listed must be a real change: a sign
    conclusion has old and new of opposite signs (checked here from its own numbers)."""
    _commit_edit(
        repo,
        "site4",
        lambda r: _replace(
            r / "data" / "enrich" / "enrich_sites.csv",
            "\n4,71,33,17,52,8,41,",
            "\n4,71,33,17,52,7,41,",
        ),
    )
    out, d = _diff(repo, BASE, "site4", "--markdown", str(repo.parent / "site4.md"))
    assert out.returncode == 1
    conclusions = [c for c in d["changes"] if c["category"] == "conclusion"]
    listed = [(c["section"], c["what"], c["where"], c["old"], c["new"]) for c in conclusions]
    assert listed.count(
        ("audit", "verdict", "enrich_sites.pct_engaged.site_4", "discrepancy", "reproduced")
    ) == 1
    assert {c["where"] for c in conclusions if c["section"] == "audit"} == {
        "enrich_sites.pct_engaged.site_4"
    }
    for c in conclusions:
        assert c["old"] != c["new"], c
        if c["what"] == "sign":
            assert float(c["old"]) * float(c["new"]) < 0, c
    assert not [c for c in conclusions if c["what"] in ("case type", "group")]
    flagged = {c["where"] for c in conclusions}
    for headline in ("pearson_r", "ols_slope", "glm_odds_ratio"):
        assert f"enrich_association.{headline} [primary]" not in flagged
    moved = {c["where"] for c in d["changes"] if c["category"] == "moved"}
    assert "enrich_table2.pct_engaged_site_4 [primary]" in moved
    assert "enrich_association.pearson_r [primary]" in moved
    data = [c for c in d["changes"] if c["category"] == "data"]
    assert [(c["where"], c["what"], c["old"], c["new"]) for c in data] == [
        ("enrich/enrich_sites.csv: site 4", "engaged", "8", "7")
    ]
    # the RETAKE runs read nothing that changed: from the cache
    assert {s for r, s in d["runs"]["head"].items() if "retake" in r} == {"cached"}


def test_fidelity_change_moves_a_case_type(repo):
    """Site 4's fidelity 9.0 -> 11.0 with engagement 47%: low-low becomes outlier."""
    _commit_edit(
        repo,
        "fidelity",
        lambda r: _replace(
            r / "data" / "enrich" / "enrich_sites.csv",
            "\n4,71,33,17,52,8,41,9.0,",
            "\n4,71,33,17,52,8,41,11.0,",
        ),
    )
    out, d = _diff(repo, BASE, "fidelity", "--fail-on", "conclusions")
    assert out.returncode == 1
    case_types = [
        c for c in d["changes"] if c["category"] == "conclusion" and c["what"] == "case type"
    ]
    assert [(c["old"], c["new"]) for c in case_types] == [("low-low", "outlier")]
    assert case_types[0]["where"].startswith("ENRICH site 4 ")


def test_notebook_prose_edit_changes_no_result(repo):
    """A Markdown cell of mentoring_time edited: its runs re-execute, no result changes,
    and the diff says so (exit 0)."""

    def edit(root: Path) -> None:
        nb = root / "notebooks" / "mentoring_time.ipynb"
        doc = json.loads(nb.read_text(encoding="utf-8"))
        cell = next(c for c in doc["cells"] if c["cell_type"] == "markdown")
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = text + "\n\nA sentence added by the diff test."
        nb.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    _commit_edit(repo, "prose", edit)
    out, d = _diff(repo, BASE, "prose")
    assert out.returncode == 0 and d["changes"] == []
    assert "mentoring_time--primary" in d["rerun"]  # and its other parameter sets, only
    assert all(r.startswith("mentoring_time--") for r in d["rerun"]), d["rerun"]
    assert "No result changed" in out.stdout
    assert d["runs"]["head"]["mentoring_time--primary"] == "ran"


def test_working_tree_against_base_is_empty(repo):
    """`casereport diff --base base` with the working tree at base: nothing changed."""
    out, d = _diff(repo, "--base", BASE)
    assert out.returncode == 0 and d["changes"] == []


def test_missing_ref_exits_2(repo):
    out = casereport(repo, "diff", "no-such-branch", BASE)
    assert out.returncode == 2 and "'no-such-branch' is neither" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_build_compare_to_writes_the_appendix_and_a_plain_build_drops_it(repo):
    """The working tree (base: site 4 low-low) built `--compare-to fidelity` (site 4
    outlier there) gets the appendix, with that case type in its conclusions table; the
    next build without a baseline is not "up to date" and leaves the fragment empty."""
    out = casereport(repo, "build", "--no-render", "--jobs", "2", "--compare-to", "fidelity")
    assert out.returncode == 0, out.stdout + out.stderr
    text = (repo / "build" / "fragments" / "changes.md").read_text(encoding="utf-8")
    assert text.startswith("## Changes since fidelity {#sec-changes}")
    assert "{#tbl-changes}" in text and "| outlier | low\\-low |" in text
    out = casereport(repo, "build", "--no-render", "--jobs", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (repo / "build" / "fragments" / "changes.md").read_text(encoding="utf-8") == ""
