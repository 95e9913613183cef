"""Markdown for data-derived text: escaping and pipe tables.

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
from typing import Any

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
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = [
        "| " + " | ".join(escape(h) for h in headers) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    for row in rows:
        cells = [str(c) if raw[i] else escape(c) for i, c in enumerate(row)]
        lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
