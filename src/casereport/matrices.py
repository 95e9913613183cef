"""Display tables: Craven 2021 Table 1, RETAKE reason ratios, theory map, cross-case.

Table 1 of Craven 2021, the RETAKE reasons described by two ratios, the reason-to-programme-theory
mapping (element x site matrix and the list with its supporting sentences) and the two
cross-case matrices, as Markdown-ready DataFrames (numbers via :mod:`casereport.format`)."""

from __future__ import annotations

import pandas as pd

from casereport import format as F
from casereport.format import DASH
from casereport.labels import (
    CASE_LABELS,
    FACTOR_SHORT,
    MAPPING_BASIS,
    factor_label,
    sentence_case,
    site_label,
)


def _num(x, digits: int = 2) -> str:
    return F.number(x, digits, DASH)


def retake_reason_ratios(ratios: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """Per listed reason, over all sites and then among the sites that received more than
    expected: sites with / without it, the mean site rates and their ratio, the pooled rates
    and their ratio (minutes per month; :func:`casereport.analyses.retake.reason_ratios`).
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
                        f"{_num(r.mean_rate_present, 1)} / {_num(r.mean_rate_absent, 1)}"
                    ),
                    "Ratio of mean site rates": _num(r.ratio_mean_rates),
                    "Pooled rate, with / without": (
                        f"{_num(r.pooled_rate_present, 1)} / {_num(r.pooled_rate_absent, 1)}"
                    ),
                    "Ratio of pooled rates": _num(r.ratio_pooled_rates),
                }
            )
        return out

    n_all, n_more = int(ratios["n"].max()), int(more["n"].max())
    rows = one(ratios, f"All ({n_all})") + one(more, f"Above expected ({n_more})")
    return pd.DataFrame(rows)


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
            "Min per month": [_num(v, 0) for v in rm["mpm"]],
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
            "Fidelity": [_num(v, 1) for v in em["fidelity"]],
            "Engaged (%)": [_num(v, 0) for v in em["engagement_pct"]],
            f"{pct} CI": [
                F.interval(a, b, 0)
                for a, b in zip(em["engagement_low"], em["engagement_high"], strict=True)
            ],
            "With data (%)": [_num(v, 0) for v in em["pct_with_data"]],
            "Case type": [CASE_LABELS.get(c, c) for c in em["case_type"]],
        }
    )


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
