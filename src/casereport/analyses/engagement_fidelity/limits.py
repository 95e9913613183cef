"""ENRICH: what the engagement–fidelity association can and cannot show (issue 11).

Influence in both directions, the participant-weighted odds ratio under five models,
inference that does not lean on normality, bounds for missing
engagement data, the association within one employer, and a sweep of the case-selection
cut-offs. Every site is named by the data; no site id is typed here. Each ``*_rows``
function returns tidy rows (:mod:`casereport.primitives.results`) for the notebook to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from casereport import stats
from casereport.analyses.engagement_fidelity import classify
from casereport.analyses.estimability import NotEstimable, needs, passes_through, shortfall
from casereport.primitives.results import label_row, row, site_quantity

X, Y = "fidelity_score", "engagement_pct"
K, M, N_OFFERED = "engaged", "with_engagement_data", "offered_peer_support"


# --- influence ------------------------------------------------------------------------


@needs("enrich_influence", 4, varying=(X,))  # deletion diagnostics refit on n - 1 >= 3
def influence(df: pd.DataFrame, level: float = 0.95) -> stats.InfluenceResult:
    """Deletion diagnostics of the unweighted OLS slope, both directions
    (:func:`casereport.stats.influence_both_ways`)."""
    return stats.influence_both_ways(df, Y, X, level=level)


@passes_through
def influence_rows(inf: stats.InfluenceResult) -> list[dict[str, Any]]:
    """``enrich_influence``: per site leverage, DFBETA of the slope (full slope − slope
    without the site, the standard sign), scaled DFBETAS, externally studentised residual
    (p = Bonferroni outlier p); which site's removal raises the slope most and which moves
    it most toward zero;
    how many leave-one-out intervals include zero. Cook's distance per site is written by
    :func:`casereport.analyses.engagement_fidelity.analysis.association_rows`."""
    a, n, t = "enrich_influence", inf.n, inf.table
    out = []
    for r in t.itertuples(index=False):
        out += [
            row(a, site_quantity("leverage", r.site), r.leverage, n=n),
            row(a, site_quantity("dfbeta_slope", r.site), r.dfbeta, n=n),
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
        row(a, "cooks_d_max_dfbeta", cook["dfbeta"], n=n),
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


@needs("enrich_or_models", 3, varying=(X,))
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


@passes_through
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


@needs("enrich_nonnormal", 3, varying=(X,))
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


@passes_through
def nonnormal_rows(nn: Mapping[str, Any]) -> list[dict[str, Any]]:
    a = "enrich_nonnormal"
    p, ts, kt = nn["perm"], nn["theil_sen"], nn["kendall"]
    return [
        row(a, "permutation_slope", p.estimate, p.ci_low, p.ci_high, p.p_value, p.n),
        row(a, "theil_sen_slope", ts.estimate, ts.ci_low, ts.ci_high, ts.p_value, ts.n),
        row(a, "kendall_tau", kt.estimate, p_value=kt.p_value, n=kt.n),
        row(a, "kendall_exact", float(nn["kendall_note"] == "exact"), n=kt.n),
    ]


# --- missing engagement data ------------------------------------------------------------


@needs("enrich_missing", 3, varying=(X,))
def missing(df: pd.DataFrame, level: float = 0.95) -> dict[str, Any]:
    """Manski bounds (:func:`casereport.stats.missing_outcome_bounds`) of each site's
    engagement among those offered peer support, and the quasi-binomial odds ratio with
    the Methods denominator (offered) instead of Table 2's (with data)."""
    b = stats.missing_outcome_bounds(df, K, M, N_OFFERED, X)
    glm = stats.binomial_glm(df, K, N_OFFERED, X, level=level, dispersion_threshold=-np.inf)
    return {"bounds": b, "glm_offered": glm, "counts": df[["site", M, N_OFFERED]]}


