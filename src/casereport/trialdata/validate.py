"""``casereport validate``: check every data file against the codebook, report every problem.

Checks run in layers so that one bad file yields all its problems at once:

1. bytes: exists, not empty, UTF-8 (a leading BOM is tolerated), comma-delimited;
2. header: no missing, unknown or duplicate columns (column order may differ);
3. cells: types and constraints from ``datapackage.json`` via frictionless (plain cells it
   would pass are passed without it, ``trialdata.cells``);
4. rows: the codebook's cross-column rules (``x-rules``), e.g. engaged <= with data;
5. across files: factor sites exist in the RETAKE table, one row per site x factor;
   claims file (optional) parses and has the keys the audit needs.

Nothing is ever written. Row numbers are line numbers in the file, header = line 1.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casereport.primitives import paths, terminal
from casereport.trialdata import claims, codebook, trials
from casereport.trialdata.cells import plainly_valid
from casereport.trialdata.codebook import Problem, read_text

# Frictionless error types that the header check (layer 2) already reports in plainer words,
# and blank rows, which are tolerated (pandas and the loaders skip them).
_SKIP_ERRORS = {
    "extra-label",
    "missing-label",
    "incorrect-label",
    "duplicate-label",
    "blank-label",
    "blank-row",
    "missing-cell",
    "extra-cell",
}
_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text"}


# --------------------------------------------------------------------------- one file


def parse_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and data rows with the line number each row starts on; blank rows dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"')
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    line = 1
    for record in reader:
        if header is None:
            header = record
        elif any(cell.strip() for cell in record):
            rows.append((line, record))
        line = reader.line_num + 1
    return header or [], rows


def check_header(name: str, header: list[str], expected: list[str]) -> list[Problem]:
    """Layer 2: every codebook column present once, no others. Order is free."""
    out = []
    seen = set()
    for col in header:
        if col in seen:
            out.append(Problem(name, 1, col, col, "each column name only once"))
        seen.add(col)
    for col in expected:
        if col not in seen:
            out.append(
                Problem(name, 1, col, None, f"a column named '{col}' (required by the codebook)")
            )
    for col in header:
        if col not in expected:
            hint = f" (did you mean '{col.strip()}'?)" if col.strip() in expected else ""
            out.append(
                Problem(
                    name, 1, col, col, "only the codebook's columns: " + ", ".join(expected) + hint
                )
            )
    return out


def _expected_from_note(err, field: dict | None) -> str:
    """Turn a frictionless error into the 'expected ...' half of a Problem."""
    note = getattr(err, "note", "") or ""
    if err.type == "type-error" and field is not None:
        return _TYPE_WORDS.get(field["type"], field["type"]) + f" ({field['type']})"
    m = re.match(r'constraint "(\w+)" is "(.*)"', note)
    if err.type == "constraint-error" and m:
        kind, limit = m.groups()
        c = (field or {}).get("constraints", {})
        if kind == "required":
            return "a value (the cell is blank and the column is required)"
        if kind == "minimum":
            return f"a value of at least {c.get('minimum', limit)}"
        if kind == "maximum":
            return f"a value of at most {c.get('maximum', limit)}"
        if kind == "enum":
            return "one of: " + ", ".join(str(v) for v in c.get("enum", [limit]))
        if kind == "pattern" and field is not None and field["name"] == "site":
            return "a site id without leading or trailing spaces"
        return f"{kind} {limit}"
    if err.type in ("unique-error", "primary-key"):
        m = re.search(r"position (\d+)", note)
        first = f" (line {m.group(1)} has the same)" if m else ""
        return "a unique value" + first
    if err.type == "missing-cell":
        return "a cell for every column (the row has fewer cells than the header)"
    if err.type == "extra-cell":
        return "no more cells than the header has columns"
    return err.message


def check_row_lengths(
    name: str, header: list[str], rows: list[tuple[int, list[str]]]
) -> list[Problem]:
    """Every data row has exactly as many cells as the header."""
    out = []
    for line, cells in rows:
        if len(cells) > len(header):
            extra = ",".join(cells[len(header) :])
            out.append(Problem(name, line, None, extra, f"{len(header)} cells, as in the header"))
        elif len(cells) < len(header):
            out.append(
                Problem(
                    name,
                    line,
                    header[len(cells)],
                    f"{len(cells)} cells",
                    f"{len(header)} cells, as in the header",
                )
            )
    return out


def _unique_header(text: str, header: list[str]) -> str:
    """The text with duplicate header labels renamed, so frictionless still checks cells."""
    seen: dict[str, int] = {}
    labels = []
    for col in header:
        seen[col] = seen.get(col, 0) + 1
        labels.append(col if seen[col] == 1 else f"{col}__duplicate{seen[col]}")
    if labels == header:
        return text
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(labels)
    return buf.getvalue() + text[text.index("\n") :]


def check_cells(path: Path, text: str, res: dict, header: list[str]) -> list[Problem]:
    """Layer 3: per-cell types and constraints, checked by frictionless against the schema
    (a file of plain cells frictionless would pass is passed without it: ``cells``)."""
    schema = res["schema"]
    by_name = {f["name"]: f for f in schema["fields"]}
    # Check only the columns the header actually has (missing ones are reported already);
    # a primary key that refers to a missing column is dropped for the same reason.
    keep = [f for f in schema["fields"] if f["name"] in header]
    descriptor = {"fields": keep, "fieldsMatch": "subset"}
    pk = schema.get("primaryKey", [])
    if pk and all(k in header for k in pk):
        descriptor["primaryKey"] = pk
    if plainly_valid(text, keep, descriptor.get("primaryKey", []), header):
        return []
    from frictionless import Resource, Schema, formats

    resource = Resource(
        data=_unique_header(text, header).encode("utf-8"),
        format="csv",
        encoding="utf-8",
        schema=Schema.from_descriptor(descriptor),
        control=formats.CsvControl(delimiter=","),
    )
    report = resource.validate(limit_errors=100_000)
    out: list[Problem] = []
    single_unique = len(pk) == 1 and by_name.get(pk[0], {}).get("constraints", {}).get("unique")
    for task in report.tasks:
        for err in task.errors:
            if err.type in _SKIP_ERRORS:
                continue
            if err.type == "primary-key" and single_unique:
                continue  # the unique-error on the same cell already says it
            col = getattr(err, "field_name", None)
            value = getattr(err, "cell", None)
            if err.type == "primary-key":
                col = ", ".join(pk)
                value = ", ".join(str(c) for c in (getattr(err, "cells", None) or []))
            if col is not None and col not in by_name and err.type != "primary-key":
                continue  # cells of unknown columns: the header problem says it
            out.append(
                Problem(
                    codebook.display_name(path),
                    getattr(err, "row_number", None),
                    col,
                    value,
                    _expected_from_note(err, by_name.get(col)),
                )
            )
    return out


def typed_frame(header: list[str], rows: list[tuple[int, list[str]]], res: dict) -> pd.DataFrame:
    """Rows as a DataFrame with numeric columns coerced (bad cells -> NaN) and a _line column."""
    width = len(header)
    data = [(r + [""] * width)[:width] for _, r in rows]
    df = pd.DataFrame(data, columns=header, dtype=object)
    df = df.loc[:, ~df.columns.duplicated()]  # a duplicate label is reported by layer 2
    df["_line"] = [line for line, _ in rows]
    for f in res["schema"]["fields"]:
        if f["name"] in df.columns and f["type"] in ("integer", "number"):
            df[f["name"]] = pd.to_numeric(df[f["name"]], errors="coerce")
    return df


def check_rules(
    name: str, df: pd.DataFrame, res: dict, bad_cells: set[tuple[int, str]] = frozenset()
) -> list[Problem]:
    """Layer 4: the codebook's cross-column rules, on rows whose operands passed layer 3."""
    out = []
    for rule in res.get("x-rules", []):
        expr = rule["rule"]
        hits = {c: re.search(rf"\b{re.escape(c)}\b", expr) for c in df.columns if c != "_line"}
        cols = sorted((c for c, m in hits.items() if m), key=lambda c: hits[c].start())
        if not cols:
            continue
        clean = pd.Series(
            [not any((ln, c) in bad_cells for c in cols) for ln in df["_line"]], index=df.index
        )
        ok_rows = df[cols].notna().all(axis=1) & clean
        sub = df[ok_rows]
        if sub.empty:
            continue
        holds = sub.eval(expr, engine="python").astype(bool)
        for idx in sub.index[~holds.to_numpy()]:
            values = ", ".join(f"{c}={_fmt(df.at[idx, c])}" for c in cols)
            out.append(
                Problem(
                    name,
                    int(df.at[idx, "_line"]),
                    cols[0],
                    values,
                    f"{expr} ({rule.get('description', 'codebook rule')})",
                )
            )
    return out


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def check_file(
    path: str | os.PathLike[str], resource_name: str, package: dict | None = None
) -> tuple[list[Problem], pd.DataFrame | None]:
    """All single-file checks; returns the problems and the parsed rows (None if unreadable)."""
    path = Path(path)
    name = codebook.display_name(path)
    package = package if package is not None else codebook.load_package()
    res = codebook.resource(resource_name, package)
    expected = [f["name"] for f in res["schema"]["fields"]]
    problems: list[Problem] = []
    text = read_text(path, problems)
    if text is None:
        return problems, None
    header, rows = parse_rows(text)
    if len(header) == 1 and len(expected) > 1:
        for delim, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delim in header[0]:
                problems.append(
                    Problem(name, 1, None, header[0][:60], f"comma-delimited (found {label}s)")
                )
                return problems, None
    problems += check_header(name, header, expected)
    if not rows:
        problems.append(Problem(name, None, None, "header only", "at least one data row"))
        return problems, None
    problems += check_row_lengths(name, header, rows)
    cell_problems = check_cells(path, text, res, header)
    problems += cell_problems
    bad = {(p.row, p.column) for p in cell_problems if p.row is not None}
    df = typed_frame(header, rows, res)
    problems += check_rules(name, df, res, bad)
    return problems, df


