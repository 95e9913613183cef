"""ENRICH engagement and fidelity: the analysis table, Table 2 reproduced, the association
of fidelity with engagement, leave-one-site-out refits and the case selection.

The engagement_fidelity notebook calls these; each ``*_rows`` function turns a result
into tidy rows (:mod:`casereport.primitives.results`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from casereport import stats
from casereport.analyses.engagement_fidelity import classify
from casereport.analyses.estimability import NotEstimable, needs, passes_through
from casereport.analyses.inputs import site_list
from casereport.primitives import labels
from casereport.primitives.results import class_rows, label_row, row, site_quantity
from casereport.primitives.rounding import round_half_up


def cutoffs(
    high_engagement: float, low_engagement: float, high_fidelity: float, low_fidelity: float
) -> dict[str, float]:
    """The case-selection cut-offs as one mapping (a trial's: its trial.yaml ``parameters``,
    passed to the notebook)."""
    return {
        "high_engagement": high_engagement,
        "low_engagement": low_engagement,
        "high_fidelity": high_fidelity,
        "low_fidelity": low_fidelity,
    }


def prepare(
    enrich: pd.DataFrame,
    exclude_sites: Any = (),
    engaged_from_published_pct: Any = (),
) -> pd.DataFrame:
    """The ENRICH table an analysis uses, with the sensitivity options applied.

    ``exclude_sites``: site ids dropped. ``engaged_from_published_pct``: site ids whose
    ``engaged`` count is replaced by the count the published percentage implies,
    round_half_up(pct_engaged x with_engagement_data / 100) (site 4: 41% of 17 -> 7, where
    the table prints 8). Unknown site ids raise ValueError. Adds ``engagement_pct``
    (100 x engaged / with_engagement_data).
    """
    df = enrich.copy()
    df["site"] = df["site"].astype(str)
    excl, derive = site_list(exclude_sites), site_list(engaged_from_published_pct)
    unknown = sorted(set(excl + derive) - set(df["site"]))
    if unknown:
        raise ValueError(f"site(s) {', '.join(unknown)} not in the ENRICH table")
    for s in derive:
        i = df.index[df["site"] == s]
        pct, m = df.loc[i, "pct_engaged"].iloc[0], df.loc[i, "with_engagement_data"].iloc[0]
        df.loc[i, "engaged"] = round_half_up(float(pct) * float(m) / 100)
    df = df[~df["site"].isin(excl)].reset_index(drop=True)
    df["engagement_pct"] = classify.engagement_percent(df["engaged"], df["with_engagement_data"])
    return df


def table2_rows(df: pd.DataFrame, level: float = 0.95) -> list[dict[str, Any]]:
    """Per-site recomputed and published percentages of the reproduced Table 2."""
    lo, hi = stats.clopper_pearson(df["engaged"], df["with_engagement_data"], level)
    out, mismatches = [], 0
    a = "enrich_table2"
    for i, r in enumerate(df.itertuples(index=False)):
        s = r.site
        pct_data = 100 * r.with_engagement_data / r.offered_peer_support
        mismatches += round_half_up(pct_data) != r.pct_with_engagement_data
        mismatches += round_half_up(r.engagement_pct) != r.pct_engaged
        out += [
            row(a, site_quantity("pct_with_data", s), pct_data, n=r.offered_peer_support),
            row(a, site_quantity("pct_with_data_published", s), r.pct_with_engagement_data),
            row(
                a,
                site_quantity("pct_engaged", s),
                r.engagement_pct,
                100 * lo[i],
                100 * hi[i],
                n=r.with_engagement_data,
            ),
            row(a, site_quantity("pct_engaged_published", s), r.pct_engaged),
            row(a, site_quantity("fidelity_score", s), r.fidelity_score),
        ]
    out += [row(a, "n_sites", len(df)), row(a, "n_pct_mismatches", mismatches, n=2 * len(df))]
    # the first site plotted at a recomputed engagement % that differs from the printed one
    pairs = zip(df["engagement_pct"], df["pct_engaged"], strict=False)
    diff = df[[round_half_up(v) != p for v, p in pairs]]
    out.append(row(a, "n_engaged_pct_plotted_recomputed", len(diff), n=len(df)))
    if len(diff):
        r = diff.iloc[0]
        out += [
            label_row(a, "plotted_recomputed_site", r["site"]),
            row(a, "plotted_recomputed_pct", r["engagement_pct"]),
            row(a, "plotted_recomputed_published_pct", r["pct_engaged"]),
        ]
    return out


@needs("enrich_association", 3, varying=("fidelity_score",))
def association(df: pd.DataFrame, level: float = 0.95, seed: int | None = None) -> dict:
    """Pearson and Spearman (permutation p), unweighted OLS and the binomial GLM."""
    x, y = df["fidelity_score"], df["engagement_pct"]
    return {
        "pearson": stats.permutation_correlation(x, y, "pearson", seed=seed),
        "spearman": stats.permutation_correlation(x, y, "spearman", seed=seed),
        "ols": stats.site_ols(df, "engagement_pct", "fidelity_score", level=level),
        # quasi-binomial in every parameter set (scale floored at one), never switched by
        # the dispersion: the same rule as the leave-one-out and five-model tables
        "glm": stats.binomial_glm(
            df, "engaged", "with_engagement_data", "fidelity_score", level=level,
            dispersion_threshold=-np.inf,
        ),
    }


@passes_through
def association_rows(assoc: dict) -> list[dict[str, Any]]:
    """Rows of ``enrich_association`` (the models table) and ``enrich_influence``."""
    a = "enrich_association"
    pr, sp, ols, glm = assoc["pearson"], assoc["spearman"], assoc["ols"], assoc["glm"]
    out = [
        row(a, "pearson_r", pr.statistic, pr.ci_low, pr.ci_high, pr.p_value, pr.n),
        row(a, "spearman_rho", sp.statistic, p_value=sp.p_value, n=sp.n),
        row(a, "ols_slope", ols.slope, ols.ci_low, ols.ci_high, ols.p_value, ols.n),
        row(a, "ols_intercept", ols.intercept, *ols.intercept_ci, n=ols.n),
        row(a, "ols_r_squared", ols.r_squared, n=ols.n),
        row(a, "glm_odds_ratio", glm.estimate, glm.ci_low, glm.ci_high, glm.p_value, glm.n),
        row(a, "glm_dispersion", glm.dispersion, p_value=glm.gof_p, n=glm.n),
        row(a, "glm_quasi", float(glm.quasi), n=glm.n),
    ]
    inf = ols.influence
    i = int(inf["cooks_d"].to_numpy(float).argmax())
    out.append(row(a, "cooks_d_max", inf["cooks_d"].iloc[i], n=ols.n))
    for r in inf.itertuples(index=False):
        out.append(row("enrich_influence", site_quantity("cooks_d", r.site), r.cooks_d, n=ols.n))
    return out


def ols_fit(assoc: dict | NotEstimable) -> Any:
    """The unweighted OLS fit of :func:`association`, or None when it was not estimable
    (the scatter then shows the sites without a line)."""
    return None if isinstance(assoc, NotEstimable) else assoc["ols"]


# Leave-one-out GLM refits cost one fit per site (quadratic in the number of sites); above
# this size the GLM columns are left empty and the OLS and Pearson deletions (exact O(n)
# formulas) stand alone.
LOO_GLM_MAX_SITES = 200


@needs("enrich_loo", 4, varying=("fidelity_score",))  # three sites must remain in each refit
def leave_one_out(df: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Leave-one-site-out: OLS slope, GLM odds ratio and Pearson r without each site, plus
    each site's Cook's distance in the full OLS fit. One row per omitted site."""
    ols = stats.ols_leave_one_out(df, "engagement_pct", "fidelity_score", level=level)
    cooks = stats.site_ols(df, "engagement_pct", "fidelity_score").influence
    out = pd.DataFrame({"site": ols["omitted"].astype(str)})
    for col in ["estimate", "ci_low", "ci_high", "change", "n"]:
        out[f"ols_{col}"] = ols[col].to_numpy()
    if len(df) <= LOO_GLM_MAX_SITES:
        glm = stats.leave_one_out(
            df,
            # one method in every row: always quasi-binomial (never switched by dispersion)
            lambda d: stats.binomial_glm(
                d, "engaged", "with_engagement_data", "fidelity_score", level=level,
                dispersion_threshold=-np.inf,
            ),
        )
        glm = glm.set_index(glm["omitted"].astype(str)).reindex(out["site"])
        for col in ["estimate", "ci_low", "ci_high", "change"]:
            out[f"glm_{col}"] = glm[col].to_numpy()
    else:
        for col in ["estimate", "ci_low", "ci_high", "change"]:
            out[f"glm_{col}"] = np.nan
    r = pd.Series(
        stats.pearson_without_each(df["fidelity_score"], df["engagement_pct"]),
        index=df["site"].astype(str).to_numpy(),
    )
    out["pearson_r"] = r.reindex(out["site"]).to_numpy()
    out["cooks_d"] = cooks.set_index("site")["cooks_d"].reindex(out["site"]).to_numpy()
    return out


