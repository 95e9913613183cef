"""ENRICH: what the engagement–fidelity association can and cannot show (issue 11).

Influence in both directions, the participant-weighted odds ratio under five models,
inference that does not lean on normality with a Holm adjustment, bounds for missing
engagement data, the association within one employer, and a sweep of the case-selection
cut-offs. Every site is named by the data; no site id is typed here. Each ``*_rows``
function returns tidy rows (:mod:`casereport.results`) for the notebook to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from casereport import stats
from casereport.results import label_row, row, site_quantity

X, Y = "fidelity_score", "engagement_pct"
K, M, N_OFFERED = "engaged", "with_engagement_data", "offered_peer_support"


# --- influence ------------------------------------------------------------------------


def influence(df: pd.DataFrame, level: float = 0.95) -> stats.InfluenceResult:
    """Deletion diagnostics of the unweighted OLS slope, both directions
    (:func:`casereport.stats.influence_both_ways`)."""
    return stats.influence_both_ways(df, Y, X, level=level)


def influence_rows(inf: stats.InfluenceResult) -> list[dict[str, Any]]:
    """``enrich_influence``: per site leverage, DFBETA of the slope (slope without the site
    − full slope), scaled DFBETAS, externally studentised residual (p = Bonferroni outlier
    p); which site's removal raises the slope most and which moves it most toward zero;
    how many leave-one-out intervals include zero. Cook's distance per site is written by
    :func:`casereport.analyses.enrich.association_rows`."""
    a, n, t = "enrich_influence", inf.n, inf.table
    out = []
    for r in t.itertuples(index=False):
        out += [
            row(a, site_quantity("leverage", r.site), r.leverage, n=n),
            row(a, site_quantity("dfbeta_slope", r.site), r.slope_change, n=n),
            row(a, site_quantity("dfbetas_slope", r.site), r.dfbetas, n=n),
            row(a, site_quantity("student_resid", r.site), r.student_resid, p_value=r.bonf_p, n=n),
        ]
    ti = t.set_index("site")
    for name, (site, b) in (("strengthens", inf.strengthens), ("weakens", inf.weakens)):
        lo, hi = ti.loc[site, ["loo_ci_low", "loo_ci_high"]]
        out.append(label_row(a, f"removal_{name}_site", site, n=n))
        out.append(row(a, f"removal_{name}_slope", b, lo, hi, n=n - 1))
    cook = t.loc[t["cooks_d"].idxmax()]
    lev = t.loc[t["leverage"].idxmax()]
    out += [
        label_row(a, "cooks_d_max_site", cook["site"], n=n),
        row(a, "cooks_d_max_slope_change", cook["slope_change"], n=n),
        label_row(a, "leverage_max_site", lev["site"], n=n),
        row(a, "leverage_max", lev["leverage"], n=n),
        row(a, "n_loo_ci_including_zero", inf.n_loo_including_zero, n=n),
        row(a, "min_bonferroni_p", t["bonf_p"].min(), p_value=t["bonf_p"].min(), n=n),
    ]
    return out


# --- the odds ratio under five models --------------------------------------------------

#: Model key (used in the quantity names) -> (reader-facing name, fit). One method per
#: column, never switched by the data: binomial GLM (statsmodels GLM, Wald z); quasi-binomial
#: GLM (Pearson scale always estimated, t on n - 2 df); beta-binomial and random-intercept
#: logistic (ML, statsmodels GenericLikelihoodModel; profile-likelihood interval and LR p,
#: because the Wald interval is too narrow on few sites); meta-regression of the site
#: log-odds (REML tau², Hartung–Knapp–Sidik–Jonkman interval).
OR_MODELS: dict[str, tuple[str, Any]] = {
    "binomial": (
        "Binomial GLM (Wald)",
        lambda d, level: stats.binomial_glm(d, K, M, X, level=level, dispersion_threshold=np.inf),
    ),
    "quasi_binomial": (
        "Quasi-binomial GLM (t)",
        lambda d, level: stats.binomial_glm(d, K, M, X, level=level, dispersion_threshold=-np.inf),
    ),
    "beta_binomial": (
        "Beta-binomial (ML, profile likelihood)",
        lambda d, level: stats.beta_binomial_regression(
            d, K, M, X, level=level, interval="profile"
        ),
    ),
    "random_intercept": (
        "Random-intercept logistic (ML, adaptive Gauss–Hermite, profile likelihood)",
        lambda d, level: stats.random_intercept_logistic(
            d, K, M, X, level=level, interval="profile"
        ),
    ),
    "meta_regression": (
        "Meta-regression of site log-odds (REML τ², HKSJ)",
        lambda d, level: stats.log_odds_meta_regression(d, K, M, X, level=level),
    ),
}


def odds_ratio_models(df: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per model of :data:`OR_MODELS`: ``key, model, estimate, ci_low, ci_high,
    p_value, n`` of the odds ratio of engagement per fidelity point."""
    rows = []
    for key, (name, fit) in OR_MODELS.items():
        r = fit(df, level)
        rows.append(
            {"key": key, "model": name}
            | {k: float(getattr(r, k)) for k in ("estimate", "ci_low", "ci_high", "p_value")}
            | {"n": int(r.n)}
        )
    return pd.DataFrame(rows)


