"""Display tables of the engagement-fidelity shape: the site table with its recomputed
percentages, the case selection, influence both ways merged with the leave-one-site-out
refits, every estimand of the association in its two views, missing-data bounds, the
stratum and the cut-off sweep, as DataFrames of formatted strings; show them with
:func:`casereport.display.tables.show`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from casereport.analyses.engagement_fidelity.estimands import BY_KEY
from casereport.analyses.estimability import NotEstimable, passes_through
from casereport.display.tables import ci, cis, num, pval
from casereport.primitives import format as F
from casereport.primitives.format import DASH
from casereport.primitives.labels import (
    CASE_LABELS,
    site_label,
)
from casereport.primitives.rounding import round_half_up


def sites(df: pd.DataFrame) -> pd.DataFrame:
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


def cases(cls: pd.DataFrame, cutoffs: Mapping[str, float]) -> pd.DataFrame:
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


def _with_ci(est: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    """``"7.89 (2.90 to 12.9)"``: an estimate with its interval in one cell (the interval
    left out when it is missing)."""
    c = ci(lo, hi, digits)
    return num(est, digits) + ("" if c == F.DASH else f" ({c})")


@passes_through
def influence(inf: Any, loo: Any, level: float) -> pd.DataFrame:
    """One row per site: its influence on the unweighted OLS slope (leverage, Cook's
    distance, DFBETA: full slope minus the slope without the site, studentised residual
    with its Bonferroni outlier p) and the refits without it (``loo``:
    :func:`casereport.analyses.engagement_fidelity.analysis.leave_one_out`): the OLS slope and
    the quasi-binomial
    odds ratio with their intervals, and Pearson's r."""
    if isinstance(loo, NotEstimable):
        return loo
    t = inf.table.assign(site=inf.table["site"].astype(str))
    o = loo.assign(site=loo["site"].astype(str)).set_index("site").reindex(t["site"])
    lv = F.percent_level(level)
    return pd.DataFrame(
        {
            "Site": [site_label(s) for s in t["site"]],
            "Leverage": [num(v, 3) for v in t["leverage"]],
            "Cook's D": [num(v, 3) for v in t["cooks_d"]],
            "DFBETA (slope)": [num(v) for v in t["dfbeta"]],
            f"Slope without site ({lv} CI)": [
                _with_ci(e, lo, hi) for e, lo, hi in
                zip(t["slope_without"], t["loo_ci_low"], t["loo_ci_high"], strict=True)],
            f"Odds ratio without site ({lv} CI)": [
                _with_ci(e, lo, hi) for e, lo, hi in
                zip(o["glm_estimate"], o["glm_ci_low"], o["glm_ci_high"], strict=True)],
            "r without site": [num(v, 3) for v in o["pearson_r"]],
            "Stud. residual": [num(v) for v in t["student_resid"]],
            "Bonferroni p": [pval(v) for v in t["bonf_p"]],
        }
    )


#: The two views of the one association, as the merged estimands table groups them.
SITE_VIEW, WEIGHTED_VIEW = "Sites, each counting once", "Participants, sites weighted"


def estimands(t: pd.DataFrame, level: float) -> pd.DataFrame:
    """Every ENRICH estimand of the association (:func:`casereport.analyses.
    enrich_estimands.table`) in its view: the site-level ones (each site counting once) and
    the participant-weighted odds ratios, the primary's view first; each with its role,
    estimate, interval and p; a p that comes from the same test as the row above says so
    (the estimands that share a test are adjacent in either view)."""
    if t.empty:
        return NotEstimable("enrich_primary", "no estimand could be estimated on these data")
    weighted = pd.Series([BY_KEY[k].analysis == "enrich_or_models" for k in t["key"]],
                         index=t.index)
    primary_view = weighted[t["role"] == "primary"]
    first = bool(primary_view.iloc[0]) if len(primary_view) else False
    t = t.assign(weighted=weighted, _later=weighted != first).sort_values("_later",
                                                                          kind="stable")
    out, previous, view = [], None, None
    for r in t.itertuples(index=False):
        digits = 3 if r.key in ("pearson_r", "spearman_rho", "kendall_tau") else 2
        note, previous = r.test == previous, r.test
        this = WEIGHTED_VIEW if r.weighted else SITE_VIEW
        out.append(
            {
                "View": this if this != view else "",
                "Estimand": r.label,
                "Role": "primary" if r.role == "primary" else "sensitivity",
                "Estimate": num(r.estimate, digits),
                f"{F.percent_level(level)} CI": ci(r.ci_low, r.ci_high, digits),
                "p": pval(r.p_value) + (" (same test as above)" if note else ""),
            }
        )
        view = this
    return pd.DataFrame(out)