@passes_through
def leave_one_out_rows(loo: pd.DataFrame) -> list[dict[str, Any]]:
    """Per omitted site: the OLS slope and GLM odds ratio (with intervals) and Pearson r."""
    a, out = "enrich_loo", []
    refits = (("ols_slope_without", "ols"), ("glm_odds_ratio_without", "glm"))
    for r in loo.itertuples(index=False):
        for name, m in refits:
            est, lo, hi = (getattr(r, f"{m}_{k}") for k in ("estimate", "ci_low", "ci_high"))
            out.append(row(a, site_quantity(name, r.site), est, lo, hi, n=r.ols_n))
        out.append(row(a, site_quantity("pearson_r_without", r.site), r.pearson_r, n=r.ols_n))
    return out


def cases(df: pd.DataFrame, cutoffs: Mapping[str, float]) -> pd.DataFrame:
    """Case classification (``site, engagement_pct, fidelity, case_type, selected``) plus
    ``employer`` and ``location``."""
    cls = classify.classify_sites(df, **cutoffs)
    cls["employer"] = df["employer"].to_numpy()
    cls["location"] = df["location"].to_numpy()
    return cls


def cases_rows(cls: pd.DataFrame, cutoffs: Mapping[str, float]) -> list[dict[str, Any]]:
    a = "enrich_cases"
    out = class_rows(a, cls["site"], cls["case_type"], labels.CASE_TYPES)
    out += [row(a, f"cutoff_{k}", v) for k, v in cutoffs.items()]
    return out