def odds_ratio_rows(models: pd.DataFrame) -> list[dict[str, Any]]:
    """``enrich_or_models``: ``odds_ratio_<model>`` per model, and how many intervals
    exclude 1."""
    a = "enrich_or_models"
    out = [
        row(a, f"odds_ratio_{r.key}", r.estimate, r.ci_low, r.ci_high, r.p_value, r.n)
        for r in models.itertuples(index=False)
    ]
    excl = int(((models["ci_low"] > 1) | (models["ci_high"] < 1)).sum())
    out += [row(a, "n_models", len(models)), row(a, "n_models_ci_excluding_1", excl)]
    return out


# --- inference that does not lean on normality ------------------------------------------


#: Largest number of sites given Kendall's exact p: scipy's exact null distribution costs
#: about n³ (0.03 s at 300 sites, 1 s at 1,000, 10 s at 2,000), while the normal
#: approximation of Kendall's S is already close at 30 (Kendall & Gibbons 1990, Rank
#: Correlation Methods, ch. 4).
KENDALL_EXACT_MAX_SITES = 300


def nonnormal(df: pd.DataFrame, level: float = 0.95) -> dict[str, Any]:
    """Exact permutation-inverted interval of the OLS slope, Theil–Sen slope with Sen's
    interval, and Kendall's tau with its exact p. With ties, or more than
    :data:`KENDALL_EXACT_MAX_SITES` sites, the exact Kendall p is not used: tau and its p
    then come from scipy's asymptotic method (``kendall_note``)."""
    x, y = df[X], df[Y]
    out: dict[str, Any] = {"perm": stats.permutation_slope_interval(x, y, level=level)}
    try:
        if len(df) > KENDALL_EXACT_MAX_SITES:
            raise ValueError("too many sites for the exact Kendall p")
        out["theil_sen"] = stats.theil_sen(x, y, level=level)
        out["kendall"] = stats.kendall_exact(x, y)
        out["kendall_note"] = "exact"
    except ValueError:
        ts = sps.theilslopes(y, x, alpha=level)
        kt = sps.kendalltau(x, y, method="asymptotic")
        n = int(len(df))
        out["kendall"] = stats.Estimate("kendall tau", float(kt.statistic), p_value=kt.pvalue, n=n)
        out["theil_sen"] = stats.Estimate(
            "Theil-Sen slope", ts.slope, ts.low_slope, ts.high_slope, kt.pvalue, n
        )
        out["kendall_note"] = (
            "asymptotic (ties)" if len(df) <= KENDALL_EXACT_MAX_SITES
            else f"asymptotic (more than {KENDALL_EXACT_MAX_SITES} sites)"
        )
    return out


def nonnormal_rows(nn: Mapping[str, Any]) -> list[dict[str, Any]]:
    a = "enrich_nonnormal"
    p, ts, kt = nn["perm"], nn["theil_sen"], nn["kendall"]
    return [
        row(a, "permutation_slope", p.estimate, p.ci_low, p.ci_high, p.p_value, p.n),
        row(a, "theil_sen_slope", ts.estimate, ts.ci_low, ts.ci_high, ts.p_value, ts.n),
        row(a, "kendall_tau", kt.estimate, p_value=kt.p_value, n=kt.n),
        row(a, "kendall_exact", float(nn["kendall_note"] == "exact"), n=kt.n),
    ]


