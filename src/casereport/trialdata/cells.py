"""Layer 3 without frictionless for plain files: whether frictionless would find no problem
in a file's cells, answered only when that is certain.

``validate.check_cells`` asks here first. A valid file of plain cells (whole numbers,
decimals and text, as every trial's files are) is then passed without importing
frictionless (0.15-0.18 s in a fresh kernel) or running it (about 10 ms a file). The answer
is only ever "no problem" or "not sure": the file is read as frictionless reads it (the
same ``csv.Sniffer`` guess on its first 100 lines, quote ``"``, doubled quotes, no escape
character), and each cell must pass a test no looser than frictionless's (a whole number is
``[+-]?[0-9]+``, a decimal has no spaces, ``NaN`` or ``Infinity``; the codebook's
``required``, ``minimum``, ``maximum``, ``enum``, ``pattern`` and ``unique`` and the primary
key, as frictionless applies them). Anything else (a blank or short row, an unknown or
repeated column, a codebook feature not modelled here, any cell that fails) is "not sure",
and frictionless checks the file and words its problems exactly as before.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

SAMPLE_LINES = 100  # the lines frictionless's CSV parser gives csv.Sniffer
_WHOLE = re.compile(r"[+-]?[0-9]+")  # int() reads these, as frictionless's integer does
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # Decimal()
_FIELD_KEYS = {"name", "type", "description", "title", "unit", "constraints"}
_CONSTRAINTS = {
    "integer": {"required", "unique", "minimum", "maximum", "enum"},
    "number": {"required", "unique", "minimum", "maximum", "enum"},
    "string": {"required", "unique", "pattern", "enum"},
}


class _Unsure(Exception):
    """Frictionless must decide."""


def _number(value: Any, kind: str) -> Any:
    """A codebook bound or enum value as frictionless reads it for a field of ``kind``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unsure
    if kind == "integer":
        if not isinstance(value, int):
            raise _Unsure
        return value
    return Decimal(str(value)) if isinstance(value, float) else value


def _reader(field: dict) -> tuple[Any, bool]:
    """A function of one cell for ``field`` (the value frictionless reads, or _Unsure when
    frictionless would report the cell or might read it otherwise), and the field's
    ``unique``."""
    kind = field.get("type")
    keys = {k for k in field if not k.startswith("x-")}
    if kind not in _CONSTRAINTS or not keys <= _FIELD_KEYS:
        raise _Unsure
    if not all(isinstance(field.get(k, ""), str) for k in ("name", "description", "title", "unit")):
        raise _Unsure
    c = field.get("constraints", {})
    if not isinstance(c, dict) or not set(c) <= _CONSTRAINTS[kind]:
        raise _Unsure
    required, unique = c.get("required", False), c.get("unique", False)
    if not isinstance(required, bool) or not isinstance(unique, bool):
        raise _Unsure
    lo = _number(c["minimum"], kind) if "minimum" in c else None
    hi = _number(c["maximum"], kind) if "maximum" in c else None
    enum = c.get("enum")
    if enum is not None:
        if not isinstance(enum, list) or not enum or len({repr(v) for v in enum}) < len(enum):
            raise _Unsure
        if kind == "string":
            if not all(isinstance(v, str) for v in enum):
                raise _Unsure
        else:
            enum = [_number(v, "integer") for v in enum]  # whole numbers only
    pattern = c.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise _Unsure
        try:
            pattern = re.compile(f"^{pattern}$")  # as frictionless compiles it
        except re.error:
            raise _Unsure from None

    def read(cell: str) -> Any:
        if cell == "":  # frictionless's one missing value
            if required:
                raise _Unsure
            return None
        if kind == "integer":
            if not _WHOLE.fullmatch(cell):
                raise _Unsure
            value: Any = int(cell)
        elif kind == "number":
            if not _DECIMAL.fullmatch(cell):
                raise _Unsure
            value = Decimal(cell)
        else:
            value = cell
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _Unsure
        if pattern is not None and not pattern.match(value):
            raise _Unsure
        if enum is not None and value not in enum:
            raise _Unsure
        return value

    return read, unique


def _records(text: str) -> list[list[str]]:
    """The file's rows as frictionless's CSV parser reads them (its text stream keeps line
    endings; ``csv.Sniffer`` decides only whether a space after a comma is skipped)."""
    lines = list(io.StringIO(text, newline=""))
    try:
        skip = csv.Sniffer().sniff("".join(lines[:SAMPLE_LINES]), ",").skipinitialspace
    except csv.Error:
        skip = False  # frictionless falls back to csv.excel
    except Exception as exc:  # frictionless would meet the same
        raise _Unsure from exc
    try:
        return list(csv.reader(lines, delimiter=",", quotechar='"', doublequote=True,
                               skipinitialspace=skip))  # fmt: skip
    except csv.Error as exc:
        raise _Unsure from exc


def plainly_valid(text: str, fields: list[dict], primary_key: list[str], header: list[str]) -> bool:
    """True only if frictionless, given ``text`` with ``fields`` (the codebook's, those the
    header names) and ``primary_key``, would report no problem at all; False when unsure.
    ``header``: the file's first row as layer 1 read it."""
    try:
        records = _records(text)
        if not records or records[0] != header or len(set(header)) < len(header):
            return False
        by_name = {f.get("name"): f for f in fields}
        if len(by_name) < len(fields) or set(header) != set(by_name):
            return False  # a label the schema lacks, or a field the header lacks
        if not isinstance(primary_key, list) or len(set(primary_key)) < len(primary_key):
            return False
        readers = [_reader(by_name[label]) for label in header]
        seen: list[set | None] = [set() if unique else None for _, unique in readers]
        keys = [header.index(k) for k in primary_key]  # ValueError: not a label
        rows_seen: set = set()
        for cells in records[1:]:
            if len(cells) != len(header) or not any(cells):
                return False  # short, long or blank rows: frictionless words them
            values = [read(cell) for (read, _), cell in zip(readers, cells, strict=True)]
            for i, s in enumerate(seen):
                if s is not None and values[i] is not None:
                    if values[i] in s:
                        return False
                    s.add(values[i])
            if keys:
                key = tuple(values[i] for i in keys)
                if all(v is None for v in key) or key in rows_seen:
                    return False
                rows_seen.add(key)
        return True
    except (_Unsure, ValueError, TypeError):
        return False
