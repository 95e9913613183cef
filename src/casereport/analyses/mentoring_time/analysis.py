"""RETAKE mentoring time: the analysis table with recomputed ratios, Table 3 reproduced
with totals that do not double-count, the groups against the expected minutes, the paper's
reasons described by two ratios per site factor (all sites and the above-expected sites
alone; no test, see :func:`reason_ratios`) and rank correlations.

The mentoring_time notebook calls these; each ``*_rows`` function turns a result into
tidy rows (:mod:`casereport.primitives.results`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from casereport import stats
from casereport.analyses.estimability import needs, passes_through
from casereport.analyses.mentoring_time import classify
from casereport.primitives import labels
from casereport.primitives.results import class_rows, row, site_quantity, slug
from casereport.primitives.rounding import round_half_up
from casereport.trialdata import loaders


def prepare(retake: pd.DataFrame, factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """RETAKE table with recomputed ratios (``mpm`` minutes per month, ``ppo`` participants
    per OT, participants per month) and, if given, the wide 0/1 factors. Site minutes are
    never divided by participants or OTs: they include sessions shared by two sites, and the
    OT count includes everyone who ever held the post (data/retake/README.md)."""
    df = retake.copy()
    df["site"] = df["site"].astype(str)
    minutes = df["mentoring_minutes"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["mpm"] = minutes / df["months_in_study"].replace(0, np.nan)
        df["ppo"] = df["participants"] / df["ots"].replace(0, np.nan)
        df["participants_per_month"] = df["participants"] / df["months_in_study"].replace(0, np.nan)
    if factors is not None:
        wide = loaders.factors_wide(factors) if "factor" in factors.columns else factors
        wide = wide.assign(site=wide["site"].astype(str))
        df = df.merge(wide, on="site", how="left")
        for c in wide.columns.drop("site"):
            df[c] = df[c].fillna(0).astype("int64")
    return df


def groups(df: pd.DataFrame, expected: float, tolerance: float) -> list[str]:
    """``less`` / ``close`` / ``more`` per site from the recomputed minutes per month."""
    return list(classify.classify_sites(df["mpm"], expected=expected, tolerance=tolerance))


def table3_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-site recomputed and published ratios of Table 3, and the totals row."""
    a, out, mismatches = "retake_table3", [], 0
    for r in df.itertuples(index=False):
        s = r.site
        mismatches += round_half_up(r.mpm) != r.minutes_per_month
        mismatches += round_half_up(r.ppo) != r.participants_per_ot
        out += [
            row(a, site_quantity("minutes_per_month", s), r.mpm, n=r.months_in_study),
            row(a, site_quantity("minutes_per_month_published", s), r.minutes_per_month),
            row(a, site_quantity("participants_per_ot", s), r.ppo, n=r.ots),
            row(a, site_quantity("participants_per_ot_published", s), r.participants_per_ot),
            row(
                a,
                site_quantity("participants_per_month", s),
                r.participants_per_month,
                n=r.months_in_study,
            ),
        ]
    tot = totals(df)
    out += [row(a, k, v, n=len(df)) for k, v in tot.items()]
    out += [
        # one row, so the text quotes the median and both ends of the range at one precision
        row(a, "minutes_per_month_range", df["mpm"].median(), df["mpm"].min(), df["mpm"].max(),
            n=len(df)),
    ]
    out += turnover_rows(df)
    out.append(row(a, "n_ratio_mismatches", mismatches, n=2 * len(df)))
    return out


def turnover_rows(df: pd.DataFrame, recruited: int = 2) -> list[dict[str, Any]]:
    """Turnover evidence in Table 3 itself: ``recruited`` OTs were recruited per site (001,
    Methods), so ``n_sites_beyond_recruited`` sites have more and ``n_ots_beyond_recruited``
    = sum of (OTs - recruited) over them (replaced leavers; an unreplaced one leaves no
    trace)."""
    extra = (df["ots"] - recruited).clip(lower=0)
    return [
        row("retake_table3", "n_sites_beyond_recruited", int((extra > 0).sum()), n=len(df)),
        row("retake_table3", "n_ots_beyond_recruited", int(extra.sum()), n=len(df)),
        row("retake_table3", "ots_recruited_per_site", recruited),
    ]


