"""Display tables of the cross-case comparison: QCA truth tables, calibration sweeps,
necessity and minimisation, the programme theory, the reason-to-theory mapping (matrix and
list), the two cross-case matrices and the synthesis, as DataFrames of formatted strings."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from casereport import stats
from casereport.analyses.estimability import passes_through
from casereport.display.tables import integer, num
from casereport.primitives import format as F
from casereport.primitives.format import DASH
from casereport.primitives.labels import (
    CASE_LABELS,
    FACTOR_SHORT,
    MAPPING_BASIS,
    factor_label,
    sentence_case,
    site_label,
)


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


def theory_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """Element x site with P (the paper links the reason to the element) or J (the
    report's judgement); a site column per RETAKE site."""
    out = pd.DataFrame({"Programme-theory element": list(matrix.index)})
    for s in matrix.columns:
        out[str(s)] = [MAPPING_BASIS.get(v, "") for v in matrix[s]]
    return out


def mapping_list(reason_map: pd.DataFrame) -> pd.DataFrame:
    """Each mapping: reason, element, basis and the sentence of the paper that supports it."""
    reason = [
        "Site 2: less mentoring" if str(r).startswith("site2") else sentence_case(factor_label(r))
        for r in reason_map["reason"]
    ]
    return pd.DataFrame(
        {
            "Reason": reason,
            "Element": [f"{t} ({str(d)[:1]})" for d, t in
                        zip(reason_map["domain"], reason_map["theme"], strict=True)],
            "Basis": [MAPPING_BASIS.get(str(b), str(b)) for b in reason_map["basis"]],
            "Supporting sentence (source)": [
                f"“{s}” ({f})" for s, f in
                zip(reason_map["supporting_sentence"], reason_map["source_file"], strict=True)
            ],
        }
    )


def retake_matrix(rm: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """RETAKE cross-case matrix: one row per site."""
    out = pd.DataFrame(
        {
            "Site": [site_label(s) for s in rm["site"]],
            "Min per month": [num(v, 0) for v in rm["mpm"]],
            "Group": list(rm["group"]),  # less / close / more (the caption says against what)
        }
    )
    for f in factors:
        out[FACTOR_SHORT.get(f, f)] = ["yes" if v else "" for v in rm[f]]
    out["Reasons"] = rm["n_reasons"].astype(int).astype(str).to_numpy()
    out["Mechanisms (J: judgement)"] = [
        "; ".join(f"{e}{' (J)' if b == 'judgement' else ''}" for e, b in mech) or DASH
        for mech in rm["mechanisms"]
    ]
    return out


def enrich_matrix(em: pd.DataFrame, level: float) -> pd.DataFrame:
    """ENRICH cross-case matrix: one row per site."""
    pct = F.percent_level(level)
    return pd.DataFrame(
        {
            "Site": [site_label(s) for s in em["site"]],
            "Employer": em["employer"].to_numpy(),
            "Location": em["location"].to_numpy(),
            "Fidelity": [num(v, 1) for v in em["fidelity"]],
            "Engaged (%)": [num(v, 0) for v in em["engagement_pct"]],
            f"{pct} CI": [
                F.interval(a, b, 0)
                for a, b in zip(em["engagement_low"], em["engagement_high"], strict=True)
            ],
            "With data (%)": [num(v, 0) for v in em["pct_with_data"]],
            "Case type": [CASE_LABELS.get(c, c) for c in em["case_type"]],
        }
    )


def qca_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Engagement threshold sweep of the ENRICH QCA: outcome cases, necessity consistency of
    each condition and the best sufficiency consistency of an observed configuration."""
    return pd.DataFrame(
        {
            "Engagement threshold (%)": [num(v, 1) for v in sweep["threshold"]],
            "Sites with outcome": [integer(v) for v in sweep["n_outcome"]],
            "Necessity: NHS": [num(v) for v in sweep["nec_nhs"]],
            "Necessity: urban": [num(v) for v in sweep["nec_urban"]],
            "Necessity: high fidelity": [num(v) for v in sweep["nec_high_fidelity"]],
            "Best sufficiency consistency": [num(v) for v in sweep["max_suff_incl"]],
        }
    )


def qca_necessity(nec: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The necessity table: each condition and its negation (``names`` maps condition
    columns to labels), the sites in it, consistency, coverage and relevance of necessity."""
    def label(c: str) -> str:
        return ("NOT " if c.startswith("~") else "") + names.get(c.lstrip("~"), c)

    return pd.DataFrame(
        {
            "Condition": [label(c) for c in nec["condition"]],
            "Sites in the set": [integer(v) for v in nec["n_in_set"]],
            "Consistency": [num(v) for v in nec["incl"]],
            "Coverage": [num(v) for v in nec["cov"]],
            "Relevance (RoN)": [num(v) for v in nec["RoN"]],
        }
    )


def _expression(expr: str, names: Mapping[str, str]) -> str:
    """"a*~b + c" with condition names replaced by their labels: "A AND NOT B OR C"."""
    if expr == "no sufficient row":
        return expr
    terms = []
    for term in expr.split(" + "):
        lits = [("NOT " if lit.startswith("~") else "") + names.get(lit.lstrip("~"), lit)
                for lit in term.split("*")]  # fmt: skip
        terms.append(" AND ".join(lits))
    return " OR ".join(terms)


def qca_minimisation(m: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The minimisation table; ``names`` maps condition columns to reader-facing labels."""
    return pd.DataFrame(
        {
            "Outcome": m["outcome"],
            "Solution": m["solution"],
            "Expression": [_expression(e, names) for e in m["expression"]],
            "Consistency": [num(v) for v in m["incl"]],
            "Coverage": [num(v) for v in m["cov"]],
            "Diversity": [num(v) for v in m["diversity"]],
        }
    )
