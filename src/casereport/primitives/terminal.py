"""Output for a person at a terminal: whether one is watching, and aligned tables.

A ground-floor module beside :mod:`casereport.primitives.markdown`: Markdown (escaped, a pipe table)
is for files, job summaries and pipes; on a terminal ``casereport audit``, ``validate``
and ``diff`` print the same rows as an aligned `rich` table instead, the text exactly as
it is (``47.0588``, ``enrich_sites.pct_engaged``: no Markdown escapes), never read as
rich markup (a site named ``[bold]`` prints as written).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from casereport.primitives.markdown import looks_numeric

#: Columns whose cells are all at most this long never wrap (numbers, statuses); longer
#: text wraps at words, in a column at least WRAPPED_WIDTH wide.
KEEP_WHOLE = 24
WRAPPED_WIDTH = 24


def console() -> Console:
    """The console commands print to (standard output, no colouring of numbers)."""
    return Console(highlight=False)


def interactive(out: Console | None = None) -> bool:
    """A person is watching: standard output (or ``out``) is a terminal, and not in CI
    (``CI=true``, as GitHub Actions sets it)."""
    out = out or console()
    return out.is_terminal and os.environ.get("CI", "").lower() != "true"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    out: Console | None = None,
) -> None:
    """Print an aligned table; a column whose cells all look numeric is right-aligned."""
    body = [["" if c is None else str(c) for c in row] for row in rows]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, h in enumerate(headers):
        numeric = bool(body) and all(looks_numeric(r[i]) for r in body)
        widest = max((len(r[i]) for r in body), default=0)
        # the key column and short ones stay whole; long text wraps at words
        t.add_column(Text(str(h)), justify="right" if numeric else "left",
                     no_wrap=i == 0 or widest <= KEEP_WHOLE, overflow="fold",
                     min_width=WRAPPED_WIDTH if widest > KEEP_WHOLE else None)
    for row in body:
        t.add_row(*(Text(c) for c in row))
    out = out or console()
    if title:  # above the table, not wrapped to its width
        out.print(Text(title, style="bold"))
    out.print(t)
