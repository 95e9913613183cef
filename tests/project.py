"""A private copy of the project, built for real, shared by the slow tests.

The package is pointed at the copy with CASEREPORT_ROOT, so the developer's build/ and
cache are never touched, and a fresh clone (CI) tests the real report without a prior build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from casereport.primitives import paths

COPY = paths.PROJECT_SOURCES
#: What a render leaves in the source tree (supplement/build/ is the build's copy of what
#: the supplement embeds): never copied, so a copy renders from its own build.
OUTPUTS = shutil.ignore_patterns(*paths.COPY_IGNORE)


def make_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = paths.ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=OUTPUTS if name == "supplement"
                            else shutil.ignore_patterns("__pycache__"))  # fmt: skip
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def copy_built(built: Path, dest: Path, outputs: bool = True) -> Path:
    """A fresh copy of the project holding the run cache of ``built`` (a project copy that
    was built), and with ``outputs`` its build/ and _variables.yml too. The cache is keyed
    on content, not on the copy's place, so a build of the copy after an edit re-executes
    only the runs whose inputs the edit changed."""
    root = make_project(dest)
    shutil.copytree(built / ".casereport-cache", root / ".casereport-cache",
                    ignore=shutil.ignore_patterns("*.lock"))
    if outputs:
        shutil.copytree(built / "build", root / "build")
        shutil.copy2(built / "_variables.yml", root / "_variables.yml")
    return root


def edit_retake_minutes(root: Path) -> tuple[str, str, str]:
    """Add 1 to the first RETAKE site's mentoring_minutes in ``root``'s data (still valid;
    the audit flags it); return the site, the old and the new value. Read by the RETAKE
    runs only: mentoring time, cross-case and the RETAKE case profiles."""
    csv = root / "data" / "retake" / "retake_sites.csv"
    lines = csv.read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    col = header.index("mentoring_minutes")
    old = first[col]
    first[col] = str(int(old) + 1)
    lines[1] = ",".join(first)
    csv.write_text("\n".join(lines) + "\n")
    return first[header.index("site")], old, first[col]


def casereport(root: Path, *args: str, timeout: float = 900,
               quarto: bool = True) -> subprocess.CompletedProcess:
    """``casereport ARGS`` on the copy ``root``; ``quarto=False`` takes Quarto off PATH, so
    a build renders the no-Quarto preview only (for tests that check the build, not the
    manuscript, which the session build renders once)."""
    env = {**os.environ, "CASEREPORT_ROOT": str(root), "COLUMNS": "200"}
    if not quarto:
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if "quarto" not in p)
        env.pop("QUARTO_PATH", None)
    env.pop("CASEREPORT_SKIP_PRERENDER", None)
    return subprocess.run([sys.executable, "-m", "casereport", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def statuses(root: Path) -> dict[str, str]:
    """run_id -> 'ran' | 'cached' | 'failed' for the last build in ``root`` (full or
    ``--only``), as the build records them in .casereport-cache/last-build.json."""
    import json

    record = root / ".casereport-cache" / "last-build.json"
    if not record.is_file():
        return {}
    return {r["run_id"]: r["status"] for r in json.loads(record.read_text())["runs"]}


def manifest_statuses(out: subprocess.CompletedProcess, root: Path) -> dict[str, str]:
    """run_id -> 'ran' | 'cached', as recorded in build/manifest.json by a full build."""
    import json

    assert out.returncode == 0, out.stdout + out.stderr
    manifest = json.loads((root / "build" / "manifest.json").read_text())
    return {r["run_id"]: r["status"] for r in manifest["runs"]}


def full_build(root: Path, quarto: bool = True) -> subprocess.CompletedProcess:
    """`casereport build --strict`: with Quarto on PATH, a Quarto warning fails it;
    ``quarto=False``: Quarto off PATH, the preview is the report."""
    out = casereport(root, "build", "--jobs", "2", "--strict", quarto=quarto)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


#: The third trial's text site ids (9 sites: the 7 of ENRICH and two more).
THIRD_SITES = ["Ashford", "Barnet", "Camden", "Dover", "Ealing", "Frome", "Goole", "Hythe",
               "Ilford"]


def add_third_trial(root: Path, code: str = "peers", name: str = "PEERS") -> Path:
    """A third trial in ``root``'s data/, made as a user would by copying ENRICH's folder:
    the code and name changed, the resource renamed (names are unique across trials), no
    claims and no parameter sets of its own, place names as site ids, and two sites more
    (9): copies of sites 1 and 5 with one engaged participant fewer. Only data/ changes."""
    import json

    src, dest = root / "data" / "enrich", root / "data" / code
    shutil.copytree(src, dest)
    shutil.rmtree(dest / "params")
    (dest / "published_claims.yaml").unlink()
    spec = dest / "trial.yaml"
    text = spec.read_text(encoding="utf-8")
    text = text.replace("code: enrich ", f"code: {code} ")
    text = text.replace("name: ENRICH ", f"name: {name} ")
    spec.write_text(text.replace("sites: enrich_sites", f"sites: {code}_sites"), encoding="utf-8")
    pkg = json.loads((dest / "datapackage.json").read_text(encoding="utf-8"))
    pkg["resources"][0].update(name=f"{code}_sites", path=f"{code}_sites.csv")
    (dest / "datapackage.json").write_text(json.dumps(pkg, indent=2), encoding="utf-8")
    rows = (dest / "enrich_sites.csv").read_text(encoding="utf-8").splitlines()
    (dest / "enrich_sites.csv").unlink()
    header, body = rows[0].split(","), [r.split(",") for r in rows[1:]]
    extra = []
    for base in (body[0], body[4]):
        row = list(base)
        row[header.index("engaged")] = str(int(row[header.index("engaged")]) - 1)
        extra.append(row)
    out = [header]
    for site, row in zip(THIRD_SITES, body + extra, strict=True):
        out.append([site, *row[1:]])
    (dest / f"{code}_sites.csv").write_text("\n".join(",".join(r) for r in out) + "\n",
                                            encoding="utf-8")
    return dest
