"""RETAKE mentoring time: the analysis table with recomputed ratios, Table 3 reproduced
with its totals, the groups against the expected minutes, rate models per site factor
and rank correlations.

The mentoring_time notebook calls these; each ``*_rows`` function turns a result into
tidy rows (:mod:`casereport.results`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from casereport import data, labels, stats
from casereport.results import class_rows, row, site_quantity
from casereport.rounding import round_half_up


def prepare(retake: pd.DataFrame, factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """RETAKE table with recomputed ratios (``mpm`` minutes per month, ``ppo`` participants
    per OT, minutes per participant and per OT) and, if given, the wide 0/1 factors."""
    df = retake.copy()
    df["site"] = df["site"].astype(str)
    minutes = df["mentoring_minutes"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["mpm"] = minutes / df["months_in_study"].replace(0, np.nan)
        df["ppo"] = df["participants"] / df["ots"].replace(0, np.nan)
        df["minutes_per_participant"] = minutes / df["participants"].replace(0, np.nan)
        df["minutes_per_ot"] = minutes / df["ots"].replace(0, np.nan)
    if factors is not None:
        wide = data.factors_wide(factors) if "factor" in factors.columns else factors
        wide = wide.assign(site=wide["site"].astype(str))
        df = df.merge(wide, on="site", how="left")
        for c in wide.columns.drop("site"):
            df[c] = df[c].fillna(0).astype("int64")
    return df


def groups(df: pd.DataFrame, expected: float, tolerance: float) -> list[str]:
    """``less`` / ``close`` / ``more`` per site from the recomputed minutes per month."""
    return list(stats.classify_mentoring(df["mpm"], expected=expected, tolerance=tolerance))


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
                site_quantity("minutes_per_participant", s),
                r.minutes_per_participant,
                n=r.participants,
            ),
            row(a, site_quantity("minutes_per_ot", s), r.minutes_per_ot, n=r.ots),
        ]
    tot = totals(df)
    out += [row(a, k, v, n=len(df)) for k, v in tot.items()]
    out += [
        row(a, "minutes_per_month_min", df["mpm"].min(), n=len(df)),
        row(a, "minutes_per_month_max", df["mpm"].max(), n=len(df)),
    ]
    out.append(row(a, "n_ratio_mismatches", mismatches, n=2 * len(df)))
    return out


def totals(df: pd.DataFrame) -> dict[str, float]:
    """Table 3 totals: sums, and ratios of sums for the per-month/per-OT columns."""
    months, minutes = df["months_in_study"].sum(), df["mentoring_minutes"].sum()
    parts, ots = df["participants"].sum(), df["ots"].sum()
    return {
        "n_sites": float(len(df)),
        "total_site_months": float(months),
        "total_minutes": float(minutes),
        "total_participants": float(parts),
        "total_ots": float(ots),
        "overall_minutes_per_month": minutes / months if months else math.nan,
        "overall_participants_per_ot": parts / ots if ots else math.nan,
        "overall_minutes_per_participant": minutes / parts if parts else math.nan,
        "overall_minutes_per_ot": minutes / ots if ots else math.nan,
    }


def groups_rows(
    df: pd.DataFrame, groups: list[str], expected: float, tolerance: float
) -> list[dict[str, Any]]:
    a = "retake_groups"
    out = class_rows(a, df["site"], groups, labels.MENTORING_GROUPS)
    out += [row(a, "expected_minutes_per_month", expected), row(a, "tolerance_minutes", tolerance)]
    return out


def rates(
    df: pd.DataFrame, factors: list[str], level: float = 0.95, family: str = "quasipoisson"
) -> list:
    """One rate model per site factor: minutes with log(months) offset (RateResult list)."""
    return [
        stats.rate_model(df, "mentoring_minutes", "months_in_study", f, level=level, family=family)
        for f in factors
    ]


def rates_rows(rates: list) -> list[dict[str, Any]]:
    a, out = "retake_rates", []
    for r in rates:
        out += [
            row(a, f"rate_ratio_{r.factor}", r.estimate, r.ci_low, r.ci_high, r.p_value, r.n),
            row(a, f"dispersion_{r.factor}", r.dispersion, n=r.n),
            row(a, f"n_present_{r.factor}", r.n_present, n=r.n),
        ]
    return out


def correlations(df: pd.DataFrame, seed: int | None, n_resamples: int = 10_000) -> dict:
    """Spearman correlations of minutes per month with participants per OT and with the
    number of OTs; permutation p-values (Monte Carlo above 8 sites, fixed seed)."""
    return {
        name: stats.permutation_correlation(
            df[col], df["mpm"], "spearman", n_resamples=n_resamples, seed=seed
        )
        for col, (name, _label) in labels.CORRELATES.items()
    }


def correlations_rows(cors: dict) -> list[dict[str, Any]]:
    return [
        row("retake_correlations", f"spearman_rho_{name}", r.statistic, p_value=r.p_value, n=r.n)
        for name, r in cors.items()
    ]
