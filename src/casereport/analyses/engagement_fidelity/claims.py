"""The engagement-fidelity claims: the article's data-dependent sentences about engagement
and fidelity in the default trial of the shape (ENRICH).

Each :class:`~casereport.analyses.claim_rules.Claim` reads quantities that ``analysis.py``,
``limits.py`` and ``estimands.py`` of this room write (analysis ``enrich_*``) and says in
``asserts`` what must be true for the marked sentence of ``index.qmd`` to stand.
"""

from __future__ import annotations

from casereport.analyses.claim_rules import Claim

A, INF, OR, NN, ST, PR, SE = (
    "enrich_association",
    "enrich_influence",
    "enrich_or_models",
    "enrich_nonnormal",
    "enrich_stratum",
    "enrich_primary",
    "enrich_sensitivity",
)


def null_value(key: str) -> float:
    """The value of no association on an estimand's scale: 1 for an odds ratio, else 0."""
    return 1.0 if key.startswith("odds_ratio") else 0.0

#: The paper's own selection (Gillard et al. 2024, Table 2 and text: "The two high
#: engagement-high fidelity cases (sites 3,5)", low-low sites 4 and 6, "one outlier, site
#: 2"): what "reproduces that selection" is judged against.
PUBLISHED_SELECTION = {"high_high": ("3", "5"), "low_low": ("4", "6"), "outlier": ("2",)}


def _selection_reads() -> dict[str, str]:
    return {
        f"{cls}_{site}": f"enrich_cases.{cls}_site_{site}"
        for cls, sites in PUBLISHED_SELECTION.items()
        for site in sites
    } | {f"n_{cls}": f"enrich_cases.n_{cls}" for cls in PUBLISHED_SELECTION}


def _reproduces(v: dict) -> bool:
    ok = all(v[f"{cls}_{s}"] == 1 for cls, sites in PUBLISHED_SELECTION.items() for s in sites)
    return ok and all(v[f"n_{cls}"] == len(s) for cls, s in PUBLISHED_SELECTION.items())