# --------------------------------------------------------------------------- the folder


def check_factor_sites(factors: pd.DataFrame, retake: pd.DataFrame, package: dict) -> list[Problem]:
    """Layer 5: every factor row's site is a RETAKE site; every site has one row per factor."""
    fname = codebook.resource(codebook.FACTORS, package)["path"]
    rname = codebook.resource(codebook.RETAKE, package)["path"]
    if "site" not in factors.columns or "site" not in retake.columns:
        return []
    known = set(retake["site"])
    out = [
        Problem(fname, int(r["_line"]), "site", r["site"], f"a site that has a row in {rname}")
        for _, r in factors.iterrows()
        if r["site"] not in known
    ]
    enum = next(f for f in codebook.fields(codebook.FACTORS, package) if f["name"] == "factor")[
        "constraints"
    ]["enum"]
    if "factor" in factors.columns:
        have = set(zip(factors["site"], factors["factor"], strict=True))
        for site in retake["site"]:
            missing = [f for f in enum if (site, f) not in have]
            if missing:
                out.append(
                    Problem(
                        fname,
                        None,
                        "factor",
                        f"site {site}",
                        "one row per factor for every RETAKE site; missing: " + ", ".join(missing),
                    )
                )
    return out


@dataclass
class Checked:
    """What :func:`validate_dir` found: every problem, and (only when there is none) the
    typed tables by codebook resource name, exactly as the ``data`` loaders return them."""

    problems: list[Problem]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # resource name -> file read

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_dir(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
    datapackage: str | os.PathLike[str] | None = None,
) -> Checked:
    """Every problem in a data folder (its trial folders' ``trial.yaml``, each file against
    its trial's codebook, then across files, then each trial's claims) and, when there is
    none, the typed tables, so nothing downstream reads or checks the files again (the
    audit and the run plan take these tables). ``datapackage``: check against another
    codebook (a folder or one file) instead of the folder's own."""
    data_dir = paths.resolve(data_dir)
    if not data_dir.is_dir():
        return Checked([Problem(str(data_dir), None, None, None, "a folder with the data files")])
    found_trials, problems = trials.check(data_dir)
    if problems:
        return Checked(problems)
    package = codebook.load_package(datapackage if datapackage is not None else data_dir)
    frames: dict[str, pd.DataFrame | None] = {}
    files = {
        name: data_dir / codebook.resource(name, package)["path"]
        for name in codebook.resource_names(package)
    }
    for name in files:
        found, frames[name] = check_file(files[name], name, package)
        problems += found
    if frames.get(codebook.FACTORS) is not None and frames.get(codebook.RETAKE) is not None:
        problems += check_factor_sites(frames[codebook.FACTORS], frames[codebook.RETAKE], package)
    for trial in found_trials.values():
        problems += claims.check_file(trial.claims_path, package)
    if problems:
        return Checked(problems)
    tables = {name: codebook.read_valid(files[name], name, package) for name in files}
    return Checked(problems, tables, files)


def report(problems: list[Problem], data_dir: Path) -> None:
    """Print every problem (file, line, column, value, what was expected): an aligned table
    on a terminal, else one a line."""
    print(f"{len(problems)} problem(s) in {data_dir} (line numbers count the header as line 1):")
    if terminal.interactive():
        rows = [[p.file, "" if p.row is None else p.row, p.column or "",
                 "" if p.value is None else repr(p.value), p.expected] for p in problems]
        terminal.table(["file", "line", "column", "found", "expected"], rows)
        return
    for p in problems:
        print(f"  - {p}")


def run(data_dir: str | os.PathLike[str] = paths.DATA_DIR) -> int:
    """CLI entry: print a report of every problem; 0 if the folder is valid, else 1."""
    data_dir = paths.resolve(data_dir)
    problems = validate_dir(data_dir).problems
    if not problems:
        found = trials.discover(data_dir)
        print(f"OK: {data_dir}: {len(found)} trial(s) ({', '.join(found)}) match their codebooks.")
        return 0
    report(problems, data_dir)
    return 1
