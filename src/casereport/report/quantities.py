"""Reader-facing names for the tidy results' analyses, quantities and parameter sets.

The results CSVs key every estimate by ``analysis`` and ``quantity`` (identifiers such as
``enrich_loo`` / ``ols_slope_without_site_4``); tables a reader sees use these labels
instead. A per-site quantity is its base name plus ``_site_<id>`` (or
``_without_site_<id>`` for leave-one-out refits), labelled "<base label>, site <id>".
"""

from __future__ import annotations

import re

ANALYSES = {
    "enrich_table2": "ENRICH site table",
    "enrich_association": "ENRICH association",
    "enrich_influence": "ENRICH influence",
    "enrich_loo": "ENRICH leave one site out",
    "enrich_cases": "ENRICH case selection",
    "retake_table3": "RETAKE site table",
    "retake_groups": "RETAKE mentoring groups",
    "retake_rates": "RETAKE rate ratios",
    "retake_correlations": "RETAKE correlations",
    "qca_enrich": "QCA, ENRICH",
    "qca_retake": "QCA, RETAKE",
    "programme_theory": "Programme theory",
    "retake_reasons": "RETAKE reasons by group",
    "retake_permutation": "RETAKE exact permutation tests",
    "retake_permutation_more": "RETAKE exact permutation tests, above-expected sites",
    "theory_mapping": "Reasons mapped to the programme theory",
    "matrix_retake": "RETAKE cross-case matrix",
    "matrix_enrich": "ENRICH cross-case matrix",
}

QUANTITIES = {
    "n_sites": "Sites (n)",
    "n_pct_mismatches": "Published % that differ from their counts (n)",
    "pct_engaged": "Engaged (%)",
    "pct_engaged_published": "Engaged, as published (%)",
    "pct_with_data": "With engagement data (%)",
    "pct_with_data_published": "With engagement data, as published (%)",
    "fidelity_score": "Fidelity score",
    "pearson_r": "Pearson's r",
    "spearman_rho": "Spearman's rho",
    "ols_slope": "OLS slope (points of engagement % per fidelity point)",
    "ols_intercept": "OLS intercept",
    "ols_r_squared": "OLS R²",
    "glm_odds_ratio": "Participant-weighted odds ratio per fidelity point",
    "glm_dispersion": "GLM dispersion (Pearson χ² / df)",
    "glm_quasi": "Quasi-binomial errors used (1 = yes)",
    "cooks_d_max": "Largest Cook's distance",
    "cooks_d": "Cook's distance",
    "high_high": "High–high case (1 = yes)",
    "low_low": "Low–low case (1 = yes)",
    "outlier": "Outlier case (1 = yes)",
    "other": "Not selected (1 = yes)",
    "n_high_high": "High–high cases (n)",
    "n_low_low": "Low–low cases (n)",
    "n_outlier": "Outlier cases (n)",
    "site_recorded_minutes": "Site-recorded minutes (a shared session counts at each site)",
    "site_recorded_minutes_per_site_month": "Site-recorded minutes per site-month",
    "participants_per_month": "Participants per site-month",
    "n_reasons": "Listed reasons (n)",
    "n_mechanisms": "Mapped mechanisms (n)",
    "n_elements": "Programme-theory elements touched (n)",
}

#: The estimates the article's text discusses under each parameter set: the sensitivity
#: section shows these; every other estimate that changes goes to the appendix.
HEADLINE = {
    ("enrich_association", "pearson_r"),
    ("enrich_association", "spearman_rho"),
    ("enrich_association", "ols_slope"),
    ("enrich_association", "glm_odds_ratio"),
    ("enrich_association", "cooks_d_max"),
    ("enrich_table2", "n_sites"),
}

_SITE = re.compile(r"^(?P<base>.+?)_(?P<without>without_)?site_(?P<site>[^_]+)$")


def analysis_label(analysis: str) -> str:
    return ANALYSES.get(analysis, analysis.replace("_", " "))


def quantity_label(quantity: str) -> str:
    """``ols_slope_without_site_4`` -> "OLS slope (...), without site 4"; an unknown name
    is shown with spaces for underscores rather than hidden."""
    if quantity in QUANTITIES:
        return QUANTITIES[quantity]
    m = _SITE.match(quantity)
    if m:
        base = QUANTITIES.get(m["base"], m["base"].replace("_", " "))
        return f"{base}, {'without ' if m['without'] else ''}site {m['site']}"
    return quantity.replace("_", " ")


def set_label(parameter_set: str) -> str:
    """``without_site_2`` -> "without site 2"; ``site4_published_pct`` -> "site 4
    published %" (parameter sets are named in params/<notebook>/<name>.yaml)."""
    text = re.sub(r"site(\d)", r"site \1", parameter_set).replace("_", " ")
    return re.sub(r"\bpct\b", "%", text)
