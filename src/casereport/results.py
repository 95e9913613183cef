"""Tidy results: every estimate a notebook displays, one row each, written as CSV.

Columns (docs/architecture.md, "Results quantities"):
``analysis, quantity, estimate, ci_low, ci_high, p_value, n, parameter_set``.

Notebooks collect rows with :class:`Results` (or plain dicts / DataFrames) and end
with :func:`write_results`, which writes ``<results_dir>/<name>.csv`` atomically
(temporary file in the same folder, then ``os.replace``), so a reader never sees
half a file and a failed run never leaves a stale partial one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from casereport import atomic, paths

COLUMNS: list[str] = [
    "analysis",
    "quantity",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "parameter_set",
]
_FLOAT_COLUMNS = ["estimate", "ci_low", "ci_high", "p_value"]


def slug(value: Any) -> str:
    """A site id (or other label) as a lower-case identifier fragment: ``"3"`` -> ``"3"``,
    ``"North East"`` -> ``"north_east"``. Used in per-site quantity names."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower()
    return s or "x"


def site_quantity(quantity: str, site: Any) -> str:
    """Per-site quantity name: ``site_quantity("pct_engaged", "3")`` -> ``"pct_engaged_site_3"``."""
    return f"{quantity}_site_{slug(site)}"


def _num(value: Any) -> float:
    """Float or NaN (None, pd.NA and non-finite values become NaN)."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def row(
    analysis: str,
    quantity: str,
    estimate: Any,
    ci_low: Any = None,
    ci_high: Any = None,
    p_value: Any = None,
    n: Any = None,
) -> dict[str, Any]:
    """One tidy result row (without ``parameter_set``, which :func:`write_results` adds)."""
    n_val = None if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)) else int(n)
    return {
        "analysis": analysis,
        "quantity": quantity,
        "estimate": _num(estimate),
        "ci_low": _num(ci_low),
        "ci_high": _num(ci_high),
        "p_value": _num(p_value),
        "n": n_val,
    }


class Results:
    """Collects rows in display order: ``res.add(...)``, ``res.extend(frame)``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, analysis: str, quantity: str, estimate: Any, **kw: Any) -> None:
        self.rows.append(row(analysis, quantity, estimate, **kw))

    def extend(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        self.rows.extend(_records(rows))

    def frame(self, parameter_set: str = "") -> pd.DataFrame:
        return to_frame(self.rows, parameter_set)

    def __len__(self) -> int:
        return len(self.rows)


def _records(rows: Any) -> list[dict[str, Any]]:
    if isinstance(rows, Results):
        return list(rows.rows)
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    return [dict(r) for r in rows]


def to_frame(rows: Any, parameter_set: str = "", unique: bool = True) -> pd.DataFrame:
    """Rows (Results, DataFrame or dicts) as a tidy frame with exactly :data:`COLUMNS`.

    ``parameter_set`` fills rows that do not carry one; ``unique`` rejects a repeated
    ``(analysis, quantity, parameter_set)``.
    """
    recs = _records(rows)
    df = pd.DataFrame(recs, columns=COLUMNS) if recs else pd.DataFrame(columns=COLUMNS)
    missing = df["analysis"].isna() | df["quantity"].isna()
    if missing.any():
        raise ValueError("every result row needs an analysis and a quantity")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["n"] = pd.to_numeric(df["n"], errors="coerce").round().astype("Int64")
    df["analysis"] = df["analysis"].astype(str)
    df["quantity"] = df["quantity"].astype(str)
    ps = df["parameter_set"]
    df["parameter_set"] = ps.where(ps.notna() & (ps.astype(str) != ""), parameter_set).astype(str)
    dup = df.duplicated(["analysis", "quantity", "parameter_set"])
    if unique and dup.any():
        first = df.loc[dup, ["analysis", "quantity"]].iloc[0].tolist()
        raise ValueError(f"duplicate result row {first[0]}.{first[1]}")
    return df


def write_results(
    rows: Any,
    results_dir: str | os.PathLike[str],
    name: str,
    parameter_set: str | None = None,
) -> Path:
    """Write ``<results_dir>/<name>.csv`` atomically and return its path.

    ``results_dir`` is resolved with :func:`casereport.paths.resolve` (root-relative
    unless absolute). ``parameter_set`` defaults to the part of ``name`` after ``--``.
    """
    if parameter_set is None:
        parameter_set = name.split("--", 1)[1] if "--" in name else name
    df = to_frame(rows, parameter_set)
    out_dir = paths.resolve(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.csv"
    with atomic.replacing(target, newline="") as fh:
        df.to_csv(fh, index=False, float_format="%.10g", lineterminator="\n")
    return target


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one results CSV, or every ``*.csv`` in a folder, with the tidy dtypes."""
    p = paths.resolve(path)
    files = sorted(p.glob("*.csv")) if p.is_dir() else [p]
    files = [f for f in files if f.name != "all_results.csv"] if p.is_dir() else files
    frames = [
        pd.read_csv(f, dtype={"analysis": str, "quantity": str, "parameter_set": str})
        for f in files
    ]
    if not frames:
        return to_frame([])
    return to_frame(pd.concat(frames, ignore_index=True), unique=False)


def lookup(df: pd.DataFrame, analysis: str, quantity: str, column: str = "estimate") -> Any:
    """The single value of ``column`` for ``analysis.quantity`` (KeyError if absent)."""
    hit = df[(df["analysis"] == analysis) & (df["quantity"] == quantity)]
    if len(hit) != 1:
        raise KeyError(f"{analysis}.{quantity}: {len(hit)} rows")
    return hit.iloc[0][column]


# --------------------------------------------------------------------------------------
# Analysis inputs shared by the notebooks


def site_list(values: Any) -> list[str]:
    """Site ids from a parameter: a list, one id (``-p exclude_sites 2`` gives the int 2),
    a comma-separated string (``"2,4"``) or a YAML/JSON list string (``'["2"]'``)."""
    if values is None:
        return []
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("["):
            import yaml

            values = yaml.safe_load(text) or []
        else:
            values = [v for v in (t.strip() for t in text.split(",")) if v]
    elif not isinstance(values, list | tuple | set):
        values = [values]
    return [str(v) for v in values]


def prepare_enrich(
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
    from casereport.audit import round_half_up
    from casereport.stats import engagement_percent

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
    df["engagement_pct"] = engagement_percent(df["engaged"], df["with_engagement_data"])
    return df


def prepare_retake(retake: pd.DataFrame, factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """RETAKE table with recomputed ratios (``mpm`` minutes per month, ``ppo`` participants
    per OT, minutes per participant and per OT) and, if given, the wide 0/1 factors."""
    df = retake.copy()
    df["site"] = df["site"].astype(str)
    with_nan = {"divide": "ignore", "invalid": "ignore"}
    import numpy as np

    with np.errstate(**with_nan):
        df["mpm"] = df["mentoring_minutes"] / df["months_in_study"].replace(0, np.nan)
        df["ppo"] = df["participants"] / df["ots"].replace(0, np.nan)
        df["minutes_per_participant"] = df["mentoring_minutes"] / df["participants"].replace(
            0, np.nan
        )
        df["minutes_per_ot"] = df["mentoring_minutes"] / df["ots"].replace(0, np.nan)
    if factors is not None:
        from casereport.data import factors_wide

        wide = factors_wide(factors) if "factor" in factors.columns else factors
        wide = wide.assign(site=wide["site"].astype(str))
        df = df.merge(wide, on="site", how="left")
        for c in wide.columns.drop("site"):
            df[c] = df[c].fillna(0).astype("int64")
    return df


# --------------------------------------------------------------------------------------
# ENRICH (engagement_fidelity notebook)

CASE_TYPES = ["high-high", "low-low", "outlier", "other"]
MENTORING_GROUPS = ["less", "close", "more"]


def _key(label: str) -> str:
    """A class label as a quantity fragment: ``"high-high"`` -> ``"high_high"``."""
    return slug(label)


def enrich_table2_rows(df: pd.DataFrame, level: float = 0.95) -> list[dict[str, Any]]:
    """Per-site recomputed and published percentages of the reproduced Table 2."""
    from casereport.audit import round_half_up
    from casereport.stats import clopper_pearson

    lo, hi = clopper_pearson(df["engaged"], df["with_engagement_data"], level)
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
    return out


def enrich_association(df: pd.DataFrame, level: float = 0.95, seed: int | None = None) -> dict:
    """Pearson and Spearman (permutation p), unweighted OLS and the binomial GLM."""
    from casereport import stats

    x, y = df["fidelity_score"], df["engagement_pct"]
    return {
        "pearson": stats.permutation_correlation(x, y, "pearson", seed=seed),
        "spearman": stats.permutation_correlation(x, y, "spearman", seed=seed),
        "ols": stats.site_ols(df, "engagement_pct", "fidelity_score", level=level),
        "glm": stats.binomial_glm(
            df, "engaged", "with_engagement_data", "fidelity_score", level=level
        ),
    }


def enrich_association_rows(assoc: dict) -> list[dict[str, Any]]:
    """Rows of ``enrich_association`` (the models table) and ``enrich_influence``."""
    a = "enrich_association"
    pr, sp, ols, glm = assoc["pearson"], assoc["spearman"], assoc["ols"], assoc["glm"]
    out = [
        row(a, "pearson_r", pr.statistic, p_value=pr.p_value, n=pr.n),
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


def most_influential_site(assoc: dict) -> str:
    """Site with the largest Cook's distance in the unweighted OLS."""
    from casereport.stats import most_influential

    return most_influential(assoc["ols"].influence)[0]


# Leave-one-out GLM refits cost one fit per site (quadratic in the number of sites); above
# this size the GLM columns are left empty and the OLS and Pearson deletions (exact O(n)
# formulas) stand alone.
LOO_GLM_MAX_SITES = 200


def pearson_without_each(x: Any, y: Any) -> np.ndarray:
    """Pearson r with each site left out, all at once from the sums (O(n), no refits).

    Centring first keeps the sums of squares well conditioned; r is unchanged by it.
    """
    xv = np.asarray(x, dtype=float) - np.mean(x)
    yv = np.asarray(y, dtype=float) - np.mean(y)
    m = xv.size - 1
    sx, sy = -xv, -yv  # sums without site i (the full sums are 0 after centring)
    sxx, syy, sxy = (xv @ xv) - xv**2, (yv @ yv) - yv**2, (xv @ yv) - xv * yv
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m * sxy - sx * sy) / np.sqrt((m * sxx - sx**2) * (m * syy - sy**2))


def enrich_loo(df: pd.DataFrame, level: float = 0.95, seed: int | None = None) -> pd.DataFrame:
    """Leave-one-site-out: OLS slope, GLM odds ratio and Pearson r without each site, plus
    each site's Cook's distance in the full OLS fit. One row per omitted site.

    ``seed`` is accepted for a stable signature; nothing here is random."""
    from casereport import stats

    ols = stats.ols_leave_one_out(df, "engagement_pct", "fidelity_score", level=level)
    cooks = stats.site_ols(df, "engagement_pct", "fidelity_score").influence
    out = pd.DataFrame({"site": ols["omitted"].astype(str)})
    for col in ["estimate", "ci_low", "ci_high", "change", "n"]:
        out[f"ols_{col}"] = ols[col].to_numpy()
    if len(df) <= LOO_GLM_MAX_SITES:
        glm = stats.leave_one_out(
            df,
            lambda d: stats.binomial_glm(
                d, "engaged", "with_engagement_data", "fidelity_score", level=level
            ),
        )
        glm = glm.set_index(glm["omitted"].astype(str)).reindex(out["site"])
        for col in ["estimate", "ci_low", "ci_high", "change"]:
            out[f"glm_{col}"] = glm[col].to_numpy()
    else:
        for col in ["estimate", "ci_low", "ci_high", "change"]:
            out[f"glm_{col}"] = np.nan
    r = pd.Series(
        pearson_without_each(df["fidelity_score"], df["engagement_pct"]),
        index=df["site"].astype(str).to_numpy(),
    )
    out["pearson_r"] = r.reindex(out["site"]).to_numpy()
    out["cooks_d"] = cooks.set_index("site")["cooks_d"].reindex(out["site"]).to_numpy()
    return out


def enrich_loo_rows(loo: pd.DataFrame) -> list[dict[str, Any]]:
    a = "enrich_loo"
    out = []
    for r in loo.itertuples(index=False):
        out += [
            row(
                a,
                site_quantity("ols_slope_without", r.site),
                r.ols_estimate,
                r.ols_ci_low,
                r.ols_ci_high,
                n=r.ols_n,
            ),
            row(
                a,
                site_quantity("glm_odds_ratio_without", r.site),
                r.glm_estimate,
                r.glm_ci_low,
                r.glm_ci_high,
                n=r.ols_n,
            ),
            row(a, site_quantity("pearson_r_without", r.site), r.pearson_r, n=r.ols_n),
        ]
    return out


def enrich_cases(df: pd.DataFrame, cutoffs: Mapping[str, float]) -> pd.DataFrame:
    """Case classification (``site, engagement_pct, fidelity, case_type, selected``) plus
    ``employer`` and ``location``."""
    from casereport.stats import classify_enrich

    cls = classify_enrich(df, **cutoffs)
    cls["employer"] = df["employer"].to_numpy()
    cls["location"] = df["location"].to_numpy()
    return cls


def class_rows(
    analysis: str, sites: Iterable[Any], labels: Iterable[str], classes: list[str]
) -> list[dict[str, Any]]:
    """0/1 indicator per site and class (``high_high_site_3`` = 1) and a count per class."""
    sites, labels = [str(s) for s in sites], list(labels)
    out = [
        row(analysis, site_quantity(_key(c), s), float(lab == c))
        for s, lab in zip(sites, labels, strict=True)
        for c in classes
    ]
    out += [row(analysis, f"n_{_key(c)}", sum(lab == c for lab in labels)) for c in classes]
    return out


def enrich_cases_rows(cls: pd.DataFrame, cutoffs: Mapping[str, float]) -> list[dict[str, Any]]:
    a = "enrich_cases"
    out = class_rows(a, cls["site"], cls["case_type"], CASE_TYPES)
    out += [row(a, f"cutoff_{k}", v) for k, v in cutoffs.items()]
    return out


# --------------------------------------------------------------------------------------
# RETAKE (mentoring_time notebook)


def retake_groups(df: pd.DataFrame, expected: float, tolerance: float) -> list[str]:
    """``less`` / ``close`` / ``more`` per site from the recomputed minutes per month."""
    from casereport.stats import classify_mentoring

    return list(classify_mentoring(df["mpm"], expected=expected, tolerance=tolerance))


def retake_table3_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-site recomputed and published ratios of Table 3, and the totals row."""
    from casereport.audit import round_half_up

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


def retake_groups_rows(
    df: pd.DataFrame, groups: list[str], expected: float, tolerance: float
) -> list[dict[str, Any]]:
    a = "retake_groups"
    out = class_rows(a, df["site"], groups, MENTORING_GROUPS)
    out += [row(a, "expected_minutes_per_month", expected), row(a, "tolerance_minutes", tolerance)]
    return out


def retake_rates(
    df: pd.DataFrame, factors: list[str], level: float = 0.95, family: str = "quasipoisson"
) -> list:
    """One rate model per site factor: minutes with log(months) offset (RateResult list)."""
    from casereport.stats import rate_model

    return [
        rate_model(df, "mentoring_minutes", "months_in_study", f, level=level, family=family)
        for f in factors
    ]


def retake_rates_rows(rates: list) -> list[dict[str, Any]]:
    a, out = "retake_rates", []
    for r in rates:
        out += [
            row(a, f"rate_ratio_{r.factor}", r.estimate, r.ci_low, r.ci_high, r.p_value, r.n),
            row(a, f"dispersion_{r.factor}", r.dispersion, n=r.n),
            row(a, f"n_present_{r.factor}", r.n_present, n=r.n),
        ]
    return out


#: Rank correlations of minutes per month with these columns (quantity suffix, label).
RETAKE_CORRELATES = {"ppo": "participants_per_ot", "ots": "n_ots"}


def retake_correlations(df: pd.DataFrame, seed: int | None, n_resamples: int = 10_000) -> dict:
    """Spearman correlations of minutes per month with participants per OT and with the
    number of OTs; permutation p-values (Monte Carlo above 8 sites, fixed seed)."""
    from casereport.stats import permutation_correlation

    return {
        name: permutation_correlation(
            df[col], df["mpm"], "spearman", n_resamples=n_resamples, seed=seed
        )
        for col, name in RETAKE_CORRELATES.items()
    }


def retake_correlations_rows(cors: dict) -> list[dict[str, Any]]:
    return [
        row("retake_correlations", f"spearman_rho_{name}", r.statistic, p_value=r.p_value, n=r.n)
        for name, r in cors.items()
    ]


# --------------------------------------------------------------------------------------
# Cross-case comparison


def qca_rows(analysis: str, tt: pd.DataFrame, n_conditions: int) -> list[dict[str, Any]]:
    """Per truth-table row ``r``: ``n_row_r``, ``out_row_r``, ``incl_row_r``, ``pri_row_r``,
    ``cov_row_r`` (row numbers as in R's QCA::truthTable)."""
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
    out += [
        row(analysis, "n_cases", int(tt["n"].sum())),
        row(analysis, "n_conditions", n_conditions),
        row(analysis, "n_configurations_observed", int((tt["n"] > 0).sum())),
    ]
    return out


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


def _sentence_case(text: str) -> str:
    """First letter upper case, the rest untouched (keeps "OT" as "OT")."""
    return text[:1].upper() + text[1:]


ENRICH_CONDITIONS = {"nhs": "NHS employer", "urban": "Urban", "high_fidelity": "High fidelity"}
ENRICH_OUTCOME = ("high_engagement", "High engagement")
RETAKE_OUTCOME = ("above_expected", "Above-expected mentoring")


def cross_case(
    enrich: pd.DataFrame,
    retake: pd.DataFrame,
    cutoffs: Mapping[str, float],
    nhs_values: list[str],
    urban_values: list[str],
    retake_conditions: list[str],
    expected: float = 60.0,
    tolerance: float = 10.0,
    incl_cut: float = 1.0,
) -> dict[str, Any]:
    """Crisp sets, truth tables (all configurations) and the per-case synthesis for both
    trials, with their tidy rows. ``enrich`` from :func:`prepare_enrich`, ``retake`` from
    :func:`prepare_retake` with factors."""
    from casereport import stats
    from casereport.tables import CASE_LABELS, GROUP_LABELS, factor_label

    e_sets = stats.enrich_crisp_sets(
        enrich,
        high_engagement=cutoffs["high_engagement"],
        high_fidelity=cutoffs["high_fidelity"],
        urban_values=tuple(urban_values),
        nhs_values=tuple(nhs_values),
    )
    e_cond = dict(ENRICH_CONDITIONS)
    e_tt = stats.truth_table(e_sets, list(e_cond), ENRICH_OUTCOME[0], incl_cut=incl_cut,
                             complete=True)  # fmt: skip
    r_sets = stats.retake_crisp_sets(
        retake, retake, conditions=tuple(retake_conditions), expected=expected,
        tolerance=tolerance, minutes_col="mpm",
    )  # fmt: skip
    r_cond = {c: _sentence_case(factor_label(c)) for c in retake_conditions}
    r_tt = stats.truth_table(r_sets, list(r_cond), RETAKE_OUTCOME[0], incl_cut=incl_cut,
                             complete=True)  # fmt: skip

    cls = enrich_cases(enrich, cutoffs)
    infl = stats.most_influential(stats.site_ols(enrich, "engagement_pct", "fidelity_score")
                                  .influence)[0]  # fmt: skip
    e_syn = synthesis_frame(
        "ENRICH", cls["site"], [CASE_LABELS[c] for c in cls["case_type"]], e_sets, e_tt,
        e_cond, ENRICH_OUTCOME, {infl: "largest Cook's distance (OLS)"},
    )  # fmt: skip
    groups = retake_groups(retake, expected, tolerance)
    others = [c for c in ("less_confident", "larger_caseload", "site_specific_issues",
                          "ot_turnover", "low_competency")
              if c in retake.columns and c not in retake_conditions]  # fmt: skip
    notes = {}
    for r in retake.itertuples(index=False):
        present = [factor_label(c) for c in others if getattr(r, c) == 1]
        if present:
            notes[str(r.site)] = "also: " + ", ".join(present)
    r_syn = synthesis_frame(
        "RETAKE", retake["site"], [GROUP_LABELS[g] for g in groups], r_sets, r_tt, r_cond,
        RETAKE_OUTCOME, notes,
    )  # fmt: skip
    rows = qca_rows("qca_enrich", e_tt, len(e_cond)) + qca_rows("qca_retake", r_tt, len(r_cond))
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
