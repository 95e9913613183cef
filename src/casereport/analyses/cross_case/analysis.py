"""Cross-case comparison: crisp-set QCA truth tables for both trials, the realist
programme theory, the per-case synthesis, the RETAKE reasons mapped to the programme theory
(site x theory-element matrix) and one cross-case matrix per trial (the cross_case notebook
calls these)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from casereport import stats
from casereport.analyses.engagement_fidelity import classify as ef_classify
from casereport.analyses.engagement_fidelity.analysis import cases as enrich_cases
from casereport.analyses.estimability import shortfall
from casereport.analyses.mentoring_time import classify as mt_classify
from casereport.analyses.mentoring_time.analysis import groups as retake_groups
from casereport.primitives import labels
from casereport.primitives.format import number as fmt_number
from casereport.primitives.labels import CASE_LABELS, CASE_TYPES, GROUP_LABELS, MENTORING_GROUPS
from casereport.primitives.results import class_rows, label_row, row, site_quantity, slug


def qca_rows(
    analysis: str, tt: pd.DataFrame, n_conditions: int, incl_cut: float = 1.0
) -> list[dict[str, Any]]:
    """Per truth-table row ``r``: ``n_row_r``, ``out_row_r``, ``incl_row_r``, ``pri_row_r``,
    ``cov_row_r`` (row numbers as in R's QCA::truthTable); the inclusion cut-off
    ``incl_cut``; ``n_contradictory`` and, naming each contradictory configuration with its
    consistency and treatment (:func:`describe_contradictions`), the label
    ``contradictory_rows``; ``min_incl_with_condition``, the lowest consistency of an
    observed row with at least one condition present."""
    out = []
    for r in tt.itertuples(index=False):
        k = r.row
        outv = math.nan if r.OUT == "?" else float(r.OUT)
        out += [
            row(analysis, f"n_row_{k}", r.n),
            row(analysis, f"out_row_{k}", outv, n=r.n),
            row(analysis, f"incl_row_{k}", r.incl, n=r.n),
            row(analysis, f"pri_row_{k}", r.PRI, n=r.n),
            row(analysis, f"cov_row_{k}", r.cov, n=r.n),
        ]
    contra = stats.contradictions(tt)
    conds = list(tt.columns[1 : 1 + n_conditions])
    with_cond = tt[(tt["n"] > 0) & (tt[conds].sum(axis=1) > 0)]
    out += [
        row(analysis, "n_cases", int(tt["n"].sum())),
        row(analysis, "n_conditions", n_conditions),
        row(analysis, "n_configurations_observed", int((tt["n"] > 0).sum())),
        row(analysis, "incl_cut", incl_cut),
        row(analysis, "n_contradictory", len(contra), n=int((tt["n"] > 0).sum())),
        label_row(analysis, "contradictory_rows", describe_contradictions(contra)),
        row(analysis, "min_incl_with_condition", with_cond["incl"].min(), n=len(with_cond)),
    ]
    return out


def describe_contradictions(contra: pd.DataFrame) -> str:
    """Each contradictory row as words: "row 8 (sites 2, 3, 5): consistency 0.67, coded 0,
    not sufficient"; rows joined by "; "; "none" when there is none."""
    if len(contra) == 0:
        return "none"
    parts = []
    for r in contra.itertuples(index=False):
        sites = ", ".join(str(r.cases).split(","))
        coded = "coded 1, sufficient" if r.OUT == 1 else "coded 0, not sufficient"
        parts.append(f"row {r.row} (sites {sites}): consistency {fmt_number(r.incl, 2)}, {coded}")
    return "; ".join(parts)


def theory_rows(theory: pd.DataFrame) -> list[dict[str, Any]]:
    counts = theory["domain"].astype(str).value_counts(sort=False)
    out = [row("programme_theory", f"n_{slug(d)}", c) for d, c in counts.items()]
    out.append(row("programme_theory", "n_themes", len(theory)))
    return out


def _case_rows(tt: pd.DataFrame) -> dict[str, pd.Series]:
    """site -> its truth-table row (as a Series)."""
    out = {}
    for _, r in tt.iterrows():
        for s in str(r["cases"]).split(","):
            if s:
                out[s] = r
    return out


def synthesis_frame(
    trial: str,
    sites: Iterable[Any],
    classification: Iterable[str],
    sets: pd.DataFrame,
    tt: pd.DataFrame,
    conditions: Mapping[str, str],
    outcome: tuple[str, str],
    notes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per site: ``trial, site, classification, conditions`` (labels of the
    conditions present), ``outcome`` (label or "not " + label), ``qca_row, row_incl, note``.
    ``outcome`` is (column, label)."""
    by_site = _case_rows(tt)
    sets = sets.assign(site=sets["site"].astype(str)).set_index("site")
    col, label = outcome
    rows = []
    for s, c in zip([str(x) for x in sites], classification, strict=True):
        present = [lab for k, lab in conditions.items() if sets.at[s, k] == 1]
        tr = by_site.get(s)
        rows.append(
            {
                "trial": trial,
                "site": s,
                "classification": c,
                "conditions": ", ".join(present) if present else "none",
                "outcome": label if sets.at[s, col] == 1 else f"not {label[0].lower()}{label[1:]}",
                "qca_row": int(tr["row"]) if tr is not None else 0,
                "row_incl": float(tr["incl"]) if tr is not None else math.nan,
                "note": (notes or {}).get(s, ""),
            }
        )
    return pd.DataFrame(rows)


def synthesis_rows(
    analysis: str, syn: pd.DataFrame, classes: list[str], keys: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Class indicators per site (``keys`` maps class -> display label) and the QCA row."""
    inv = {v: k for k, v in keys.items()}
    labels = [inv.get(c, c) for c in syn["classification"]]
    out = class_rows(analysis, syn["site"], labels, classes)
    out += [
        row(analysis, site_quantity("qca_row", s), r, n=1)
        for s, r in zip(syn["site"], syn["qca_row"], strict=True)
    ]
    return out


def cross_case(
    enrich: pd.DataFrame,
    retake: pd.DataFrame,
    cutoffs: Mapping[str, float],
    nhs_values: list[str],
    urban_values: list[str],
    retake_conditions: list[str],
    expected: float,
    tolerance: float,
    incl_cut: float = 1.0,
) -> dict[str, Any]:
    """Crisp sets, truth tables (all configurations) and the per-case synthesis for both
    trials, with their tidy rows. ``enrich`` from
    :func:`casereport.analyses.engagement_fidelity.analysis.prepare`,
    ``retake`` from :func:`casereport.analyses.mentoring_time.analysis.prepare` with factors."""
    e_sets = ef_classify.crisp_sets(
        enrich,
        high_engagement=cutoffs["high_engagement"],
        high_fidelity=cutoffs["high_fidelity"],
        urban_values=tuple(urban_values),
        nhs_values=tuple(nhs_values),
    )
    e_cond = dict(labels.ENRICH_CONDITIONS)
    e_out = labels.ENRICH_OUTCOME
    e_tt = stats.truth_table(e_sets, list(e_cond), e_out[0], incl_cut=incl_cut, complete=True)
    r_sets = mt_classify.crisp_sets(
        retake,
        retake,
        conditions=tuple(retake_conditions),
        expected=expected,
        tolerance=tolerance,
        minutes_col="mpm",
    )
    r_cond = {c: labels.sentence_case(labels.factor_label(c)) for c in retake_conditions}
    r_out = labels.RETAKE_OUTCOME
    r_tt = stats.truth_table(r_sets, list(r_cond), r_out[0], incl_cut=incl_cut, complete=True)

    cls = enrich_cases(enrich, cutoffs)
    e_notes = {}  # the most influential site, where the line can be fitted
    if shortfall(enrich, 3, varying=("fidelity_score",)) is None:
        ols = stats.site_ols(enrich, "engagement_pct", "fidelity_score")
        e_notes[stats.most_influential(ols.influence)[0]] = "largest Cook's distance (OLS)"
    e_classes = [CASE_LABELS[c] for c in cls["case_type"]]
    e_syn = synthesis_frame("ENRICH", cls["site"], e_classes, e_sets, e_tt, e_cond, e_out, e_notes)
    groups = retake_groups(retake, expected, tolerance)
    others = [c for c in labels.FACTOR_LABELS if c in retake.columns and c not in retake_conditions]
    notes = {}
    for r in retake.itertuples(index=False):
        present = [labels.factor_label(c) for c in others if getattr(r, c) == 1]
        if present:
            notes[str(r.site)] = "also: " + ", ".join(present)
    r_classes = [GROUP_LABELS[g] for g in groups]
    r_syn = synthesis_frame("RETAKE", retake["site"], r_classes, r_sets, r_tt, r_cond, r_out, notes)
    rows = qca_rows("qca_enrich", e_tt, len(e_cond), incl_cut)
    rows += qca_rows("qca_retake", r_tt, len(r_cond), incl_cut)
    rows += synthesis_rows("synthesis_enrich", e_syn, CASE_TYPES, CASE_LABELS)
    rows += synthesis_rows("synthesis_retake", r_syn, MENTORING_GROUPS, GROUP_LABELS)
    return {
        "enrich_sets": e_sets,
        "enrich_tt": e_tt,
        "enrich_conditions": e_cond,
        "retake_sets": r_sets,
        "retake_tt": r_tt,
        "retake_conditions": r_cond,
        "synthesis": pd.concat([e_syn, r_syn], ignore_index=True),
        "rows": rows,
    }


# --------------------------------------------------------------------------- theory mapping


def reason_sites(retake: pd.DataFrame, reason_map: pd.DataFrame) -> dict[str, list[str]]:
    """reason -> sites that have it: a site factor from the 0/1 columns of ``retake``
    (:func:`casereport.analyses.mentoring_time.analysis.prepare` with factors); a site-specific
    reason named
    ``site<N>_...`` (site 2's reasons for less mentoring) -> that site."""
    out: dict[str, list[str]] = {}
    known = {str(s) for s in retake["site"]}
    for reason in dict.fromkeys(reason_map["reason"].astype(str)):
        named = re.match(r"site(\w+?)_", reason)
        if reason in retake.columns:
            pairs = zip(retake["site"], retake[reason], strict=False)
            out[reason] = [str(s) for s, v in pairs if v == 1]
        elif named:
            out[reason] = [named.group(1)] if named.group(1) in known else []
        else:
            raise ValueError(f"reason {reason!r} is neither a site factor nor site-named")
    return out


def element_name(domain: str, theme: str) -> str:
    """A programme-theory element as ``Theme (C|M|O)``."""
    return f"{theme} ({str(domain)[:1]})"


def theory_matrix(retake: pd.DataFrame, reason_map: pd.DataFrame) -> pd.DataFrame:
    """Programme-theory element x site: one row per element the mapping touches (in the
    map's order), one column per RETAKE site; a cell is ``paper`` if a reason present at
    the site maps to the element on the paper's words, ``judgement`` if only on ours, ``""``
    if no reason of the site touches it."""
    sites = [str(s) for s in retake["site"]]
    by_reason = reason_sites(retake, reason_map)
    pairs = zip(reason_map["domain"], reason_map["theme"], strict=True)
    elements = list(dict.fromkeys(element_name(d, t) for d, t in pairs))
    m = pd.DataFrame("", index=elements, columns=sites)
    for r in reason_map.itertuples(index=False):
        e = element_name(r.domain, r.theme)
        for s in by_reason[str(r.reason)]:
            if m.at[e, s] != "paper":
                m.at[e, s] = str(r.basis)
    m.index.name = "element"
    return m


def mapping_rows(reason_map: pd.DataFrame, matrix: pd.DataFrame) -> list[dict[str, Any]]:
    """``n_mappings``, ``n_paper``, ``n_judgement``, ``n_elements`` and per site
    ``n_elements_site_<s>`` (elements its reasons touch)."""
    a = "theory_mapping"
    basis = reason_map["basis"].astype(str)
    out = [
        row(a, "n_mappings", len(reason_map)),
        row(a, "n_paper", int((basis == "paper").sum()), n=len(reason_map)),
        row(a, "n_judgement", int((basis == "judgement").sum()), n=len(reason_map)),
        row(a, "n_elements", len(matrix)),
        row(a, "n_sites_mapped", int((matrix != "").any(axis=0).sum()), n=matrix.shape[1]),
    ]
    out += [row(a, site_quantity("n_elements", s), int((matrix[s] != "").sum()))
            for s in matrix.columns]
    return out


# --------------------------------------------------------------------------- matrices


def retake_matrix(
    retake: pd.DataFrame, groups: list[str], factors: list[str], matrix: pd.DataFrame
) -> pd.DataFrame:
    """RETAKE cross-case matrix, one row per site: ``site, mpm, group``, each listed
    reason (0/1), ``n_reasons`` and ``mechanisms`` (the mechanism elements its reasons
    touch, from :func:`theory_matrix`, judgement-only ones marked)."""
    out = retake[["site", "mpm"]].copy()
    out["group"] = groups
    for f in factors:
        out[f] = retake[f].astype(int).to_numpy()
    out["n_reasons"] = out[factors].sum(axis=1)
    mech = [e for e in matrix.index if e.endswith("(M)")]
    out["mechanisms"] = [
        [(e[:-4], matrix.at[e, str(s)]) for e in mech if matrix.at[e, str(s)]]
        for s in out["site"]
    ]
    out["n_mechanisms"] = [len(m) for m in out["mechanisms"]]
    return out


def enrich_matrix(enrich: pd.DataFrame, cls: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """ENRICH cross-case matrix, one row per site: employer, location, fidelity, engagement
    % with its exact (Clopper-Pearson) interval, % offered with engagement data, case type.
    ``enrich`` from :func:`casereport.analyses.engagement_fidelity.analysis.prepare`, ``cls``
    from its ``cases``."""
    lo, hi = stats.clopper_pearson(enrich["engaged"], enrich["with_engagement_data"], level)
    return pd.DataFrame(
        {
            "site": enrich["site"].astype(str).to_numpy(),
            "employer": enrich["employer"].astype(str).to_numpy(),
            "location": enrich["location"].astype(str).to_numpy(),
            "fidelity": enrich["fidelity_score"].to_numpy(),
            "engagement_pct": enrich["engagement_pct"].to_numpy(),
            "engagement_low": 100 * lo,
            "engagement_high": 100 * hi,
            "pct_with_data": (
                100 * enrich["with_engagement_data"] / enrich["offered_peer_support"]
            ).to_numpy(),
            "case_type": cls["case_type"].astype(str).to_numpy(),
        }
    )


def matrix_rows(rm: pd.DataFrame, em: pd.DataFrame) -> list[dict[str, Any]]:
    """Per RETAKE site ``n_reasons``/``n_mechanisms``; per ENRICH site the engagement with
    its interval and the share with data."""
    out = []
    for r in rm.itertuples(index=False):
        out += [
            row("matrix_retake", site_quantity("n_reasons", r.site), r.n_reasons),
            row("matrix_retake", site_quantity("n_mechanisms", r.site), r.n_mechanisms),
        ]
    for r in em.itertuples(index=False):
        q = site_quantity("engagement_pct", r.site)
        out += [
            row("matrix_enrich", q, r.engagement_pct, r.engagement_low, r.engagement_high),
            row("matrix_enrich", site_quantity("pct_with_data", r.site), r.pct_with_data),
        ]
    return out
