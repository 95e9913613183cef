"""Display tables for the notebooks, rendered as Markdown (Quarto and pandoc render
Markdown tables best; :mod:`casereport.markdown` escapes every data-derived string, so a
location such as ``<script>`` shows as text), with numbers in the :mod:`casereport.format`
style.

Builders return pandas DataFrames of already formatted strings; :func:`show` displays one
as an ``IPython.display.Markdown`` object (the single output of a table cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from casereport import format as F
from casereport import markdown, stats
from casereport.analyses.estimability import NotEstimable, passes_through
from casereport.analyses.retake import totals
from casereport.format import DASH
from casereport.labels import (
    CASE_LABELS,
    CORRELATES,
    GROUP_LABELS,
    site_label,
)
from casereport.rounding import round_half_up


def markdown_table(df: pd.DataFrame, align: Sequence[str] | None = None):
    """``IPython.display.Markdown`` of the table (:func:`casereport.markdown.frame`)."""
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


# Cells in the house number style (casereport.format), an en dash for missing values.


def num(x: Any, digits: int = 2) -> str:
    return F.number(x, digits, DASH)


def integer(x: Any) -> str:
    return F.integer(x)


def ci(lo: Any, hi: Any, digits: int = 2) -> str:
    return F.interval(lo, hi, digits)


def _cis(lows: Sequence[Any], highs: Sequence[Any], digits: int = 2) -> list[str]:
    return [ci(a, b, digits) for a, b in zip(lows, highs, strict=True)]


def pval(p: Any) -> str:
    return F.p_value(p, DASH)


def _val(rows: pd.DataFrame, analysis: str, quantity: str) -> pd.Series:
    hit = rows[(rows["analysis"] == analysis) & (rows["quantity"] == quantity)]
    if len(hit) != 1:
        raise KeyError(f"{analysis}.{quantity}")
    return hit.iloc[0]


# ------------------------------------------------------------------------- ENRICH


def enrich_sites(df: pd.DataFrame) -> pd.DataFrame:
    """Table 2 reproduced, one row per site: the published cells as printed, the recomputed
    percentages beside them (``(≠)`` where the rounded recomputation differs)."""
    def pct_pair(k, m, published):
        rec = round_half_up(100 * k / m) if m else None
        mark = "" if rec == published else " (≠)"
        return f"{k} ({published}%)", DASH if rec is None else f"{rec}%{mark}"

    rows = []
    for r in df.itertuples(index=False):
        data_cell, data_rec = pct_pair(
            r.with_engagement_data, r.offered_peer_support, r.pct_with_engagement_data
        )
        eng_cell, eng_rec = pct_pair(r.engaged, r.with_engagement_data, r.pct_engaged)
        rows.append(
            {
                "Site": site_label(r.site),
                "Total participants/ no. offered peer support": (
                    f"{r.total_participants}/{r.offered_peer_support}"
                ),
                "With engagement data, n (%)": data_cell,
                "Recomputed %": data_rec,
                "Engaged, n (%)": eng_cell,
                "Recomputed % ": eng_rec,
                "Site fidelity score": num(r.fidelity_score, 1),
                "Peer worker employer": r.employer,
                "Location": r.location,
            }
        )
    return pd.DataFrame(rows)


def enrich_cases(cls: pd.DataFrame, cutoffs: Mapping[str, float]) -> pd.DataFrame:
    """Case selection, one row per site, selected cases first (high-high, low-low, outlier)."""
    order = {c: i for i, c in enumerate(CASE_LABELS)}
    d = cls.assign(_o=cls["case_type"].map(order)).sort_values(["_o"], kind="stable")
    return pd.DataFrame(
        {
            "Site": [site_label(s) for s in d["site"]],
            "Engagement (%)": [num(v, 1) for v in d["engagement_pct"]],
            "Fidelity score": [num(v, 1) for v in d["fidelity"]],
            "Case type": [CASE_LABELS.get(c, c) for c in d["case_type"]],
            "Selected": ["yes" if s else "no" for s in d["selected"]],
            "Employer": list(d["employer"]),
            "Location": list(d["location"]),
        }
    )


def cutoff_text(cutoffs: Mapping[str, float]) -> str:
    return (
        f"high: engagement ≥ {cutoffs['high_engagement']:g}% and fidelity ≥ "
        f"{cutoffs['high_fidelity']:g}; low: engagement ≤ {cutoffs['low_engagement']:g}% and "
        f"fidelity ≤ {cutoffs['low_fidelity']:g}"
    )


# ------------------------------------------------------------------------- RETAKE



def retake_sites(df: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Table 3 reproduced: published columns as printed, recomputed ratios beside the
    published ones (``(≠)`` where they differ after rounding half up), the group, and a
    totals row (sums; ratios of sums). Minutes are never divided by participants or OTs.
    Headers are short so that the PDF's narrow columns do not run into each other."""
    def rec(value, published):
        if F.is_missing(value):
            return DASH
        r = round_half_up(value)
        return f"{r}" + ("" if r == published else " (≠)")

    rows = []
    for r, g in zip(df.itertuples(index=False), groups, strict=True):
        rows.append(
            {
                "Site": site_label(r.site),
                "Months": str(r.months_in_study),
                "Minutes": str(r.mentoring_minutes),
                "Phone (%)": num(r.pct_phone_teams, 1),
                "Partic.": str(r.participants),
                "OTs": str(r.ots),
                "Min/month": str(r.minutes_per_month),
                "Recomp.": rec(r.mpm, r.minutes_per_month),
                "Partic./OT": str(r.participants_per_ot),
                "Recomp. ": rec(r.ppo, r.participants_per_ot),
                "Group": GROUP_LABELS.get(g, g),
            }
        )
    t = totals(df)
    rows.append(
        {
            "Site": "Total",
            "Months": integer(t["total_site_months"]),
            "Minutes": integer(t["site_recorded_minutes"]),
            "Phone (%)": DASH,
            "Partic.": integer(t["total_participants"]),
            "OTs": integer(t["total_ots"]),
            "Min/month": DASH,
            "Recomp.": num(t["site_recorded_minutes_per_site_month"], 0),
            "Partic./OT": DASH,
            "Recomp. ": num(t["overall_participants_per_ot"], 0),
            "Group": "",
        }
    )
    return pd.DataFrame(rows)




