"""The registry of trials: every ``data/<code>/trial.yaml``, read and checked.

A trial is a folder: its tables, its part of the codebook (``datapackage.json``), its
provenance card (``README.md``), the published claims the audit recomputes
(``published_claims.yaml``), its own parameter sets (``params/<notebook>/*.yaml``) and
``trial.yaml``, which names the trial, its analysis shape, its citations, which of its
resources plays each table role of the shape and which column each role, and the
trial-level parameters passed to every run of the trial. Validation, the audit, the run
plan and the report find trials here, never from a list in the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casereport.primitives import paths, yamltext
from casereport.trialdata import codebook
from casereport.trialdata.codebook import DataError, Problem

TRIAL_FILE = "trial.yaml"
#: The analysis shapes, each with its roles and the column name its analyses use for each
#: (the shape's defaults: ENRICH's and RETAKE's names). A trial whose ``roles`` map a role
#: to another column is read with that column renamed to the shape's name.
SHAPES: dict[str, dict[str, str]] = {
    "engagement_fidelity": {
        "site": "site",
        "offered": "offered_peer_support",
        "with_data": "with_engagement_data",
        "engaged": "engaged",
        "score": "fidelity_score",
    },
    "mentoring_time": {
        "site": "site",
        "months": "months_in_study",
        "minutes": "mentoring_minutes",
        "staff": "ots",
        "participants": "participants",
    },
}
PACKAGE_FILE = codebook.PACKAGE_FILE
CLAIMS_FILE = "published_claims.yaml"  # the published claims the audit recomputes
PARAMS_DIR = "params"
#: Keys every trial.yaml needs, with what each must be.
REQUIRED = {
    "code": "a short code of letters, digits, '_' or '-' (the folder's name)",
    "name": "the trial's name as the report writes it",
    "shape": "the analysis shape (a notebook under notebooks/)",
    "tables": "a mapping of table roles to resources of the trial's datapackage.json",
}


@dataclass(frozen=True)
class Trial:
    """One trial folder, as its ``trial.yaml`` describes it."""

    code: str
    name: str
    shape: str
    folder: Path
    tables: dict[str, str]  # role -> resource name in the folder's datapackage.json
    title: str = ""
    citations: tuple[str, ...] = ()
    roles: dict[str, Any] = field(default_factory=dict)  # shape role -> column(s)
    parameters: dict[str, Any] = field(default_factory=dict)  # passed to every run

    @property
    def package_path(self) -> Path:
        return self.folder / PACKAGE_FILE

    @property
    def claims_path(self) -> Path:
        return self.folder / CLAIMS_FILE

    def package(self) -> dict:
        return codebook.load_package(self.package_path)

    def resources(self) -> list[str]:
        """The trial's resource names, in its codebook's order."""
        return [r["name"] for r in self.package()["resources"]]

    def file(self, role: str) -> Path:
        """The file playing ``role`` (e.g. ``sites``)."""
        return self.folder / codebook.resource(self.tables[role], self.package())["path"]

    def renames(self) -> dict[str, str]:
        """Trial column -> the shape's column name, for the roles named differently."""
        canonical = SHAPES.get(self.shape, {})
        return {
            col: canonical[role]
            for role, col in self.roles.items()
            if role in canonical and isinstance(col, str) and col != canonical[role]
        }

    def param_files(self, notebook: str) -> list[Path]:
        """This trial's own parameter sets for ``notebook`` (those naming its sites)."""
        return sorted((self.folder / PARAMS_DIR / notebook).glob("*.yaml"))


