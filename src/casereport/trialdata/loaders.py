"""Typed loaders for the site tables. Every analysis reads data through these.

Each loader validates its file against the codebook first (the same checks as
``casereport validate``) and raises :class:`DataError` naming file, line, column, value
and what was expected, so a notebook never runs on a file the validator would reject.
Returned frames keep file order, ``site`` as ``str`` and dtypes from the codebook.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from casereport.primitives import atomic, paths, yamltext
from casereport.trialdata import codebook, trials, validate
from casereport.trialdata.claims import check_file as check_claims_file
from casereport.trialdata.codebook import DataError, Problem

__all__ = [
    "DataError",
    "Problem",
    "factors_wide",
    "load_claims",
    "load_enrich",
    "load_factors",
    "load_programme_theory",
    "load_retake",
    "load_sites",
    "load_table",
]


def load_table(
    path: str | os.PathLike[str],
    resource_name: str,
    datapackage: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Validate ``path`` against codebook resource ``resource_name`` (of the trial codebook
    beside the file unless ``datapackage`` is given) and return it typed."""
    p = paths.resolve(path)
    if not p.is_file():
        raise DataError([Problem(codebook.display_name(p), None, None, None, "the file to exist")])
    datapackage = datapackage if datapackage is not None else codebook.package_of(p)
    if not paths.resolve(datapackage).exists():
        expected = f"a trial folder: its codebook {codebook.PACKAGE_FILE} beside it"
        raise DataError([Problem(codebook.display_name(p), None, None, None, expected)])
    package = codebook.load_package(datapackage)
    if not validated_before(p, resource_name, datapackage):
        problems, _ = validate.check_file(p, resource_name, package)
        if problems:
            raise DataError(problems)
    return codebook.read_valid(p, resource_name, package)


# Set by ``casereport build`` for its kernels: a JSON list of validation keys of the files
# the build has just validated (``record_validated``). A loader skips the checks (and the
# frictionless import) only for a file whose bytes, resource and codebook bytes give one
# of these keys; anywhere else (JupyterLab, tests) every load validates.
VALIDATED_ENV = "CASEREPORT_VALIDATED"


def validation_key(
    path: str | os.PathLike[str], resource_name: str, datapackage: str | os.PathLike[str]
) -> str:
    """sha256 over the file's bytes, the resource name and the codebook's bytes."""
    h = hashlib.sha256()
    for part in (Path(path).read_bytes(), resource_name.encode(),
                 paths.resolve(datapackage).read_bytes()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def validated_before(
    path: Path, resource_name: str, datapackage: str | os.PathLike[str] | None = None
) -> bool:
    """True when the build validated exactly these bytes against this codebook."""
    record = os.environ.get(VALIDATED_ENV)
    if not record:
        return False
    try:
        keys = set(json.loads(Path(record).read_text(encoding="utf-8")))
        package = datapackage if datapackage is not None else codebook.package_of(path)
        return validation_key(path, resource_name, package) in keys
    except (OSError, ValueError, TypeError):
        return False


def record_validated(files: dict[str, Path], out: Path) -> None:
    """Write the validation keys of ``files`` (resource name -> file, each checked against
    the trial codebook beside it) to ``out``."""
    keys = sorted(validation_key(f, name, codebook.package_of(f)) for name, f in files.items())
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out, json.dumps(keys))


def load_sites(
    path: str | os.PathLike[str], default_resource: str, trial: trials.Trial | None = None
) -> pd.DataFrame:
    """A trial's site table: the resource of the codebook beside the file whose path it is
    (``default_resource`` when none is), validated, with the columns the trial's
    ``trial.yaml`` maps to a role of its shape renamed to the shape's names. ``trial``: the
    trial of the file's folder, when the caller has read its trial.yaml already."""
    p = paths.resolve(path)
    name = default_resource
    beside = codebook.package_of(p)
    if beside.is_file():
        pkg = codebook.load_package(beside)
        name = next((r["name"] for r in pkg["resources"] if r["path"] == p.name), name)
    df = load_table(p, name)
    if trial is not None and trial.folder == p.parent:
        df = df.rename(columns=trial.renames())
    elif (p.parent / trials.TRIAL_FILE).is_file():
        df = df.rename(columns=trials.at(p.parent).renames())
    return df


