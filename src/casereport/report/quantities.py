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
    "enrich_or_models": "ENRICH odds ratio across models",
    "enrich_nonnormal": "ENRICH non-normal inference",
    "enrich_primary": "ENRICH primary estimand",
    "enrich_sensitivity": "ENRICH sensitivity analyses of the association",
    "enrich_missing": "ENRICH missing engagement data",
    "enrich_stratum": "ENRICH within one employer",
    "enrich_cutoff_sweep": "ENRICH case-selection cut-off sweep",
    "retake_table3": "RETAKE site table",
    "retake_groups": "RETAKE mentoring groups",
    "retake_reason_ratios": "RETAKE reasons: ratios of mentoring per month (descriptive)",
    "retake_correlations": "RETAKE correlations",
    "qca_enrich": "QCA, ENRICH",
    "qca_enrich_necessity": "QCA, ENRICH necessity (consistency, coverage, relevance)",
    "qca_retake": "QCA, RETAKE",
    "programme_theory": "Programme theory",
    "retake_reasons": "RETAKE reasons by group",
    "retake_reason_ratios_more": "RETAKE reasons, above-expected sites (descriptive)",
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
    "n_engaged_pct_plotted_recomputed": "Sites plotted at a recomputed engagement % (n)",
    "plotted_recomputed_site": "Site plotted at its recomputed engagement %",
    "plotted_recomputed_pct": "Its recomputed engagement (%)",
    "plotted_recomputed_published_pct": "Its published engagement (%)",
    "leverage": "Leverage",
    "dfbeta_slope": "DFBETA of the slope (full slope − slope without the site)",
    "dfbetas_slope": "Scaled DFBETAS of the slope",
    "student_resid": "Externally studentised residual (p: Bonferroni outlier p)",
    "removal_strengthens_site": "Site whose removal raises the slope most",
    "removal_strengthens_slope": "Slope without the site whose removal raises it most",
    "removal_weakens_site": "Site whose removal moves the slope most toward zero",
    "removal_weakens_slope": "Slope without the site whose removal moves it most toward zero",
    "cooks_d_max_site": "Site with the largest Cook's distance",
    "cooks_d_max_dfbeta": "DFBETA of the site with the largest Cook's distance",
    "leverage_max_site": "Site with the highest leverage",
    "leverage_max": "Highest leverage",
    "n_loo_ci_including_zero": "Leave-one-out slope intervals including zero (n)",
    "min_bonferroni_p": "Smallest Bonferroni outlier p",
    "odds_ratio_binomial": "Odds ratio per fidelity point, binomial GLM",
    "odds_ratio_quasi_binomial": "Odds ratio per fidelity point, quasi-binomial GLM",
    "odds_ratio_beta_binomial": "Odds ratio per fidelity point, beta-binomial",
    "odds_ratio_random_intercept": "Odds ratio per fidelity point, random intercept",
    "odds_ratio_meta_regression": "Odds ratio per fidelity point, meta-regression",
    "odds_ratio_offered": "Odds ratio per fidelity point, offered denominator",
    "n_models": "Models (n)",
    "n_models_ci_excluding_1": "Models whose interval excludes 1 (n)",
    "permutation_slope": "OLS slope, exact permutation interval",
    "theil_sen_slope": "Theil–Sen slope (Sen interval)",
    "kendall_tau": "Kendall's tau",
    "kendall_exact": "Kendall p exact (1 = yes)",
    "estimand": "Primary estimand",
    "key": "Primary estimand (parameter value)",
    "estimate": "Primary estimate",
    "p_below_alpha": "Primary p below the significance level (1 = yes)",
    "alpha": "Significance level for the counts below",
    "n_estimands": "Sensitivity estimands (n)",
    "n_tests": "Distinct sensitivity tests (n)",
    "n_tests_below_alpha": "Sensitivity tests with p below the significance level (n)",
    "n_tests_site_variation": "Sensitivity tests allowing for between-site variation (n)",
    "n_tests_site_variation_below_alpha": "Of those, p below the significance level (n)",
    "min_p": "Smallest sensitivity p",
    "max_p": "Largest sensitivity p",
    "slope_observed": "Slope, engagement among those with data",
    "slope_lower": "Slope, none without data engaged (offered denominator)",
    "slope_upper": "Slope, all without data engaged",
    "slope_bounds": "Slope bounds over the missing participants",
    "slope_bounds_ci": "Slope bounds with sampling error (the bounds' outer confidence limits)",
    "engaged_lower": "Engaged, lower bound over offered (%)",
    "engaged_upper": "Engaged, upper bound over offered (%)",
    "missing_share": "Without engagement data (%)",
    "max_missing_site": "Site with the largest share without data",
    "max_missing_share": "Largest share without data (%)",
    "pearson_r_within": "Pearson's r within the stratum",
    "ols_slope_within": "OLS slope within the stratum",
    "n_sites_within": "Sites in the stratum (n)",
    "n_sites_outside": "Sites outside the stratum (n)",
    "fidelity_min_within": "Lowest fidelity in the stratum",
    "fidelity_max_within": "Highest fidelity in the stratum",
    "ols_slope_adjusted": "OLS slope across all sites adjusted for the stratifying column",
    "within_influential_site": "Stratum site whose removal moves the correlation most",
    "pearson_r_within_without": "Pearson's r within the stratum without that site",
    "min_attainable_p_without": "Smallest exact permutation p attainable without that site",
    "fidelity_max_outside": "Highest fidelity outside the stratum",
    "n_outside_within_fidelity_range": "Sites outside within the stratum's fidelity range (n)",
    "n_shifts": "Shifted cut-off settings (n)",
    "n_shifts_same_selection": "Settings keeping the published selection (n)",
    "site_recorded_minutes": "Site-recorded minutes (a shared session counts at each site)",
    "site_recorded_minutes_per_site_month": "Site-recorded minutes per site-month",
    "participants_per_month": "Participants per site-month",
    "minutes_per_month_range": "Minutes per month: median (range over the sites)",
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
    ("enrich_primary", "estimate"),
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
