"""Claims: data-dependent sentences of the article as conditions over computed results.

A sentence of ``index.qmd`` whose truth depends on the data (a direction, a ranking,
"most", "only", "agree", a site named as the one that ...) is either worded from the
numbers (a computed word, quoted with ``{{< var >}}`` like any number) or marked as a
claim::

    [the rank correlations were weaker]{.claim id="enrich-ranks-weaker"}

and the id names a :class:`Claim` declared next to the analysis that computes what it
reads (``analyses/engagement_fidelity/claims.py`` and its siblings; all of them listed in
``analyses/claims_registry.py``). The build evaluates every claim on the primary
parameter set's results and writes ``build/claims.json``; a claim that fails is shown in
the report, marked, and fails ``casereport build --strict``.

A claim reads quantities by reference: ``"analysis.quantity"`` is the estimate of the
primary parameter set, ``"analysis.quantity:ci_low"`` (``ci_high``, ``p_value``, ``n``,
``label``) another column of the same row, and ``"without_site_2@analysis.quantity"`` the
same quantity under another parameter set. Its ``holds`` takes a dict of the values
under the names given in ``reads`` and returns a bool. A read that is missing or not a
number (an analysis that could not be estimated on these data) makes the claim *not
evaluable*, never true.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from casereport.primitives.format import estimate as fmt_estimate
from casereport.primitives.labels import PRIMARY

HOLDS, FAILS, NOT_EVALUABLE = "holds", "fails", "not evaluable"
_COLUMNS = ("estimate", "ci_low", "ci_high", "p_value", "n", "label")


@dataclass(frozen=True)
class Claim:
    """One data-dependent sentence: its id, what it asserts in words, what it reads and
    the condition that must hold. ``reads`` maps a short name to a quantity reference;
    ``holds(values)`` gets those names."""

    id: str
    asserts: str
    reads: Mapping[str, str]
    holds: Callable[[Mapping[str, Any]], bool]
    texts: tuple[str, ...] = field(default=())  # names in ``reads`` that are text (labels)


@dataclass
class Verdict:
    """A claim judged on one build's results."""

    id: str
    asserts: str
    status: str  # HOLDS | FAILS | NOT_EVALUABLE
    values: dict[str, Any]
    reason: str = ""

    def as_json(self, sentence: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "sentence": sentence,
            "asserts": self.asserts,
            "status": self.status,
            "holds": {HOLDS: True, FAILS: False}.get(self.status),
            "values": self.values,
            "reason": self.reason,
        }


def _index(results: pd.DataFrame) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    sets = results["parameter_set"].astype(str) if "parameter_set" in results.columns else None
    out = {}
    for i, r in enumerate(results.to_dict("records")):
        pset = PRIMARY if sets is None else sets.iloc[i]
        out[(pset, str(r["analysis"]), str(r["quantity"]))] = r
    return out


def _value(index: Mapping, ref: str, text: bool) -> Any:
    """The value a reference names; None when absent or not a finite number."""
    pset, _, ref = ref.rpartition("@")
    name, _, column = ref.partition(":")
    column = column or ("label" if text else "estimate")
    if column not in _COLUMNS:
        raise ValueError(f"claim reference {ref!r}: column {column!r} is not one of {_COLUMNS}")
    analysis, _, quantity = name.partition(".")
    rec = index.get((pset or PRIMARY, analysis, quantity))
    if rec is None:
        return None
    value = rec.get(column)
    if column == "label" or text:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) \
            or str(value) == "" else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def judge(claim: Claim, results: pd.DataFrame, index: Mapping | None = None) -> Verdict:
    """Evaluate one claim on a build's tidy results (primary parameter set)."""
    index = _index(results) if index is None else index
    values = {k: _value(index, ref, k in claim.texts) for k, ref in claim.reads.items()}
    shown = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}
    missing = [f"{k} ({claim.reads[k]})" for k, v in values.items() if v is None]
    if missing:
        return Verdict(claim.id, claim.asserts, NOT_EVALUABLE, shown,
                       "not estimated on these data: " + ", ".join(missing))
    try:
        ok = bool(claim.holds(values))
    except (ArithmeticError, TypeError, ValueError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        return Verdict(claim.id, claim.asserts, NOT_EVALUABLE, shown, why)
    return Verdict(claim.id, claim.asserts, HOLDS if ok else FAILS, shown)


def judge_all(claims: Iterable[Claim], results: pd.DataFrame) -> list[Verdict]:
    index = _index(results)
    return [judge(c, results, index) for c in claims]


def now_text(verdict: Verdict) -> str:
    """What the numbers say instead, for the marked sentence: 'r = 0.32, rho = 0.43'."""
    parts = []
    for k, v in verdict.values.items():
        if v is None:
            parts.append(f"{k} not estimated")
        elif isinstance(v, float):
            parts.append(f"{k} = {fmt_estimate(v)[0]}")
        else:
            parts.append(f"{k} = {v}")
    return "; ".join(parts)
