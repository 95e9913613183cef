"""The codebook (each trial folder's ``datapackage.json``, the one source of truth for its
files), the problem record, and reading a data file as text or, once validated, as a typed
table.

Loaders, ``casereport validate`` and the report's data dictionary all go through this
module, so a column's type, unit and allowed values are written down exactly once.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casereport.primitives import paths

if TYPE_CHECKING:
    import pandas as pd

# Resource names of the shapes' default trials (data/enrich/, data/retake/), as the
# loaders of trialdata/loaders.py name them; a folder's resources are whatever its codebooks list.
ENRICH = "enrich_sites"
RETAKE = "retake_sites"
FACTORS = "retake_site_factors"
THEORY = "programme_theory"
DEMOGRAPHICS = "retake_demographics"
REASON_MAP = "reason_theory_map"
#: A trial folder holds its codebook under this name, beside the files it describes.
PACKAGE_FILE = "datapackage.json"

# Table Schema type -> pandas dtype. Nullable Int64 so a loader never silently turns a
# blank integer into a float (validation rejects blanks in required columns anyway).


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: where it is, what is there and what was expected.

    ``row`` is the line number in the file with the header as line 1 (so the first data row
    is line 2); ``None`` for problems with the file as a whole or with its header.
    """

    file: str
    row: int | None
    column: str | None
    value: Any
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        value = "" if self.value is None else f": found {self.value!r}"
        return f"{where}{value}; expected {self.expected}"


class DataError(ValueError):
    """A data file does not match the codebook. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = len(self.problems) - 20
        if more > 0:
            lines += f"\n  ... and {more} more (run `casereport validate` for the full list)"
        super().__init__(f"{len(self.problems)} problem(s) in the data:\n{lines}")


def load_package(datapackage_path: str | os.PathLike[str] | None = None) -> dict:
    """A codebook as a plain dict: one trial's ``datapackage.json`` (a file), or the whole
    data folder's (a folder; default: the project's ``data/``), see :func:`merged`."""
    p = paths.resolve(datapackage_path) if datapackage_path is not None else paths.DATA_DIR
    if p.is_dir():
        return merged(p)
    return _load_cached(str(p), p.stat().st_mtime_ns)


@lru_cache(maxsize=32)
def _load_cached(path: str, _mtime: int) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def trial_packages(data_dir: str | os.PathLike[str]) -> list[Path]:
    """The codebook of every trial folder of ``data_dir`` (folders with a trial.yaml), by name."""
    root = paths.resolve(data_dir)
    return [f.parent / PACKAGE_FILE for f in sorted(root.glob("*/trial.yaml"))
            if (f.parent / PACKAGE_FILE).is_file()]


def merged(data_dir: str | os.PathLike[str]) -> dict:
    """One codebook for a data folder: every trial's resources in trial-folder order, each
    ``path`` relative to the folder (``enrich/sites.csv``) and ``trial`` naming its folder."""
    out: dict[str, Any] = {"name": "casereport", "resources": []}
    for pkg in trial_packages(data_dir):
        for res in load_package(pkg)["resources"]:
            out["resources"].append({**res, "path": f"{pkg.parent.name}/{res['path']}",
                                     "trial": pkg.parent.name})
    return out


def package_of(path: str | os.PathLike[str]) -> Path:
    """The codebook describing a data file: the ``datapackage.json`` beside it."""
    return paths.resolve(path).parent / PACKAGE_FILE


def display_name(path: str | os.PathLike[str]) -> str:
    """How a problem names a data file: ``enrich/enrich_sites.csv`` inside a trial folder
    (two trials may both have a ``published_claims.yaml``), the bare name elsewhere."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if (p.parent / "trial.yaml").is_file() else p.name


def resource_names(package: dict) -> list[str]:
    return [r["name"] for r in package["resources"]]


def resource(name: str, package: dict | None = None) -> dict:
    """The descriptor of one resource (file) by name, e.g. ``resource("enrich_sites")``."""
    package = package if package is not None else load_package()
    for res in package["resources"]:
        if res["name"] == name:
            return res
    raise KeyError(f"no resource {name!r} in the codebook")


def fields(name: str, package: dict | None = None) -> list[dict]:
    return resource(name, package)["schema"]["fields"]


def column_names(name: str, package: dict | None = None) -> list[str]:
    return [f["name"] for f in fields(name, package)]


def _allowed(field: dict) -> str:
    c = field.get("constraints", {})
    parts = []
    if "enum" in c:
        parts.append("one of " + ", ".join(str(v) for v in c["enum"]))
    lo, hi = c.get("minimum"), c.get("maximum")
    if lo is not None and hi is not None:
        parts.append(f"{lo} to {hi}")
    elif lo is not None:
        parts.append(f">= {lo}")
    elif hi is not None:
        parts.append(f"<= {hi}")
    if c.get("unique"):
        parts.append("unique")
    parts.append("required" if c.get("required") else "may be empty")
    return "; ".join(parts)


def data_dictionary(datapackage_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per column of every file (of a data folder, default ``data/``, or of one
    trial's codebook): file, column, type, unit, allowed, description."""
    import pandas as pd  # here, not at import: the build's import chain stays thread-free
    package = load_package(datapackage_path)
    rows = []
    for res in package["resources"]:
        for f in res["schema"]["fields"]:
            rows.append(
                {
                    "file": res["path"],
                    "column": f["name"],
                    "type": f["type"],
                    "unit": f.get("unit", ""),
                    "allowed": _allowed(f),
                    "description": f.get("description", ""),
                }
            )
    return pd.DataFrame(rows, columns=["file", "column", "type", "unit", "allowed", "description"])


BOM = b"\xef\xbb\xbf"


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """Layer 1: the file as text, or None (with a problem recorded) if it cannot be read."""
    name = display_name(path)
    if not path.is_file():
        problems.append(Problem(name, None, None, None, "the file to exist"))
        return None
    raw = path.read_bytes()
    if raw.startswith(BOM):  # tolerated: Excel writes it; it is not part of the first name
        raw = raw[len(BOM) :]
    if not raw.strip():
        problems.append(Problem(name, None, None, "empty file", "a header line and data rows"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        bad = raw[e.start : e.end]
        problems.append(
            Problem(name, line, None, bad, "UTF-8 text (re-save the file with UTF-8 encoding)")
        )
        return None


def read_valid(path: os.PathLike[str], resource_name: str, package: dict) -> pd.DataFrame:
    """Read and type a file that has already passed validation (no checks repeated)."""
    import pandas as pd
    p = Path(path)
    text = p.read_bytes().decode("utf-8-sig")  # validated: UTF-8, a BOM is tolerated
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
    schema = fields(resource_name, package)
    df = df[[f["name"] for f in schema]]  # codebook column order; the file's order is free
    for f in schema:
        col, required = f["name"], f.get("constraints", {}).get("required", False)
        if f["type"] == "integer":
            values = pd.to_numeric(df[col].replace("", pd.NA))
            # plain int64 when no blanks are allowed: friendlier to numpy/statsmodels
            df[col] = values.astype("int64" if required else "Int64")
        elif f["type"] == "number":
            df[col] = pd.to_numeric(df[col].replace("", pd.NA)).astype("float64")
        else:
            df[col] = df[col].astype(object)
    return df.reset_index(drop=True)
