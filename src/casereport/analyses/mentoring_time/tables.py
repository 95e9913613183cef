"""Display tables of the mentoring-time shape: the site table with its recomputed ratios,
the correlations, the reasons described by two ratios, and the interviewees' table (Table 1
of the trial's paper, as printed), as DataFrames of formatted strings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from casereport.analyses.estimability import passes_through
from casereport.analyses.mentoring_time.analysis import totals
from casereport.display.tables import integer, num, pval
from casereport.primitives import format as F
from casereport.primitives.format import DASH
from casereport.primitives.labels import (
    CORRELATES,
    GROUP_LABELS,
    factor_label,
    sentence_case,
    site_label,
)
from casereport.primitives.rounding import round_half_up


def sites(df: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
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
def correlations(cors: Mapping[str, Any]) -> pd.DataFrame:
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


def reason_ratios(ratios: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """Per listed reason, over all sites and then among the sites that received more than
    expected: sites with / without it, the mean site rates and their ratio, the pooled rates
    and their ratio (minutes per month;
    :func:`casereport.analyses.mentoring_time.analysis.reason_ratios`).
    Descriptions: no interval or p-value."""

    def one(df: pd.DataFrame, scope: str) -> list[dict[str, str]]:
        out = []
        for r in df.itertuples(index=False):
            out.append(
                {
                    "Sites": scope,
                    "Reason": sentence_case(factor_label(r.factor)),
                    "With / without": f"{int(r.n_present)} / {int(r.n) - int(r.n_present)}",
                    "Mean site rate, with / without": (
                        f"{num(r.mean_rate_present, 1)} / {num(r.mean_rate_absent, 1)}"
                    ),
                    "Ratio of mean site rates": num(r.ratio_mean_rates),
                    "Pooled rate, with / without": (
                        f"{num(r.pooled_rate_present, 1)} / {num(r.pooled_rate_absent, 1)}"
                    ),
                    "Ratio of pooled rates": num(r.ratio_pooled_rates),
                }
            )
        return out

    n_all, n_more = int(ratios["n"].max()), int(more["n"].max())
    rows = one(ratios, f"All ({n_all})") + one(more, f"Above expected ({n_more})")
    return pd.DataFrame(rows)


def _as_printed(x) -> str:
    """Table 1's years as printed: whole numbers without decimals, others to one."""
    return F.number(x, 0 if float(x).is_integer() else 1, DASH)


def demographics(demo: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of Craven 2021 as transcribed: group, characteristic, category and the value
    as printed (n (%) or mean (range)), with its denominator."""

    def value(r) -> str:
        if r.statistic == "mean_range":
            lo, hi = _as_printed(r.range_min), _as_printed(r.range_max)
            return f"{_as_printed(r.mean)} ({lo} to {hi})"
        published = isinstance(r.pct_published, str) and r.pct_published
        pct = f" ({r.pct_published}%)" if published else ""
        return f"{int(r.n)}{pct}"

    return pd.DataFrame(
        {
            "Group": demo["group"].astype(str).to_numpy(),
            "Characteristic": demo["characteristic"].astype(str).to_numpy(),
            "Category": [c if isinstance(c, str) else "" for c in demo["category"]],
            "n (%) or mean (range)": [value(r) for r in demo.itertuples(index=False)],
            "Of": demo["denominator"].astype(int).astype(str).to_numpy(),
        }
    )
