"""Display tables for the notebooks, rendered as Markdown (Quarto and pandoc render
Markdown tables best; :mod:`casereport.primitives.markdown` escapes every data-derived string, so a
location such as ``<script>`` shows as text), with numbers in the
:mod:`casereport.primitives.format` style: :func:`show` and the cell formatters every
room's tables use.

Builders (in each analysis room's ``tables`` module) return pandas DataFrames of already
formatted strings; :func:`show` displays one as an ``IPython.display.Markdown`` object
(the single output of a table cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from casereport.analyses.estimability import NotEstimable
from casereport.primitives import format as F
from casereport.primitives import markdown
from casereport.primitives.format import DASH


def markdown_table(df: pd.DataFrame, align: Sequence[str] | None = None):
    """``IPython.display.Markdown`` of the table (:func:`casereport.primitives.markdown.frame`)."""
    from IPython.display import Markdown

    return Markdown(markdown.frame(df, align))


def show(df: pd.DataFrame | NotEstimable, align: Sequence[str] | None = None) -> None:
    """Display one table as Markdown (the only output of a table cell); an analysis the
    data cannot support shows as a one-row table giving the reason, so the table's label
    and caption still resolve."""
    from IPython.display import display

    display(markdown_table(note_table(df) if isinstance(df, NotEstimable) else df, align))


def note_table(note: NotEstimable) -> pd.DataFrame:
    """The one-row table shown where an analysis is not estimable: its reason."""
    return pd.DataFrame({"Not estimable": [note.reason[:1].upper() + note.reason[1:] + "."]})


def num(x: Any, digits: int = 2) -> str:
    return F.number(x, digits, DASH)


def integer(x: Any) -> str:
    return F.integer(x)


def ci(lo: Any, hi: Any, digits: int = 2) -> str:
    return F.interval(lo, hi, digits)


def cis(lows: Sequence[Any], highs: Sequence[Any], digits: int = 2) -> list[str]:
    return [ci(a, b, digits) for a, b in zip(lows, highs, strict=True)]


def pval(p: Any) -> str:
    return F.p_value(p, DASH)