def load_enrich(
    path: str | os.PathLike[str] = paths.ENRICH_CSV, trial: trials.Trial | None = None
) -> pd.DataFrame:
    """A site table of the engagement-fidelity shape (default: ENRICH, Table 2 of Gillard
    et al. 2024), one row per site. ``trial``: as for :func:`load_sites`."""
    return load_sites(path, codebook.ENRICH, trial)


def load_retake(
    path: str | os.PathLike[str] = paths.RETAKE_CSV, trial: trials.Trial | None = None
) -> pd.DataFrame:
    """A site table of the mentoring-time shape (default: RETAKE, Table 3 of Craven et al.
    2021), one row per site. ``trial``: as for :func:`load_sites`."""
    return load_sites(path, codebook.RETAKE, trial)


def load_factors(path: str | os.PathLike[str] = paths.FACTORS_CSV) -> pd.DataFrame:
    """RETAKE reasons for additional mentoring, long format: site, factor, present, sentence."""
    return load_table(path, codebook.FACTORS)


def load_programme_theory(path: str | os.PathLike[str] = paths.THEORY_CSV) -> pd.DataFrame:
    """Realist programme theory (Table 1 of De Dios Perez et al. 2024), one row per theme."""
    return load_table(path, codebook.THEORY)


def factor_names() -> list[str]:
    """The five RETAKE factors in codebook order."""
    field = next(f for f in codebook.fields(codebook.FACTORS) if f["name"] == "factor")
    return list(field["constraints"]["enum"])


def factors_wide(df: pd.DataFrame) -> pd.DataFrame:
    """One row per site (file order), one 0/1 int column per factor (codebook order); a
    factor a site has no row for is 0. A (site, factor) pair given twice is a ValueError.

    What ``df.pivot(index="site", columns="factor", values="present")``, reindexed to
    that order and filled with 0, gives, built from a dict: the pivot's first call took
    about 9 ms of a RETAKE case profile's 25 ms (1-2 ms once warm)."""
    order = list(dict.fromkeys(df["site"]))
    pairs = list(zip(df["site"], df["factor"], strict=True))
    if len(set(pairs)) < len(pairs):
        raise ValueError("Index contains duplicate entries, cannot reshape")  # as pivot
    present = dict(zip(pairs, df["present"], strict=True))
    have = set(df["factor"])
    cols = [f for f in factor_names() if f in have]
    wide = pd.DataFrame({f: [present.get((s, f), float("nan")) for s in order] for f in cols},
                        index=pd.Index(order, name="site"))  # fmt: skip
    return wide.fillna(0).astype("int64").reset_index()


def load_claims(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Published claims of one trial folder's ``published_claims.yaml``, one row per claim;
    ``compute`` stays a dict (the audit's recipe)."""
    p = paths.resolve(path)
    if not p.exists():
        raise DataError([Problem(p.name, None, None, None, "the file to exist")])
    problems = check_claims_file(p, codebook.load_package(p.parent.parent))
    if problems:
        raise DataError(problems)
    claims = yamltext.load(p.read_text(encoding="utf-8-sig"))["claims"]
    cols = ["id", "source", "doi", "location", "quote", "site", "quantity", "unit", "published"]
    cols += ["decimals", "compute", "also_compute", "note", "not_comparable", "reading"]
    rows = [{c: claim.get(c) for c in cols} for claim in claims]
    return pd.DataFrame(rows, columns=cols)


def load_demographics(path: str | os.PathLike[str] = paths.DEMOGRAPHICS_CSV) -> pd.DataFrame:
    """Mentor and OT demographics (Table 1 of Craven et al. 2021), long format."""
    return load_table(path, codebook.DEMOGRAPHICS)


def load_reason_map(path: str | os.PathLike[str] = paths.REASON_MAP_CSV) -> pd.DataFrame:
    """RETAKE site reasons mapped to programme-theory elements (basis: paper or judgement)."""
    return load_table(path, codebook.REASON_MAP)