_CORRELATE_LABELS = dict(CORRELATES.values())


@passes_through
def retake_correlations(cors: Mapping[str, Any]) -> pd.DataFrame:
    def perm(r):
        return "exact" if r.exact else f"Monte Carlo, {r.n_permutations:,} draws, seed {r.seed}"

    return pd.DataFrame(
        {
            "Minutes per month with": [_CORRELATE_LABELS.get(k, k) for k in cors],
            "Spearman ρ": [num(r.statistic, 3) for r in cors.values()],
            "Permutation p": [pval(r.p_value) for r in cors.values()],
            "Permutations": [perm(r) for r in cors.values()],
            "Sites": [str(r.n) for r in cors.values()],
        }
    )


# ------------------------------------------------------------------------- cross-case


@passes_through
def truth_table(
    tt: pd.DataFrame, conditions: Mapping[str, str], outcome: str, crisp: bool = True
) -> pd.DataFrame:
    """A QCA truth table for display; ``conditions`` maps column -> label. In a crisp table
    a contradictory configuration (cases on both sides of the outcome,
    :func:`casereport.stats.contradictions`) has its OUT marked "C"."""
    out = pd.DataFrame({"Row": tt["row"].astype(str)})
    for c, label in conditions.items():
        out[label] = tt[c].astype(int).astype(str)
    contra = set(stats.contradictions(tt)["row"]) if crisp else set()
    out[outcome] = [f"{o} C" if r in contra else str(o) for r, o in zip(tt["row"], tt["OUT"],
                                                                        strict=True)]
    out["Cases (n)"] = tt["n"].astype(str)
    out["Consistency"] = [num(v, 2) for v in tt["incl"]]
    out["PRI"] = [num(v, 2) for v in tt["PRI"]]
    out["Coverage"] = [num(v, 2) if n else DASH for v, n in zip(tt["cov"], tt["n"], strict=True)]
    out["Sites"] = [", ".join(str(c).split(",")) if c else DASH for c in tt["cases"]]
    return out


def programme_theory(theory: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Domain": theory["domain"].astype(str),
            "Theme": theory["theme"].astype(str),
            "Definition": theory["definition"].astype(str),
        }
    )


def synthesis(syn: pd.DataFrame) -> pd.DataFrame:
    """One row per case (site) with its classification in each analysis."""
    return pd.DataFrame(
        {
            "Trial": syn["trial"],
            "Site": [site_label(s) for s in syn["site"]],
            "Classification": syn["classification"],
            "Conditions present": syn["conditions"],
            "Outcome": syn["outcome"],
            "Truth-table row": syn["qca_row"].astype(str),
            "Row consistency": [num(v, 2) for v in syn["row_incl"]],
            "Note": syn["note"],
        }
    )