@passes_through
def missing_rows(mis: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``enrich_missing``: per site the lower (none without data engaged) and upper (all
    engaged) bound in %, and the share without data; the OLS slope (points per fidelity
    point) under each; the sharp bounds of the slope, and those bounds widened by sampling
    error (``slope_bounds_ci``); the odds ratio with the offered denominator."""
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
        row(a, "slope_bounds_ci", float("nan"), *(100 * v for v in b.slope_bounds_ci), n=n),
        row(a, "odds_ratio_offered", glm.estimate, glm.ci_low, glm.ci_high, glm.p_value, glm.n),
        label_row(a, "max_missing_site", t["site"].iloc[i], n=n),
        row(a, "max_missing_share", 100 * t["missing_share"].iloc[i], n=n),
    ]
    return out + denominator_rows(t, mis["counts"])


def denominator_rows(t: pd.DataFrame, counts: pd.DataFrame) -> list[dict[str, Any]]:
    """The denominators behind the missing-data shares: at the site with the largest share,
    ``max_missing_n`` participants offered peer support without engagement data out of
    ``max_missing_offered`` offered; ``n_zero_width`` sites whose bounds have zero width
    (everyone offered has data) and their ids, the label ``zero_width_sites``."""
    a = "enrich_missing"
    c = counts.assign(site=counts["site"].astype(str)).set_index("site")
    site = str(t["site"].iloc[int(t["missing_share"].to_numpy().argmax())])
    offered = int(c.at[site, N_OFFERED])
    zero = [str(s) for s, lo, hi in zip(t["site"], t["lower"], t["upper"], strict=True)
            if np.isclose(lo, hi)]  # fmt: skip
    return [
        row(a, "max_missing_n", offered - int(c.at[site, M]), n=offered),
        row(a, "max_missing_offered", offered),
        row(a, "n_zero_width", len(zero), n=len(t)),
        label_row(a, "zero_width_sites", ", ".join(zero) if zero else "none", n=len(t)),
    ]


# --- confounding by employer ------------------------------------------------------------


def stratum(
    df: pd.DataFrame, by: str, value: str, level: float = 0.95
) -> dict[str, Any] | NotEstimable:
    """The association within the sites where ``by`` equals ``value``
    (:func:`casereport.stats.within_stratum`), how far the strata overlap on fidelity, the
    slope across all sites adjusted for ``by`` (:func:`casereport.stats.adjusted_slope`), and
    what one site does within the stratum: the correlation without the site whose removal
    moves it most, with its exact permutation p, beside the smallest p an exact test can
    give on the remaining sites' fidelity scores (their y perfectly ordered with x)."""
    d = df.assign(**{by: df[by].astype(str)})
    inside = d[by] == str(value)
    reason = shortfall(d.loc[inside], 3, varying=(X,), whose="the stratum")
    if reason:
        return NotEstimable("enrich_stratum", f"within {by} = {value}: {reason}")
    est = stats.within_stratum(d, X, Y, by, str(value), level=level)
    fin, fout = d.loc[inside, X], d.loc[~inside, X]
    out = {
        "estimate": est,
        "n_outside": int((~inside).sum()),
        "fidelity_min_inside": float(fin.min()),
        "fidelity_max_inside": float(fin.max()),
        "fidelity_max_outside": float(fout.max()) if len(fout) else float("nan"),
        "n_outside_in_inside_range": int(fout.between(fin.min(), fin.max()).sum()),
        "adjusted": None,
        "without": None,
    }
    if d[by].nunique() > 1:
        try:
            out["adjusted"] = stats.adjusted_slope(d, Y, X, by, level=level)
        except ValueError:
            pass  # not estimable (too few sites, or fidelity constant within the groups)
    sub = d.loc[inside].dropna(subset=[X, Y]).reset_index(drop=True)
    if len(sub) >= 4:  # three sites must remain for a correlation
        r_without = stats.pearson_without_each(sub[X], sub[Y])
        i = int(np.nanargmax(np.abs(r_without - est.estimate)))
        rest = sub.drop(index=i)
        pc = stats.permutation_correlation(rest[X], rest[Y], level=level)
        floor = stats.permutation_correlation(rest[X], rest[X], level=level)
        out["without"] = {"site": str(sub.loc[i, "site"]), "r": pc, "min_p": floor.p_value}
    return out


@passes_through
def stratum_rows(st: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``enrich_stratum``: the correlation and slope within the stratum, its size and
    fidelity range beside the other sites', the slope adjusted for the stratifying column,
    and the within-stratum correlation without its most influential site with the smallest
    attainable p (NaN rows where not estimable)."""
    a, e = "enrich_stratum", st["estimate"]
    x = e.extra
    out = [
        row(a, "pearson_r_within", e.estimate, e.ci_low, e.ci_high, e.p_value, e.n),
        row(a, "ols_slope_within", x["slope"], x["slope_ci_low"], x["slope_ci_high"],
            x["slope_p"], e.n),
        row(a, "n_sites_within", e.n),
        row(a, "n_sites_outside", st["n_outside"]),
        row(a, "fidelity_min_within", st["fidelity_min_inside"]),
        row(a, "fidelity_max_within", st["fidelity_max_inside"]),
        row(a, "fidelity_max_outside", st["fidelity_max_outside"]),
        row(a, "n_outside_within_fidelity_range", st["n_outside_in_inside_range"]),
    ]
    adj = st["adjusted"]
    out.append(row(a, "ols_slope_adjusted", *(
        (adj.estimate, adj.ci_low, adj.ci_high, adj.p_value, adj.n) if adj else (np.nan,)
    )))
    w = st["without"]
    if w:
        r = w["r"]
        out += [
            label_row(a, "within_influential_site", w["site"], n=e.n),
            row(a, "pearson_r_within_without", r.statistic, r.ci_low, r.ci_high, r.p_value,
                r.n),
            row(a, "min_attainable_p_without", w["min_p"], p_value=w["min_p"], n=r.n),
        ]
    else:  # fewer than 4 sites within: no correlation is left without one of them
        out += [row(a, q, np.nan, n=e.n) for q in (
            "within_influential_site", "pearson_r_within_without", "min_attainable_p_without")]
    return out


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
    base = classify.classify_sites(df, **cutoffs)
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
            cls = classify.classify_sites(df, **c)
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
