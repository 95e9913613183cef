"""The tidy-results contract: columns, rows, writing, reading and lookup.

Every estimate a notebook displays is one row, written as CSV.

Columns (docs/architecture.md, "Results quantities"):
``analysis, quantity, estimate, ci_low, ci_high, p_value, n, label, parameter_set``.
``label`` is text: a quantity that names something (the site whose removal raises the
slope most) carries the name here, as the data spell it ("3", "A", "Camden"), and no
``estimate``; ids are never forced into the numeric column.

Notebooks collect rows with :class:`Results` (or plain dicts / DataFrames) and end
with :func:`write_results`, which writes ``<results_dir>/<name>.csv`` atomically
(temporary file in the same folder, then ``os.replace``), so a reader never sees
half a file and a failed run never leaves a stale partial one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from casereport.primitives import atomic, paths

COLUMNS: list[str] = [
    "analysis",
    "quantity",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "label",
    "parameter_set",
]
_FLOAT_COLUMNS = ["estimate", "ci_low", "ci_high", "p_value"]


def slug(value: Any) -> str:
    """A site id (or other label) as a lower-case identifier fragment: ``"3"`` -> ``"3"``,
    ``"North East"`` -> ``"north_east"``. Used in per-site quantity names."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower()
    return s or "x"


def site_quantity(quantity: str, site: Any) -> str:
    """Per-site quantity name: ``site_quantity("pct_engaged", "3")`` -> ``"pct_engaged_site_3"``."""
    return f"{quantity}_site_{slug(site)}"


def _num(value: Any) -> float:
    """Float or NaN (None, pd.NA and non-finite values become NaN)."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def row(
    analysis: str,
    quantity: str,
    estimate: Any,
    ci_low: Any = None,
    ci_high: Any = None,
    p_value: Any = None,
    n: Any = None,
    label: Any = None,
) -> dict[str, Any]:
    """One tidy result row (without ``parameter_set``, which :func:`write_results` adds).

    ``label``: the text a naming quantity carries (a site id); see the module docstring."""
    n_val = None if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)) else int(n)
    return {
        "analysis": analysis,
        "quantity": quantity,
        "estimate": _num(estimate),
        "ci_low": _num(ci_low),
        "ci_high": _num(ci_high),
        "p_value": _num(p_value),
        "n": n_val,
        "label": _text(label),
    }


def _text(value: Any) -> str:
    """A label as text ('' for none); a float that is a whole number loses its '.0'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def label_row(analysis: str, quantity: str, label: Any, n: Any = None) -> dict[str, Any]:
    """A row that names something (a site): the name in ``label``, no estimate."""
    return row(analysis, quantity, None, n=n, label=label)


class Results:
    """Collects rows in display order: ``res.add(...)``, ``res.extend(frame)``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, analysis: str, quantity: str, estimate: Any, **kw: Any) -> None:
        self.rows.append(row(analysis, quantity, estimate, **kw))

    def extend(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        self.rows.extend(_records(rows))

    def frame(self, parameter_set: str = "") -> pd.DataFrame:
        return to_frame(self.rows, parameter_set)

    def __len__(self) -> int:
        return len(self.rows)


def _records(rows: Any) -> list[dict[str, Any]]:
    if isinstance(rows, Results):
        return list(rows.rows)
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    return [dict(r) for r in rows]


def to_frame(rows: Any, parameter_set: str = "", unique: bool = True) -> pd.DataFrame:
    """Rows (Results, DataFrame or dicts) as a tidy frame with exactly :data:`COLUMNS`.

    ``parameter_set`` fills rows that do not carry one; ``unique`` rejects a repeated
    ``(analysis, quantity, parameter_set)``.
    """
    recs = _records(rows)
    df = pd.DataFrame(recs, columns=COLUMNS) if recs else pd.DataFrame(columns=COLUMNS)
    missing = df["analysis"].isna() | df["quantity"].isna()
    if missing.any():
        raise ValueError("every result row needs an analysis and a quantity")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["n"] = pd.to_numeric(df["n"], errors="coerce").round().astype("Int64")
    df["label"] = df["label"].map(_text).astype(str)
    df["analysis"] = df["analysis"].astype(str)
    df["quantity"] = df["quantity"].astype(str)
    ps = df["parameter_set"]
    df["parameter_set"] = ps.where(ps.notna() & (ps.astype(str) != ""), parameter_set).astype(str)
    dup = df.duplicated(["analysis", "quantity", "parameter_set"])
    if unique and dup.any():
        first = df.loc[dup, ["analysis", "quantity"]].iloc[0].tolist()
        raise ValueError(f"duplicate result row {first[0]}.{first[1]}")
    return df


def write_results(
    rows: Any,
    results_dir: str | os.PathLike[str],
    name: str,
    parameter_set: str | None = None,
) -> Path:
    """Write ``<results_dir>/<name>.csv`` atomically and return its path.

    ``results_dir`` is resolved with :func:`casereport.primitives.paths.resolve` (root-relative
    unless absolute). ``parameter_set`` defaults to the part of ``name`` after ``--``.
    """
    if parameter_set is None:
        parameter_set = name.split("--", 1)[1] if "--" in name else name
    df = to_frame(rows, parameter_set)
    out_dir = paths.resolve(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.csv"
    with atomic.replacing(target, newline="") as fh:
        df.to_csv(fh, index=False, float_format="%.10g", lineterminator="\n")
    return target


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one results CSV, or every ``*.csv`` in a folder, with the tidy dtypes."""
    p = paths.resolve(path)
    files = sorted(p.glob("*.csv")) if p.is_dir() else [p]
    files = [f for f in files if f.name != "all_results.csv"] if p.is_dir() else files
    frames = [
        pd.read_csv(
            f,
            dtype={"analysis": str, "quantity": str, "label": str, "parameter_set": str},
            keep_default_na=False,
            na_values={c: ["", "NaN", "nan"] for c in (*_FLOAT_COLUMNS, "n")},
        )
        for f in files
    ]
    if not frames:
        return to_frame([])
    return to_frame(pd.concat(frames, ignore_index=True), unique=False)


def lookup(df: pd.DataFrame, analysis: str, quantity: str, column: str = "estimate") -> Any:
    """The single value of ``column`` for ``analysis.quantity`` (KeyError if absent)."""
    hit = df[(df["analysis"] == analysis) & (df["quantity"] == quantity)]
    if len(hit) != 1:
        raise KeyError(f"{analysis}.{quantity}: {len(hit)} rows")
    return hit.iloc[0][column]


def class_rows(
    analysis: str, sites: Iterable[Any], labels: Iterable[str], classes: list[str]
) -> list[dict[str, Any]]:
    """0/1 indicator per site and class (``high_high_site_3`` = 1) and a count per class."""
    sites, labels = [str(s) for s in sites], list(labels)
    out = [
        row(analysis, site_quantity(slug(c), s), float(lab == c))
        for s, lab in zip(sites, labels, strict=True)
        for c in classes
    ]
    out += [row(analysis, f"n_{slug(c)}", sum(lab == c for lab in labels)) for c in classes]
    return out
