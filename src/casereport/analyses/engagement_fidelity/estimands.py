"""ENRICH: one primary estimand of the engagement–fidelity association, the rest sensitivity.

The notebook's ``primary_estimand`` parameter (set, with its reason, in
``params/engagement_fidelity/primary.yaml``) names one of :data:`ESTIMANDS`; every other
estimand is a sensitivity analysis of the same question. They are not a multiplicity
family and no p-value is adjusted: one test answers the question, and the others show how
far the answer depends on the method. Estimands whose p-values come from the same test
(Pearson's r and the OLS slope's permutation interval share one permutation statistic;
Kendall's tau and the Theil–Sen slope share Kendall's p) are counted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from casereport.analyses.estimability import NotEstimable
from casereport.primitives.results import label_row, row


@dataclass(frozen=True)
class Estimand:
    """One estimand of the association: where its result is, how a table (``label``) and a
    sentence (``prose``) call it, which test gives its p (``test``: shared by estimands
    with the same test) and whether that test allows the sites to vary more than its
    model's sampling does (``site_variation``; the binomial GLM does not)."""

    key: str
    analysis: str
    quantity: str
    label: str
    prose: str
    test: str
    site_variation: bool = True


#: In table order. Keys are the values ``primary_estimand`` may take.
ESTIMANDS: tuple[Estimand, ...] = (
    Estimand("odds_ratio_quasi_binomial", "enrich_or_models", "odds_ratio_quasi_binomial",
             "Odds ratio, quasi-binomial GLM (dispersion floored at 1, t)",
             "the participant-weighted quasi-binomial odds ratio per fidelity point", "quasi"),
    Estimand("permutation_slope", "enrich_nonnormal", "permutation_slope",
             "OLS slope, exact permutation interval and p",
             "the site-level least-squares slope with its exact permutation interval", "perm_r"),
    Estimand("pearson_r", "enrich_association", "pearson_r",
             "Pearson's r (exact permutation p: the slope's test)",
             "Pearson's correlation with its exact permutation p", "perm_r"),
    Estimand("ols_slope", "enrich_association", "ols_slope", "OLS slope (t)",
             "the site-level least-squares slope with its t interval", "t_slope"),
    Estimand("spearman_rho", "enrich_association", "spearman_rho",
             "Spearman's rho (exact permutation p)", "Spearman's rank correlation", "perm_rho"),
    Estimand("kendall_tau", "enrich_nonnormal", "kendall_tau", "Kendall's tau",
             "Kendall's rank correlation", "kendall"),
    Estimand("theil_sen_slope", "enrich_nonnormal", "theil_sen_slope",
             "Theil–Sen slope (Sen's normal-approximation interval; Kendall's p)",
             "the Theil–Sen slope", "kendall"),
    Estimand("odds_ratio_beta_binomial", "enrich_or_models", "odds_ratio_beta_binomial",
             "Odds ratio, beta-binomial (profile likelihood)",
             "the beta-binomial odds ratio per fidelity point", "beta_binomial"),
    Estimand("odds_ratio_random_intercept", "enrich_or_models", "odds_ratio_random_intercept",
             "Odds ratio, random intercept (profile likelihood)",
             "the random-intercept odds ratio per fidelity point", "random_intercept"),
    Estimand("odds_ratio_meta_regression", "enrich_or_models", "odds_ratio_meta_regression",
             "Odds ratio, meta-regression (modified HKSJ)",
             "the meta-regression odds ratio per fidelity point", "meta_regression"),
    Estimand("odds_ratio_binomial", "enrich_or_models", "odds_ratio_binomial",
             "Odds ratio, binomial GLM (Wald; ignores between-site variation)",
             "the binomial odds ratio per fidelity point", "binomial", site_variation=False),
)

BY_KEY = {e.key: e for e in ESTIMANDS}


