"""What an analysis needs of a trial's sites, and the note it leaves when they fall short.

A trial of any size gets a report: with too few sites, a constant score or a column that
does not vary, an analysis returns :class:`NotEstimable` (which analysis, and why, in the
reader's words: "needs at least 4 sites; this trial has 3") instead of raising. Its rows
are one ``not_estimable`` row carrying the reason as its label, so the results, the
variables and the claims that read the analysis's quantities see them missing (a claim is
then "not evaluable"), and display code shows the reason where the table or figure would
be. The checks run before the method, so a genuine error inside a method still raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from casereport.primitives.results import label_row


@dataclass(frozen=True)
class NotEstimable:
    """An analysis that the data cannot support: ``analysis`` (the results' analysis name)
    and ``reason`` (a sentence fragment for the reader)."""

    analysis: str
    reason: str

    def rows(self) -> list[dict[str, Any]]:
        return [label_row(self.analysis, "not_estimable", self.reason)]

    def __str__(self) -> str:
        return f"Not estimable: {self.reason}."


def shortfall(
    df: pd.DataFrame,
    min_sites: int = 3,
    varying: Sequence[str] = (),
    whose: str = "this trial",
) -> str | None:
    """Why ``df`` cannot support an analysis, or None: fewer than ``min_sites`` sites, or a
    column of ``varying`` that takes one value only. ``whose`` names the sites in the
    reason ("this trial", "the stratum")."""
    n = len(df)
    if n < min_sites:
        return f"needs at least {min_sites} sites; {whose} has {n}"
    for col in varying:
        values = df[col].dropna().unique()
        if len(values) < 2:
            shown = f" ({values[0]:g} at every site)" if len(values) == 1 else ""
            return f"{col.replace('_', ' ')} does not vary{shown}"
    return None


def needs(
    analysis: str, min_sites: int = 3, varying: Sequence[str] = ()
) -> Callable:
    """Decorator for an analysis ``fn(df, ...)``: returns :class:`NotEstimable` when
    :func:`shortfall` finds ``df`` short, else ``fn``'s result."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(df: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
            reason = shortfall(df, min_sites, varying)
            return NotEstimable(analysis, reason) if reason else fn(df, *args, **kwargs)

        return run

    return wrap


def passes_through(fn: Callable) -> Callable:
    """Decorator for a ``*_rows`` or display function whose first argument is an analysis
    result: given :class:`NotEstimable` it returns that result's rows (rows functions) or
    the object itself (display functions show it as a note), without calling ``fn``."""

    @functools.wraps(fn)
    def run(result: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(result, NotEstimable):
            return result.rows() if fn.__name__.endswith("_rows") else result
        return fn(result, *args, **kwargs)

    return run
