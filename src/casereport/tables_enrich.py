"""Display tables of the ENRICH limits analyses (influence both ways, the odds ratio under
five models, non-normal inference with Holm, missing-data bounds, the employer stratum and
the cut-off sweep), as DataFrames of formatted strings in the :mod:`casereport.format`
style; show them with :func:`casereport.tables.show`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from casereport import format as F
from casereport.labels import site_label
from casereport.tables import _cis, _val, ci, integer, num, pval


def influence(inf: Any, level: float) -> pd.DataFrame:
    """Per site: leverage, Cook's distance, DFBETA of the slope, slope without the site with
    its interval, externally studentised residual and its Bonferroni outlier p."""
    t = inf.table
    return pd.DataFrame(
        {
            "Site": [site_label(s) for s in t["site"]],
            "Leverage": [num(v, 3) for v in t["leverage"]],
            "Cook's D": [num(v, 3) for v in t["cooks_d"]],
            "DFBETA (slope)": [num(v) for v in t["slope_change"]],
            "Slope without site": [num(v) for v in t["slope_without"]],
            f"{F.percent_level(level)} CI": _cis(t["loo_ci_low"], t["loo_ci_high"]),
            "Stud. residual": [num(v) for v in t["student_resid"]],
            "Bonferroni p": [pval(v) for v in t["bonf_p"]],
        }
    )


def odds_ratio_models(models: pd.DataFrame, level: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": models["model"],
            "Odds ratio per fidelity point": [num(v) for v in models["estimate"]],
            f"{F.percent_level(level)} CI": _cis(models["ci_low"], models["ci_high"]),
            "p": [pval(v) for v in models["p_value"]],
            "Sites": [integer(v) for v in models["n"]],
        }
    )


_HOLM_LABELS = {
    "pearson_r": "Pearson's r (exact permutation p)",
    "spearman_rho": "Spearman's rho (exact permutation p)",
    "kendall_tau": "Kendall's tau",
    "ols_slope": "OLS slope (t)",
    "permutation_slope": "OLS slope (exact permutation)",
    "odds_ratio_binomial": "Odds ratio, binomial GLM",
    "odds_ratio_quasi_binomial": "Odds ratio, quasi-binomial GLM",
    "odds_ratio_beta_binomial": "Odds ratio, beta-binomial",
    "odds_ratio_random_intercept": "Odds ratio, random intercept",
    "odds_ratio_meta_regression": "Odds ratio, meta-regression",
    "pearson_r_within": "Pearson's r within the stratum",
}


def nonnormal(rows: pd.DataFrame, holm: pd.DataFrame, level: float) -> pd.DataFrame:
    """Every ENRICH estimand with its interval, raw p and Holm-adjusted p."""
    out = []
    for r in holm.itertuples(index=False):
        v = _val(rows, r.analysis, r.quantity)
        digits = 3 if "r" in r.quantity.split("_") or r.quantity.endswith(("tau", "rho")) else 2
        out.append(
            {
                "Estimand": _HOLM_LABELS.get(r.quantity, r.quantity.replace("_", " ")),
                "Estimate": num(v.estimate, digits),
                f"{F.percent_level(level)} CI": ci(v.ci_low, v.ci_high, digits),
                "p": pval(r.p_value),
                "Holm p": pval(r.p_holm),
            }
        )
    ts = _val(rows, "enrich_nonnormal", "theil_sen_slope")
    out.append(
        {
            "Estimand": "Theil–Sen slope (Sen interval; p of Kendall's tau)",
            "Estimate": num(ts.estimate),
            f"{F.percent_level(level)} CI": ci(ts.ci_low, ts.ci_high),
            "p": pval(ts.p_value),
            "Holm p": F.DASH,
        }
    )
    return pd.DataFrame(out)


def missing(bounds: Any, df: pd.DataFrame) -> pd.DataFrame:
    """Per site: engaged / with data / offered, observed %, and the bounds over those
    offered peer support."""
    t = bounds.table.set_index("site")
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
            "Bounds over offered (%)": _cis(100 * t["lower"], 100 * t["upper"], 1),
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


def stratum(st: Mapping[str, Any], by: str, value: str, level: float) -> pd.DataFrame:
    e = st["estimate"]
    x = e.extra
    lv = F.percent_level(level)
    return pd.DataFrame(
        [
            {
                "Sites": f"{by} = {value} ({e.n} sites)",
                "Estimand": "Pearson's r (exact permutation p)",
                "Estimate": num(e.estimate, 3),
                f"{lv} CI": ci(e.ci_low, e.ci_high, 3),
                "p": pval(e.p_value),
            },
            {
                "Sites": f"{by} = {value} ({e.n} sites)",
                "Estimand": "OLS slope (t)",
                "Estimate": num(x["slope"]),
                f"{lv} CI": ci(x["slope_ci_low"], x["slope_ci_high"]),
                "p": pval(x["slope_p"]),
            },
        ]
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