def demographics_rows(demo: pd.DataFrame) -> list[dict[str, Any]]:
    """Table 1 of Craven 2021: each printed percentage recomputed (``pct_row_<r>`` =
    n / denominator x 100), the interviewed OTs and mentors (``n_ots``, ``n_mentors``) and,
    for a characteristic with missing data, those with data
    (``n_with_data_<group>_<characteristic>``, n: the group)."""
    a, out = "retake_demographics", []
    for r in demo.itertuples(index=False):
        if isinstance(r.pct_published, str) and r.pct_published.strip():
            out.append(row(a, f"pct_row_{r.row}", 100 * r.n / r.denominator, n=r.denominator))
    group_n = demo.groupby("group")["denominator"].max()
    for g, n in group_n.items():
        out.append(row(a, f"n_{str(g).lower()}", int(n)))
    # characteristics with missing data: their own denominator (OTs' education: 16 of 19)
    for (g, c), n in demo.groupby(["group", "characteristic"])["denominator"].max().items():
        if n < group_n[g]:
            out.append(row(a, f"n_with_data_{slug(str(g))}_{slug(str(c))}", int(n),
                           n=int(group_n[g])))  # fmt: skip
    return out


def totals(df: pd.DataFrame) -> dict[str, float]:
    """Table 3 totals that do not double-count people: sums of months, participants and
    OTs, and the site-recorded minutes (a group session shared by two sites counts at each
    site, so this sum overstates the time mentors gave and is never divided by people).
    ``site_recorded_minutes_per_site_month`` is that sum over the summed months, on the
    same site-recorded basis."""
    months, minutes = df["months_in_study"].sum(), df["mentoring_minutes"].sum()
    parts, ots = df["participants"].sum(), df["ots"].sum()
    return {
        "n_sites": float(len(df)),
        "total_site_months": float(months),
        "site_recorded_minutes": float(minutes),
        "total_participants": float(parts),
        "total_ots": float(ots),
        "site_recorded_minutes_per_site_month": minutes / months if months else math.nan,
        "overall_participants_per_ot": parts / ots if ots else math.nan,
    }


def groups_rows(
    df: pd.DataFrame, groups: list[str], expected: float, tolerance: float
) -> list[dict[str, Any]]:
    a = "retake_groups"
    out = class_rows(a, df["site"], groups, labels.MENTORING_GROUPS)
    out += [row(a, "expected_minutes_per_month", expected), row(a, "tolerance_minutes", tolerance)]
    return out


def reason_ratios(df: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Per listed reason, minutes per month at the sites with it against those without,
    described by the two ratios of :func:`casereport.stats.rate_ratios` (ratio of mean site
    rates; ratio of pooled rates, minutes over months summed). No interval or p-value: the
    paper lists reasons only for sites that received more than expected, so no assignment
    of a reason to sites is a valid reference distribution. One row per factor."""
    count, exposure = "mentoring_minutes", "months_in_study"
    rows = [{"factor": f} | stats.rate_ratios(df, count, exposure, f) for f in factors]
    return pd.DataFrame(rows)


def reason_ratio_rows(ratios: pd.DataFrame, analysis: str) -> list[dict[str, Any]]:
    """Per factor ``f``: ``ratio_mean_rates_<f>``, ``ratio_pooled_rates_<f>``, the four
    rates (``mean_rate_present_<f>`` ...) and ``n_present_<f>`` (n: the sites compared)."""
    out = []
    keys = ("ratio_mean_rates", "ratio_pooled_rates", "mean_rate_present", "mean_rate_absent",
            "pooled_rate_present", "pooled_rate_absent", "n_present")  # fmt: skip
    for r in ratios.itertuples(index=False):
        out += [row(analysis, f"{k}_{r.factor}", getattr(r, k), n=int(r.n)) for k in keys]
    return out


@needs("retake_correlations", 3)
def correlations(df: pd.DataFrame, seed: int | None, n_resamples: int = 10_000) -> dict:
    """Spearman correlations of minutes per month with participants per OT and with the
    number of OTs; permutation p-values (Monte Carlo above 8 sites, fixed seed)."""
    return {
        name: stats.permutation_correlation(
            df[col], df["mpm"], "spearman", n_resamples=n_resamples, seed=seed
        )
        for col, (name, _label) in labels.CORRELATES.items()
    }


@passes_through
def correlations_rows(cors: dict) -> list[dict[str, Any]]:
    return [
        row("retake_correlations", f"spearman_rho_{name}", r.statistic, p_value=r.p_value, n=r.n)
        for name, r in cors.items()
    ]


def reasons_rows(df: pd.DataFrame, groups: list[str], factors: list[str]) -> list[dict[str, Any]]:
    """How the paper's reasons fall across the groups (true by construction: reasons are
    given only for sites that received more): sites with at least one reason per group."""
    a, out = "retake_reasons", []
    n_reasons = df[factors].sum(axis=1)
    for g in labels.MENTORING_GROUPS:
        sel = np.array([x == g for x in groups])
        out += [
            row(a, f"n_sites_{g}", int(sel.sum())),
            row(a, f"n_with_reason_{g}", int((n_reasons[sel] > 0).sum()), n=int(sel.sum())),
        ]
    return out