def trial_folders(data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> list[Path]:
    """Every folder of ``data_dir`` holding a trial.yaml, by name."""
    root = paths.resolve(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.glob(f"*/{TRIAL_FILE}"))


def _read(folder: Path) -> tuple[Trial | None, list[Problem]]:
    where = f"{folder.name}/{TRIAL_FILE}"
    try:
        doc = yamltext.load((folder / TRIAL_FILE).read_text(encoding="utf-8-sig"))
    except yamltext.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, [Problem(where, line, None, str(exc).splitlines()[0], "valid YAML")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(where, None, None, str(exc), "a readable UTF-8 file")]
    if not isinstance(doc, dict):
        return None, [Problem(where, None, None, doc, "a mapping of keys (code, name, ...)")]
    problems = [Problem(where, None, k, None, v) for k, v in REQUIRED.items() if not doc.get(k)]
    if doc.get("code") and doc["code"] != folder.name:
        problems.append(
            Problem(where, None, "code", doc["code"], f"the folder's name {folder.name!r}")
        )
    if doc.get("code") and paths.safe_name(doc["code"]) != str(doc["code"]):
        problems.append(Problem(where, None, "code", doc["code"], REQUIRED["code"]))
    for key in ("tables", "roles", "parameters"):
        if key in doc and not isinstance(doc[key], dict):
            problems.append(Problem(where, None, key, doc[key], "a mapping"))
    if doc.get("shape") and str(doc["shape"]) not in SHAPES:
        problems.append(Problem(where, None, "shape", doc["shape"], "one of " + ", ".join(SHAPES)))
    if not (folder / PACKAGE_FILE).is_file():
        problems.append(
            Problem(
                f"{folder.name}/{PACKAGE_FILE}",
                None,
                None,
                None,
                "the trial's codebook (a Frictionless datapackage.json)",
            )
        )
    if problems:
        return None, problems
    trial = Trial(
        code=str(doc["code"]),
        name=str(doc["name"]),
        shape=str(doc["shape"]),
        folder=folder,
        tables={str(k): str(v) for k, v in doc["tables"].items()},
        title=str(doc.get("title") or doc["name"]),
        citations=tuple(doc.get("citations") or ()),
        roles=dict(doc.get("roles") or {}),
        parameters=dict(doc.get("parameters") or {}),
    )
    try:
        names = set(trial.resources())
    except (ValueError, KeyError, TypeError) as exc:
        return None, [
            Problem(
                f"{folder.name}/{PACKAGE_FILE}",
                None,
                None,
                str(exc),
                "a Frictionless datapackage.json with a 'resources' list",
            )
        ]
    for role, res in trial.tables.items():
        if res not in names:
            problems.append(
                Problem(
                    where,
                    None,
                    f"tables.{role}",
                    res,
                    "one of the resources of datapackage.json: " + ", ".join(sorted(names)),
                )
            )
    if "sites" not in trial.tables:
        problems.append(Problem(where, None, "tables.sites", None, "the trial's site table"))
    elif trial.tables["sites"] in names:
        columns = codebook.column_names(trial.tables["sites"], trial.package())
        for role, cols in trial.roles.items():
            for col in cols if isinstance(cols, list) else [cols]:
                if col not in columns:
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"roles.{role}",
                            col,
                            "a column of the site table: " + ", ".join(columns),
                        )
                    )
    return (None if problems else trial), problems


def check(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
) -> tuple[dict[str, Trial], list[Problem]]:
    """Every trial of ``data_dir`` by code, and every problem with the trial files."""
    trials: dict[str, Trial] = {}
    problems: list[Problem] = []
    folders = trial_folders(data_dir)
    if not folders:
        problems.append(
            Problem(
                str(paths.resolve(data_dir)),
                None,
                None,
                None,
                f"one folder per trial, each with a {TRIAL_FILE}",
            )
        )
    owner: dict[str, str] = {}
    for folder in folders:
        trial, found = _read(folder)
        problems += found
        if trial is None:
            continue
        for name in trial.resources():
            if name in owner:
                problems.append(
                    Problem(
                        f"{folder.name}/{PACKAGE_FILE}",
                        None,
                        None,
                        name,
                        f"a resource name not used by trial {owner[name]!r}",
                    )
                )
            owner[name] = trial.code
        trials[trial.code] = trial
    return trials, problems


def discover(data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> dict[str, Trial]:
    """Every trial of ``data_dir`` by code (folder order); DataError if any is malformed."""
    trials, problems = check(data_dir)
    if problems:
        raise DataError(problems)
    return trials


def get(code: str, data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> Trial:
    """The trial ``code``; ValueError naming the trials there are when it is not one."""
    trials = discover(data_dir)
    if code not in trials:
        raise ValueError(
            f"no trial {code!r} in {paths.resolve(data_dir)} "
            f"(trials: {', '.join(trials) or 'none'})"
        )
    return trials[code]


def at(folder: str | os.PathLike[str]) -> Trial:
    """The trial of one folder (its trial.yaml); DataError naming what is wrong."""
    trial, problems = _read(paths.resolve(folder))
    if trial is None:
        raise DataError(problems)
    return trial


def of_file(code: str, *files: str | os.PathLike[str]) -> Trial:
    """The trial ``code`` whose folder holds one of ``files`` (a notebook's data paths);
    ValueError when none of them is in that trial's folder."""
    for f in files:
        folder = paths.resolve(f).parent
        if (folder / TRIAL_FILE).is_file() and folder.name == code:
            return at(folder)
    raise ValueError(
        f"no trial folder {code!r} holds any of {', '.join(str(f) for f in files)} "
        f"(a trial is data/<code>/ with its trial.yaml)"
    )


def of_shape(shape: str, data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> list[Trial]:
    return [t for t in discover(data_dir).values() if t.shape == shape]


def names(data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> dict[str, str]:
    """Trial code -> display name, for every trial folder."""
    return {code: t.name for code, t in discover(data_dir).items()}


def package(data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> dict:
    """One codebook for the whole folder (:func:`codebook.merged`), after checking the
    trial files."""
    discover(data_dir)
    return codebook.merged(data_dir)
