"""Markdown for data-derived text: the one escaper and the one pipe-table writer.

A ground-floor module: everything may import it and it imports nothing of ours. The
notebooks' display tables, the report fragments and ``casereport audit`` all write their
tables with :func:`table` (or :func:`frame` for a DataFrame).

Site and location names come from data files that the report does not control. Written
into Markdown unescaped, ``<script>`` would become raw HTML in Quarto's HTML output,
``@x`` a citation, ``{{< ... >}}`` a shortcode and ``|`` a broken table. :func:`escape`
turns every Markdown-active character into a backslash escape and ``& < >`` into entities,
so the text shows exactly as written in HTML, Typst and the preview.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# Pandoc Markdown punctuation that can start or end markup (all are backslash-escapable).
_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|@~^$:\"'=])")


def escape(value: Any) -> str:
    """Data text as inert Markdown (inline, one line)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())  # newlines would end a table row
    text = _ACTIVE.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: Any) -> str:
    """Inline code span that is safe whatever backticks the value holds."""
    text = " ".join(str(value).split())
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


#: Width (characters) past which a column's text wraps; see :func:`_column_width`.
WRAP_AT = 36
#: The widest a column's share may be, in characters of the separator line.
WIDEST = 100


def _column_width(cells: Sequence[str]) -> int:
    """Dashes for a column of the separator line. Pandoc sizes a wrapped pipe table's
    columns in proportion to these (HTML keeps the proportions), so a column gets at least
    its longest word (words never break inside: no "par-ticipants"); a short column its
    longest cell; a column of long text room in proportion to its typical (mean) cell,
    between :data:`WRAP_AT` and :data:`WIDEST`, so explanations get the space, not labels.
    https://pandoc.org/MANUAL.html#extension-pipe_tables"""
    texts = [" ".join(str(c).split()) for c in cells] or [""]
    longest_word = max([3, *(len(w) for t in texts for w in t.split())])
    longest = max(len(t) for t in texts)
    mean = sum(len(t) for t in texts) / len(texts)
    return max(longest_word, min(longest, max(WRAP_AT, round(mean)), WIDEST))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    align: str | None = None,
    raw: Sequence[bool] | None = None,
) -> str:
    """A pipe table. Cells are escaped unless ``raw[i]`` (already Markdown) is true.

    ``align`` is one letter per column: ``l``, ``r`` or ``c``."""
    n = len(headers)
    raw = raw or [False] * n
    align = align or "l" * n
    body = [
        [(str(c) if raw[i] else escape(c)).replace("\n", " ") for i, c in enumerate(row)]
        for row in rows
    ]
    head = [escape(h) for h in headers]
    plain = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    dashes = [_column_width([r[i] for r in plain]) for i in range(n)]
    marks = []
    for a, d in zip(align, dashes, strict=True):
        left, right = (":", "") if a == "l" else ("", ":") if a == "r" else (":", ":")
        marks.append(left + "-" * max(1, d - len(left) - len(right)) + right)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


# a number, a percentage, "n (x%)", a range, or empty/dash: right-aligned
_NUMERIC = re.compile(r"^[-+−]?[\d.,]+%?( \(.*\))?$|^–$|^$")


def looks_numeric(cell: Any) -> bool:
    """A cell to right-align: a number, a percentage, "n (x%)", a dash or empty."""
    return bool(_NUMERIC.match(str(cell)))


def frame(df: pd.DataFrame, align: str | Sequence[str] | None = None) -> str:
    """A DataFrame of display strings as a pipe table (:func:`table`); by default a column
    whose cells all look numeric is right-aligned, any other left-aligned."""
    rows = [list(r) for r in df.astype(object).itertuples(index=False)]
    if align is None:
        align = [
            "r" if rows and all(looks_numeric(r[i]) for r in rows) else "l"
            for i in range(len(df.columns))
        ]
    return table([str(c) for c in df.columns], rows, "".join(align))
