"""The data part of ``casereport diff``: which file, site and column changed, old -> new.

Tables are compared as text (what was transcribed), row by row on the codebook's primary
key (``site``; ``site, factor`` for the long factor table), else by row number. Any other
file (codebook, claims) that differs is one change naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from casereport.diff.conclusions import DATA, Change


def _primary_keys(data_dir: Path | None) -> dict[str, list[str]]:
    """File name -> primary key columns, from every trial codebook of ``data_dir`` (a data
    folder, or one trial folder)."""
    from casereport.trialdata import codebook

    resources = []
    pkgs = codebook.trial_packages(data_dir) if data_dir else []
    if data_dir and (data_dir / codebook.PACKAGE_FILE).is_file():
        pkgs.append(data_dir / codebook.PACKAGE_FILE)
    for pkg in pkgs:
        try:
            resources += json.loads(pkg.read_text(encoding="utf-8")).get("resources", [])
        except ValueError:
            continue
    out = {}
    for r in resources:
        key = (r.get("schema") or {}).get("primaryKey")
        if r.get("path") and key:
            out[Path(r["path"]).name] = [key] if isinstance(key, str) else list(key)
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _label(key: tuple, columns: list[str]) -> str:
    if columns == ["site"]:
        return f"site {key[0]}"
    if columns and columns[0] == "site":
        return f"site {key[0]} ({', '.join(map(str, key[1:]))})"
    return ", ".join(map(str, key)) if columns else f"row {key[0] + 2}"


def compare_table(name: str, old: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> list[Change]:
    """Cell, row and column changes of one CSV table."""
    out = []
    for col in [c for c in old.columns if c not in new.columns]:
        out.append(Change(DATA, "data", col, f"{name}: column removed"))
    for col in [c for c in new.columns if c not in old.columns]:
        out.append(Change(DATA, "data", col, f"{name}: column added"))
    use = key if key and all(k in old and k in new for k in key) else []
    if use and not (old.duplicated(use).any() or new.duplicated(use).any()):
        a = {tuple(r[k] for k in use): r for r in old.to_dict("records")}
        b = {tuple(r[k] for k in use): r for r in new.to_dict("records")}
    else:
        use = []
        a = {(i,): r for i, r in enumerate(old.to_dict("records"))}
        b = {(i,): r for i, r in enumerate(new.to_dict("records"))}
    shared = [c for c in new.columns if c in old.columns and c not in use]
    for k in [*a, *[k for k in b if k not in a]]:
        where = _label(k, use)
        if k not in b:
            out.append(Change(DATA, "data", "row", f"{name}: {where} removed"))
        elif k not in a:
            out.append(Change(DATA, "data", "row", f"{name}: {where} added"))
        else:
            for col in shared:
                if a[k][col] != b[k][col]:
                    out.append(Change(DATA, "data", col, f"{name}: {where}", a[k][col], b[k][col]))
    return out


def compare_data(base: Path | None, head: Path | None) -> list[Change]:
    """Every difference between two data folders (empty when either is unknown)."""
    if base is None or head is None or not base.is_dir() or not head.is_dir():
        return []
    keys = _primary_keys(head)
    out = []
    def files(root: Path) -> set[str]:  # paths inside the folder: trial folders nest
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    names = sorted(files(base) | files(head))
    for name in names:
        a, b = base / name, head / name
        if not a.is_file() or not b.is_file():
            if a.is_file() or b.is_file():
                what = "file removed" if a.is_file() else "file added"
                out.append(Change(DATA, "data", "file", f"{name}: {what}"))
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        if name.endswith(".csv"):
            try:
                key = keys.get(Path(name).name, [])
                changes = compare_table(name, _read(a), _read(b), key)
            except (ValueError, pd.errors.ParserError):
                changes = []
            out += changes or [Change(DATA, "data", "file", f"{name}: bytes differ")]
        else:
            out.append(Change(DATA, "data", "file", f"{name}: changed"))
    return out
