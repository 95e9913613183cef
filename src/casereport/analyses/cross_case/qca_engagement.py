"""ENRICH QCA with its calibration stated and tested: the calibration table, the necessity
table (consistency, coverage, relevance), a sweep of the engagement threshold, the negated
outcome, Boolean minimisation (conservative and parsimonious) and a fuzzy-set option
calibrated by Ragin's direct method (illustrative anchors).

The crisp sets are those of :func:`casereport.analyses.cross_case.analysis.cross_case`
(:func:`casereport.analyses.engagement_fidelity.classify.crisp_sets`); every threshold and
anchor is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from casereport import stats
from casereport.analyses.estimability import NotEstimable, passes_through
from casereport.primitives.results import row

CONDITIONS = ["nhs", "urban", "high_fidelity"]
OUTCOME = "high_engagement"


def calibration(
    enrich: pd.DataFrame,
    cutoffs: Mapping[str, float],
    nhs_values: Sequence[str],
    urban_values: Sequence[str],
) -> pd.DataFrame:
    """How each crisp set is coded: ``set, source, in_set, not_in_set`` (the observed raw
    values on each side), from the parameters and the data."""

    def split(col: str, members: Sequence[str]) -> tuple[str, str]:
        vals = sorted(enrich[col].astype(str).unique())
        return (", ".join(v for v in vals if v in members) or "none",
                ", ".join(v for v in vals if v not in members) or "none")  # fmt: skip

    nhs_in, nhs_out = split("employer", nhs_values)
    urb_in, urb_out = split("location", urban_values)
    return pd.DataFrame(
        [
            ("NHS employer", "employer", nhs_in, nhs_out),
            ("Urban", "location (exact value)", urb_in, urb_out),
            ("High fidelity", "fidelity score", f"≥ {cutoffs['high_fidelity']:g}",
             f"< {cutoffs['high_fidelity']:g}"),
            ("High engagement (outcome)", "engagement % (recomputed)",
             f"≥ {cutoffs['high_engagement']:g}", f"< {cutoffs['high_engagement']:g}"),
        ],
        columns=["Set", "Coded from", "In the set (1)", "Not in the set (0)"],
    )  # fmt: skip


def calibration_rows(sets: pd.DataFrame, cutoffs: Mapping[str, float]) -> list[dict[str, Any]]:
    a = "qca_enrich_calibration"
    return [
        row(a, "anchor_high_engagement", cutoffs["high_engagement"]),
        row(a, "anchor_high_fidelity", cutoffs["high_fidelity"]),
        row(a, "n_urban", int(sets["urban"].sum()), n=len(sets)),
        row(a, "n_nhs", int(sets["nhs"].sum()), n=len(sets)),
        row(a, "n_high_engagement", int(sets[OUTCOME].sum()), n=len(sets)),
    ]


def necessity(sets: pd.DataFrame) -> pd.DataFrame:
    """Each condition and its negation as a necessary condition for high engagement
    (:func:`casereport.stats.necessity`): ``condition, incl`` (consistency Σmin(X,Y)/ΣY),
    ``cov`` (coverage Σmin(X,Y)/ΣX), ``RoN`` (relevance Σ(1−X)/Σ(1−min(X,Y)), Schneider &
    Wagemann 2012: near 0 when X is present almost everywhere, so a consistent X is trivially
    necessary) and ``n_in_set`` (sites in X)."""
    nec = stats.necessity(sets, CONDITIONS, OUTCOME)
    n_in = []
    for c in nec["condition"]:
        v = sets[c.lstrip("~")].astype(int)
        n_in.append(int((1 - v).sum() if c.startswith("~") else v.sum()))
    return nec.assign(n_in_set=n_in)


def necessity_rows(nec: pd.DataFrame, n_sites: int) -> list[dict[str, Any]]:
    """Per set ``c`` (``not_<c>`` for a negation): ``nec_incl_<c>``, ``nec_cov_<c>``,
    ``ron_<c>``, ``n_in_set_<c>`` (n: sites)."""
    a, out = "qca_enrich_necessity", []
    for r in nec.itertuples(index=False):
        key = ("not_" + r.condition[1:]) if r.condition.startswith("~") else r.condition
        out += [
            row(a, f"nec_incl_{key}", r.incl, n=n_sites),
            row(a, f"nec_cov_{key}", r.cov, n=n_sites),
            row(a, f"ron_{key}", r.RoN, n=n_sites),
            row(a, f"n_in_set_{key}", r.n_in_set, n=n_sites),
        ]
    return out


def threshold_sweep(
    enrich: pd.DataFrame, sets: pd.DataFrame, thresholds: Sequence[float], negate: bool = False
) -> pd.DataFrame:
    """Per engagement threshold (:func:`casereport.stats.threshold_sweep`): cases with the
    outcome, the necessity consistency of each condition, and the largest sufficiency
    consistency of any observed configuration. One row per threshold."""
    d = sets.assign(engagement_pct=enrich["engagement_pct"].to_numpy())
    sw = stats.threshold_sweep(d, CONDITIONS, "engagement_pct", thresholds, negate=negate)
    out = []
    for t, g in sw.groupby("threshold", sort=True):
        nec = g[g["kind"] == "necessity"].set_index("set")["incl"]
        suf = g[(g["kind"] == "sufficiency") & (g["n"] > 0)]
        out.append(
            {"threshold": float(t), "n_outcome": int(g["n_outcome"].iloc[0])}
            | {f"nec_{c}": float(nec.get(c, np.nan)) for c in CONDITIONS}
            | {"max_suff_incl": float(suf["incl"].max()) if len(suf) else np.nan}
        )
    return pd.DataFrame(out)


def sweep_rows(sweep: pd.DataFrame, negated: bool = False) -> list[dict[str, Any]]:
    a = "qca_enrich_sweep" + ("_negated" if negated else "")
    out = []
    for i, r in enumerate(sweep.itertuples(index=False), start=1):
        out += [
            row(a, f"threshold_{i}", r.threshold),
            row(a, f"n_outcome_{i}", r.n_outcome),
            row(a, f"nec_high_fidelity_{i}", r.nec_high_fidelity),
            row(a, f"max_suff_incl_{i}", r.max_suff_incl),
        ]
    changes = int((np.diff(sweep["nec_high_fidelity"].to_numpy()) != 0).sum())
    out.append(row(a, "n_necessity_changes", changes, n=len(sweep)))
    return out


def minimisation(sets: pd.DataFrame, incl_cut: float = 1.0) -> pd.DataFrame:
    """Quine–McCluskey (:func:`casereport.stats.minimize`) for the outcome and its negation,
    conservative (no remainders) and parsimonious (remainders as don't-cares): ``outcome,
    solution, expression, incl, cov, diversity, n_remainders``; "no sufficient row" when no
    truth-table row reaches ``incl_cut``."""
    out = []
    diversity = len(sets[CONDITIONS].drop_duplicates()) / 2 ** len(CONDITIONS)
    for negate in (False, True):
        for rem, kind in ((False, "conservative"), (True, "parsimonious")):
            rec = {"outcome": ("low" if negate else "high") + " engagement", "solution": kind,
                   "diversity": diversity}
            try:
                s = stats.minimize(sets, CONDITIONS, OUTCOME, remainders=rem, incl_cut=incl_cut,
                                   negate=negate, case_col="site")  # fmt: skip
                rec |= {"expression": s.expression, "incl": s.incl, "cov": s.cov,
                        "n_remainders": s.n_remainders}  # fmt: skip
            except ValueError:
                rec |= {"expression": "no sufficient row", "incl": np.nan, "cov": np.nan,
                        "n_remainders": np.nan}  # fmt: skip
            out.append(rec)
    return pd.DataFrame(out)


def minimisation_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    a, out = "qca_enrich_minimisation", []
    for r in m.itertuples(index=False):
        key = f"{r.outcome.split()[0]}_{r.solution}"
        out += [row(a, f"incl_{key}", r.incl), row(a, f"cov_{key}", r.cov),
                row(a, f"found_{key}", float(r.expression != "no sufficient row"))]  # fmt: skip
    out.append(row(a, "diversity", m["diversity"].iloc[0]))
    return out


def fuzzy(
    enrich: pd.DataFrame,
    sets: pd.DataFrame,
    engagement_anchors: Sequence[float],
    fidelity_anchors: Sequence[float],
) -> dict[str, Any]:
    """Fuzzy option: engagement and fidelity calibrated by Ragin's direct method
    (:func:`casereport.stats.calibrate_direct`; anchors full non-membership, crossover, full
    membership), employer and location crisp; the same truth table, consistency, PRI and
    coverage, and the necessity of each condition. A site exactly at a crossover (membership
    0.5) belongs to no truth-table row, so the option is then :class:`NotEstimable`."""
    fz = sets[["site", "nhs", "urban"]].assign(
        high_fidelity=stats.calibrate_direct(enrich["fidelity_score"], *fidelity_anchors),
        high_engagement=stats.calibrate_direct(enrich["engagement_pct"], *engagement_anchors),
    )
    for col, anchors in (("high_fidelity", fidelity_anchors),
                         ("high_engagement", engagement_anchors)):  # fmt: skip
        at = fz.loc[np.isclose(fz[col], 0.5), "site"].astype(str).tolist()
        if at:
            return NotEstimable(
                "qca_enrich_fuzzy",
                f"site {', '.join(at)} sits exactly at the crossover of {col.replace('_', ' ')} "
                f"({anchors[1]:g}), so it belongs to no configuration",
            )
    tt = stats.truth_table(fz, CONDITIONS, OUTCOME, complete=False)
    nec = stats.necessity(fz, CONDITIONS, OUTCOME)
    return {"sets": fz, "tt": tt, "necessity": nec}


def truth(fz: Mapping[str, Any] | NotEstimable) -> pd.DataFrame | NotEstimable:
    """The fuzzy option's truth table, or its :class:`NotEstimable` for display."""
    return fz if isinstance(fz, NotEstimable) else fz["tt"]


@passes_through
def fuzzy_rows(fz: Mapping[str, Any]) -> list[dict[str, Any]]:
    a = "qca_enrich_fuzzy"
    nec = fz["necessity"].set_index("condition")
    tt = fz["tt"]
    return [
        row(a, "nec_incl_high_fidelity", nec.loc["high_fidelity", "incl"]),
        row(a, "nec_cov_high_fidelity", nec.loc["high_fidelity", "cov"]),
        row(a, "max_suff_incl", tt["incl"].max(), n=len(fz["sets"])),
        row(a, "n_configurations", len(tt)),
    ]