@passes_through
def missing(mis: Mapping[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """Per site: engaged / with data / offered, observed %, and the bounds over those
    offered peer support (``mis``:
    :func:`casereport.analyses.engagement_fidelity.limits.missing`)."""
    t = mis["bounds"].table.set_index("site")
    d = df.assign(site=df["site"].astype(str)).set_index("site")
    return pd.DataFrame(
        {
            "Site": [site_label(s) for s in t.index],
            "Engaged / with data / offered": [
                f"{int(d.loc[s, 'engaged'])} / {int(d.loc[s, 'with_engagement_data'])} / "
                f"{int(d.loc[s, 'offered_peer_support'])}"
                for s in t.index
            ],
            "Without data (%)": [num(100 * v, 1) for v in t["missing_share"]],
            "Engaged, with data (%)": [num(100 * v, 1) for v in t["observed"]],
            "Bounds over offered (%)": cis(100 * t["lower"], 100 * t["upper"], 1),
        }
    )


def cutoff_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """One row per shift of the cut-offs: the cut-offs and the sites of each case type."""
    return pd.DataFrame(
        {
            "Shifted": sweep["shifted"],
            "Engagement cut-offs (%)": [
                f"≥ {num(h, 1)}, ≤ {num(lo, 1)}"
                for h, lo in zip(sweep["high_engagement"], sweep["low_engagement"], strict=True)
            ],
            "Fidelity cut-offs": [
                f"≥ {num(h, 1)}, ≤ {num(lo, 1)}"
                for h, lo in zip(sweep["high_fidelity"], sweep["low_fidelity"], strict=True)
            ],
            "High–high": [s or F.DASH for s in sweep["high-high"]],
            "Low–low": [s or F.DASH for s in sweep["low-low"]],
            "Outlier": [s or F.DASH for s in sweep["outlier"]],
            "As published": ["yes" if s else "no" for s in sweep["same"]],
        }
    )


@passes_through
def stratum(st: Mapping[str, Any], by: str, value: str, level: float) -> pd.DataFrame:
    """The association within one level of ``by``, without its most influential site, and
    across all sites adjusted for ``by``; a row that cannot be estimated is left out."""
    e, w, adj = st["estimate"], st["without"], st["adjusted"]
    x, lv = e.extra, F.percent_level(level)

    def line(sites: str, what: str, est: Any, lo: Any, hi: Any, p: Any, digits: int = 2):
        return {"Sites": sites, "Estimand": what, "Estimate": num(est, digits),
                f"{lv} CI": ci(lo, hi, digits), "p": pval(p)}

    within = f"{by} = {value} ({e.n} sites)"
    out = [
        line(within, "Pearson's r (exact permutation p)", e.estimate, e.ci_low, e.ci_high,
             e.p_value, 3),
        line(within, "OLS slope (t)", x["slope"], x["slope_ci_low"], x["slope_ci_high"],
             x["slope_p"]),
    ]
    if w:
        r = w["r"]
        out.append(line(f"{by} = {value}, without {site_label(w['site']).lower()} ({r.n} sites)",
                        f"Pearson's r (smallest attainable p {pval(w['min_p'])})",
                        r.statistic, r.ci_low, r.ci_high, r.p_value, 3))
    if adj:
        out.append(line(f"All ({adj.n} sites)", f"OLS slope adjusted for {by} (t)",
                        adj.estimate, adj.ci_low, adj.ci_high, adj.p_value))
    return pd.DataFrame(out)