#: The ENRICH p-values adjusted together by Holm: (analysis, quantity) of the results.
HOLM_FAMILY = (
    ("enrich_association", "pearson_r"),
    ("enrich_association", "spearman_rho"),
    ("enrich_nonnormal", "kendall_tau"),
    ("enrich_association", "ols_slope"),
    ("enrich_nonnormal", "permutation_slope"),
    ("enrich_or_models", "odds_ratio_binomial"),
    ("enrich_or_models", "odds_ratio_quasi_binomial"),
    ("enrich_or_models", "odds_ratio_beta_binomial"),
    ("enrich_or_models", "odds_ratio_random_intercept"),
    ("enrich_or_models", "odds_ratio_meta_regression"),
    ("enrich_stratum", "pearson_r_within"),
)


def holm(results: pd.DataFrame) -> pd.DataFrame:
    """Holm adjustment (:func:`casereport.stats.holm`) of the p-values of
    :data:`HOLM_FAMILY` found in ``results``: ``analysis, quantity, p_value, p_holm``."""
    keyed = results.set_index(["analysis", "quantity"])
    fam = [k for k in HOLM_FAMILY if k in keyed.index and np.isfinite(keyed.loc[k, "p_value"])]
    p = [float(keyed.loc[k, "p_value"]) for k in fam]
    adj = stats.holm(p)
    return pd.DataFrame(
        {
            "analysis": [k[0] for k in fam],
            "quantity": [k[1] for k in fam],
            "p_value": p,
            "p_holm": adj["p_holm"].to_numpy(),
        }
    )


def holm_rows(h: pd.DataFrame, alpha: float = 0.05) -> list[dict[str, Any]]:
    """``enrich_holm``: each Holm-adjusted p, the family size, how many raw and adjusted
    p-values fall below ``alpha``, and the smallest adjusted p."""
    a, m = "enrich_holm", len(h)
    out = [row(a, f"holm_{r.quantity}", r.p_holm, p_value=r.p_holm, n=m) for r in h.itertuples()]
    out += [
        row(a, "n_tests", m),
        row(a, "alpha", alpha),
        row(a, "n_raw_below_alpha", int((h["p_value"] < alpha).sum()), n=m),
        row(a, "n_holm_below_alpha", int((h["p_holm"] < alpha).sum()), n=m),
        row(a, "min_holm_p", h["p_holm"].min(), p_value=h["p_holm"].min(), n=m),
    ]
    return out


# --- missing engagement data ------------------------------------------------------------


def missing(df: pd.DataFrame, level: float = 0.95) -> dict[str, Any]:
    """Manski bounds (:func:`casereport.stats.missing_outcome_bounds`) of each site's
    engagement among those offered peer support, and the quasi-binomial odds ratio with
    the Methods denominator (offered) instead of Table 2's (with data)."""
    b = stats.missing_outcome_bounds(df, K, M, N_OFFERED, X)
    glm = stats.binomial_glm(df, K, N_OFFERED, X, level=level, dispersion_threshold=-np.inf)
    return {"bounds": b, "glm_offered": glm}