CLAIMS = [
    Claim(
        "enrich-ranks-weaker",
        "both rank correlations are smaller than Pearson's r and have larger p-values",
        {
            "r": f"{A}.pearson_r",
            "p_r": f"{A}.pearson_r:p_value",
            "rho": f"{A}.spearman_rho",
            "p_rho": f"{A}.spearman_rho:p_value",
            "tau": f"{NN}.kendall_tau",
            "p_tau": f"{NN}.kendall_tau:p_value",
        },
        lambda v: abs(v["rho"]) < abs(v["r"])
        and abs(v["tau"]) < abs(v["r"])
        and v["p_rho"] > v["p_r"]
        and v["p_tau"] > v["p_r"],
    ),
    Claim(
        "enrich-estimands-direction",
        "Pearson's r, Spearman's rho, Kendall's tau and the slope are all positive and the "
        "odds ratio is above one",
        {
            "r": f"{A}.pearson_r",
            "rho": f"{A}.spearman_rho",
            "tau": f"{NN}.kendall_tau",
            "slope": f"{A}.ols_slope",
            "odds_ratio": f"{A}.glm_odds_ratio",
        },
        lambda v: min(v["r"], v["rho"], v["tau"], v["slope"]) > 0 and v["odds_ratio"] > 1,
    ),
    Claim(
        "enrich-strengthening-site",
        "the slope without the named site is above the full slope, and that site has the "
        "largest Cook's distance",
        {
            "slope": f"{A}.ols_slope",
            "slope_without": f"{INF}.removal_strengthens_slope",
            "site": f"{INF}.removal_strengthens_site:label",
            "cooks_d_max_site": f"{INF}.cooks_d_max_site:label",
        },
        lambda v: v["slope_without"] > v["slope"] and v["site"] == v["cooks_d_max_site"],
        texts=("site", "cooks_d_max_site"),
    ),
    Claim(
        "enrich-leaning-site",
        "the site whose removal moves the slope most toward zero is the site with the "
        "highest leverage, and without it the slope is smaller but still positive",
        {
            "slope": f"{A}.ols_slope",
            "slope_without": f"{INF}.removal_weakens_slope",
            "site": f"{INF}.removal_weakens_site:label",
            "leverage_max_site": f"{INF}.leverage_max_site:label",
        },
        lambda v: 0 < v["slope_without"] < v["slope"] and v["site"] == v["leverage_max_site"],
        texts=("site", "leverage_max_site"),
    ),
    Claim(
        "enrich-or-depends-on-model",
        "some but not all of the odds-ratio models give an interval that excludes one",
        {"excluding": f"{OR}.n_models_ci_excluding_1", "models": f"{OR}.n_models"},
        lambda v: 0 < v["excluding"] < v["models"],
    ),
    Claim(
        "enrich-voluntary-lowest",
        "every voluntary-sector site scores below every NHS site on fidelity",
        {"max_outside": f"{ST}.fidelity_max_outside", "min_within": f"{ST}.fidelity_min_within"},
        lambda v: v["max_outside"] < v["min_within"],
    ),
    Claim(
        "enrich-cutoffs-reproduce",
        "the cut-offs classify exactly the paper's sites as high-high (3, 5), low-low (4, 6) "
        "and outlier (2)",
        _selection_reads(),
        _reproduces,
    ),
    Claim(
        "enrich-p-values-disagree",
        "some but not all of the distinct sensitivity tests have p below alpha",
        {"below": f"{SE}.n_tests_below_alpha", "tests": f"{SE}.n_tests"},
        lambda v: 0 < v["below"] < v["tests"],
    ),
    Claim(
        "enrich-primary-inconclusive",
        "the primary estimand's interval includes no association (1 for an odds ratio, 0 for "
        "a slope or correlation) and its p is at least alpha",
        {
            "lo": f"{PR}.estimate:ci_low",
            "hi": f"{PR}.estimate:ci_high",
            "p": f"{PR}.estimate:p_value",
            "alpha": f"{SE}.alpha",
            "key": f"{PR}.key:label",
        },
        lambda v: v["lo"] <= null_value(v["key"]) <= v["hi"] and v["p"] >= v["alpha"],
        texts=("key",),
    ),
    Claim(
        "enrich-cutoff-rule-fragile",
        "at least one shifted setting of the reconstructed cut-offs changes the selection",
        {"same": "enrich_cutoff_sweep.n_shifts_same_selection",
         "shifts": "enrich_cutoff_sweep.n_shifts"},
        lambda v: v["same"] < v["shifts"],
    ),
    Claim(
        "enrich-bounds-include-zero",
        "the interval from the lower confidence limit of the smallest slope to the upper "
        "limit of the largest includes zero",
        {
            "lo": "enrich_missing.slope_bounds_ci:ci_low",
            "hi": "enrich_missing.slope_bounds_ci:ci_high",
        },
        lambda v: v["lo"] <= 0 <= v["hi"],
    ),
    Claim(
        "enrich-stratum-uninformative",
        "the within-stratum slope interval includes both zero and the slope across all "
        "sites, so it can show neither no association nor the overall one",
        {
            "lo": f"{ST}.ols_slope_within:ci_low",
            "hi": f"{ST}.ols_slope_within:ci_high",
            "slope": f"{A}.ols_slope",
        },
        lambda v: v["lo"] <= 0 <= v["hi"] and v["lo"] <= v["slope"] <= v["hi"],
    ),
    Claim(
        "enrich-stratum-site-driven",
        "without its most influential site the within-stratum correlation is larger in size, "
        "and its exact p is still at least alpha",
        {
            "r": f"{ST}.pearson_r_within",
            "r_without": f"{ST}.pearson_r_within_without",
            "p_without": f"{ST}.pearson_r_within_without:p_value",
            "alpha": f"{SE}.alpha",
        },
        lambda v: abs(v["r_without"]) > abs(v["r"]) and v["p_without"] >= v["alpha"],
    ),
    Claim(
        "enrich-one-site-either-way",
        "removing one site can raise the slope and removing another can lower it",
        {
            "slope": f"{A}.ols_slope",
            "up": f"{INF}.removal_strengthens_slope",
            "down": f"{INF}.removal_weakens_slope",
        },
        lambda v: v["up"] > v["slope"] > v["down"],
    ),
    Claim(
        "enrich-sets-opposite",
        "without site 2 the slope rises and its interval excludes zero; without site 6 it "
        "falls and its interval includes zero",
        {
            "slope": f"{A}.ols_slope",
            "w2": f"without_site_2@{A}.ols_slope",
            "w2_lo": f"without_site_2@{A}.ols_slope:ci_low",
            "w6": f"without_site_6@{A}.ols_slope",
            "w6_lo": f"without_site_6@{A}.ols_slope:ci_low",
        },
        lambda v: v["w2"] > v["slope"] > v["w6"] and v["w2_lo"] > 0 >= v["w6_lo"],
    ),
    Claim(
        "enrich-site6-most-leverage",
        "the site the without_site_6 parameter set leaves out has the highest leverage",
        {"site": f"{INF}.leverage_max_site:label"},
        lambda v: v["site"] == "6",
        texts=("site",),
    ),
    Claim(
        "enrich-loo-changes-conclusion",
        "at least one leave-one-out interval includes zero while the full interval does not",
        {"n_incl": f"{INF}.n_loo_ci_including_zero", "lo": f"{A}.ols_slope:ci_low"},
        lambda v: v["n_incl"] > 0 and v["lo"] > 0,
    ),
    Claim(
        "qca-necessity-depends-on-threshold",
        "the necessity consistency of high fidelity changes at least once across the "
        "engagement thresholds swept",
        {"changes": "qca_enrich_sweep.n_necessity_changes"},
        lambda v: v["changes"] > 0,
    ),
    Claim(
        "enrich-slope-similar-ranks-not",
        "the permutation interval for the slope excludes zero, as the t interval does, while "
        "Sen's interval for the Theil-Sen slope includes zero and the Kendall p is at least "
        "alpha",
        {
            "perm_lo": f"{NN}.permutation_slope:ci_low",
            "t_lo": f"{A}.ols_slope:ci_low",
            "ts_lo": f"{NN}.theil_sen_slope:ci_low",
            "ts_hi": f"{NN}.theil_sen_slope:ci_high",
            "p_tau": f"{NN}.kendall_tau:p_value",
            "alpha": f"{SE}.alpha",
        },
        lambda v: v["perm_lo"] > 0 and v["t_lo"] > 0 and v["ts_lo"] <= 0 <= v["ts_hi"]
        and v["p_tau"] >= v["alpha"],
    ),
]