def check_primary(key: str) -> Estimand:
    """The estimand named by the ``primary_estimand`` parameter, or a ValueError that
    lists the keys it may take."""
    if key not in BY_KEY:
        raise ValueError(
            f"primary_estimand {key!r} is not an ENRICH estimand; expected one of: "
            + ", ".join(BY_KEY)
        )
    return BY_KEY[key]


def table(results: pd.DataFrame, primary: str) -> pd.DataFrame:
    """One row per estimand found in ``results``: ``key, label, role`` (primary or
    sensitivity), ``test, site_variation, same_test_as_primary`` and the result's
    ``estimate, ci_low, ci_high, p_value, n``."""
    check_primary(primary)
    keyed = results.set_index(["analysis", "quantity"])
    test_of_primary = BY_KEY[primary].test
    out: list[dict[str, Any]] = []
    for e in ESTIMANDS:
        if (e.analysis, e.quantity) not in keyed.index:
            continue
        r = keyed.loc[(e.analysis, e.quantity)]
        out.append(
            {"key": e.key, "label": e.label,
             "role": "primary" if e.key == primary else "sensitivity",
             "test": e.test, "site_variation": e.site_variation,
             "same_test_as_primary": e.key != primary and e.test == test_of_primary}
            | {c: float(r[c]) for c in ("estimate", "ci_low", "ci_high", "p_value", "n")}
        )
    return pd.DataFrame(out, columns=_COLUMNS)


_COLUMNS = ["key", "label", "role", "test", "site_variation", "same_test_as_primary",
            "estimate", "ci_low", "ci_high", "p_value", "n"]


def _distinct_tests(t: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity estimands with a finite p, one per test (the first in table order),
    leaving out any that share the primary's test."""
    s = t[(t["role"] == "sensitivity") & ~t["same_test_as_primary"]]
    s = s[np.isfinite(s["p_value"].to_numpy(float))]
    return s.drop_duplicates("test", keep="first")


def rows(t: pd.DataFrame, alpha: float = 0.05) -> list[dict[str, Any]]:
    """``enrich_primary``: the primary estimand (``estimand``: how a sentence calls it;
    ``key``: the parameter's value;
    ``estimate`` with its interval and p, ``p_below_alpha``); ``enrich_sensitivity``: how
    many distinct sensitivity tests there are, how many have p below ``alpha`` (all, and
    those that allow for between-site variation), and the smallest and largest p."""
    if t.empty or not (t["role"] == "primary").any():
        why = "its analysis could not be estimated on these data"
        alpha_row = row("enrich_sensitivity", "alpha", alpha)
        # nor can the sensitivity tests be counted beside it
        return (NotEstimable("enrich_primary", why).rows() + [alpha_row]
                + NotEstimable("enrich_sensitivity", why).rows())
    p = t[t["role"] == "primary"].iloc[0]
    d = _distinct_tests(t)
    v = d[d["site_variation"]]
    ps = d["p_value"].to_numpy(float)
    a = "enrich_sensitivity"
    out = [
        label_row("enrich_primary", "estimand", BY_KEY[p["key"]].prose, n=int(p["n"])),
        label_row("enrich_primary", "key", p["key"]),
        row("enrich_primary", "estimate", p["estimate"], p["ci_low"], p["ci_high"],
            p["p_value"], int(p["n"])),
        row("enrich_primary", "p_below_alpha", float(p["p_value"] < alpha)),
        row(a, "alpha", alpha),
        row(a, "n_estimands", int((t["role"] == "sensitivity").sum())),
        row(a, "n_tests", len(d)),
        row(a, "n_tests_below_alpha", int((ps < alpha).sum()), n=len(d)),
        row(a, "n_tests_site_variation", len(v)),
        row(a, "n_tests_site_variation_below_alpha",
            int((v["p_value"].to_numpy(float) < alpha).sum()), n=len(v)),
    ]
    if len(d):
        out += [row(a, "min_p", ps.min(), p_value=ps.min(), n=len(d)),
                row(a, "max_p", ps.max(), p_value=ps.max(), n=len(d))]
    return out