def missing_rows(mis: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``enrich_missing``: per site the lower (none without data engaged) and upper (all
    engaged) bound in %, and the share without data; the OLS slope (points per fidelity
    point) under each; the sharp bounds of the slope; the odds ratio with the offered
    denominator."""
    a, b, glm = "enrich_missing", mis["bounds"], mis["glm_offered"]
    t, n = b.table, len(b.table)
    out = []
    for r in t.itertuples(index=False):
        out += [
            row(a, site_quantity("engaged_lower", r.site), 100 * r.lower, n=n),
            row(a, site_quantity("engaged_upper", r.site), 100 * r.upper, n=n),
            row(a, site_quantity("missing_share", r.site), 100 * r.missing_share, n=n),
        ]
    assoc = b.association.reset_index(drop=True)
    for which in ("observed", "lower", "upper"):
        s = assoc[assoc["quantity"].str.startswith(f"slope of {which} ")].iloc[0]
        out.append(
            row(a, f"slope_{which}", 100 * s.estimate, 100 * s.ci_low, 100 * s.ci_high,
                s.p_value, s.n)
        )
    lo, hi = b.slope_bounds
    i = int(t["missing_share"].to_numpy().argmax())
    out += [
        row(a, "slope_bounds", float("nan"), 100 * lo, 100 * hi, n=n),
        row(a, "odds_ratio_offered", glm.estimate, glm.ci_low, glm.ci_high, glm.p_value, glm.n),
        label_row(a, "max_missing_site", t["site"].iloc[i], n=n),
        row(a, "max_missing_share", 100 * t["missing_share"].iloc[i], n=n),
    ]
    return out


# --- confounding by employer ------------------------------------------------------------


def stratum(df: pd.DataFrame, by: str, value: str, level: float = 0.95) -> dict[str, Any]:
    """The association within the sites where ``by`` equals ``value``
    (:func:`casereport.stats.within_stratum`), and how far the strata overlap on fidelity."""
    inside = df[by].astype(str) == str(value)
    est = stats.within_stratum(df.assign(**{by: df[by].astype(str)}), X, Y, by, str(value),
                               level=level)
    fin, fout = df.loc[inside, X], df.loc[~inside, X]
    return {
        "estimate": est,
        "n_outside": int((~inside).sum()),
        "fidelity_min_inside": float(fin.min()),
        "fidelity_max_outside": float(fout.max()) if len(fout) else float("nan"),
        "n_outside_in_inside_range": int(fout.between(fin.min(), fin.max()).sum()),
    }


def stratum_rows(st: Mapping[str, Any]) -> list[dict[str, Any]]:
    a, e = "enrich_stratum", st["estimate"]
    x = e.extra
    return [
        row(a, "pearson_r_within", e.estimate, e.ci_low, e.ci_high, e.p_value, e.n),
        row(a, "ols_slope_within", x["slope"], x["slope_ci_low"], x["slope_ci_high"],
            x["slope_p"], e.n),
        row(a, "n_sites_within", e.n),
        row(a, "n_sites_outside", st["n_outside"]),
        row(a, "fidelity_min_within", st["fidelity_min_inside"]),
        row(a, "fidelity_max_outside", st["fidelity_max_outside"]),
        row(a, "n_outside_within_fidelity_range", st["n_outside_in_inside_range"]),
    ]


# --- sweep of the case-selection cut-offs ----------------------------------------------


def cutoff_sweep(
    df: pd.DataFrame,
    cutoffs: Mapping[str, float],
    engagement_steps: Sequence[float],
    fidelity_steps: Sequence[float],
) -> pd.DataFrame:
    """Case selection with the engagement cut-offs shifted by each of ``engagement_steps``
    (fidelity cut-offs as given), then the fidelity cut-offs shifted by each of
    ``fidelity_steps``: one row per setting with ``shifted, step, cut-offs``, the sites of
    each case type (comma-separated ids) and ``same`` (selection as with no shift). A zero
    step is the notebook's own setting; it appears once (``shifted`` = "none")."""
    base = stats.classify_enrich(df, **cutoffs)
    rows, seen_zero = [], False
    for shifted, steps, keys in (
        ("engagement", engagement_steps, ("high_engagement", "low_engagement")),
        ("fidelity", fidelity_steps, ("high_fidelity", "low_fidelity")),
    ):
        for step in steps:
            if step == 0:
                if seen_zero:
                    continue
                seen_zero, shifted_as = True, "none"
            else:
                shifted_as = shifted
            c = dict(cutoffs) | {k: cutoffs[k] + step for k in keys}
            cls = stats.classify_enrich(df, **c)
            rec = {"shifted": shifted_as, "step": float(step)} | c
            for case in ("high-high", "low-low", "outlier"):
                rec[case] = ", ".join(cls.loc[cls["case_type"] == case, "site"].astype(str))
            rec["same"] = bool((cls["case_type"].to_numpy() == base["case_type"].to_numpy()).all())
            rows.append(rec)
    return pd.DataFrame(rows)


def cutoff_sweep_rows(sweep: pd.DataFrame) -> list[dict[str, Any]]:
    """``enrich_cutoff_sweep``: the number of sites of each case type per setting (in the
    table's order), and how many shifted settings keep the unshifted selection."""
    a, out = "enrich_cutoff_sweep", []
    for i, r in enumerate(sweep.to_dict("records"), start=1):
        cases = (("high-high", "high_high"), ("low-low", "low_low"), ("outlier", "outlier"))
        for case, key in cases:
            k = len([s for s in r[case].split(", ") if s])
            out.append(row(a, f"n_{key}_shift_{i}", k))
    moved = sweep[sweep["step"] != 0]
    out += [
        row(a, "n_shifts", len(moved)),
        row(a, "n_shifts_same_selection", int(moved["same"].sum()), n=len(moved)),
    ]
    return out
