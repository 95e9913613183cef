"""Statistics for casereport: intervals, permutation tests, site-level models, case
classification and QCA. No plotting and no file I/O; all functions take arrays or
DataFrames and return numbers, dataclasses or tidy DataFrames.

Every name below is importable from here (``stats.site_ols``, ``from casereport.stats
import site_ols``), and each is imported from its module on first use (a module
``__getattr__``, PEP 562): a notebook run loads the methods it reaches and no others, so
its kernel imports less (a case profile loaded all 16 modules here and calls functions of
two) and its cache entry depends only on the modules it used (pipeline/cache.py), so
editing a method re-executes only the runs that call it.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each module of this package and the names it gives the package (the one list of them).
EXPORTS: dict[str, tuple[str, ...]] = {
    "glm": ("GLMResult", "RateResult", "binomial_glm", "rate_model", "rate_models"),
    "intervals": ("clopper_pearson", "site_proportions"),
    "models": ("TIDY_COLUMNS", "OLSResult", "cooks_distance", "leave_one_out", "loo_rows",
               "most_influential", "ols_leave_one_out", "pearson_without_each", "site_ols",
               "tidy"),
    "permutation": ("DEFAULT_SEED", "EXACT_MAX_N", "PermutationResult",
                    "permutation_correlation"),
    "qca": ("contradictions", "necessity", "set_measures", "sufficiency", "truth_table"),
    "_result": ("Estimate",),
    "association": ("ODDS_RATIO_MODELS", "odds_ratio_models", "odds_ratio_models_loo"),
    "metareg": ("log_odds_meta_regression", "meta_regression", "reml_loglik", "site_log_odds"),
    "mle": ("maximise", "profile_interval", "wald_se"),
    "overdispersion": ("agh_loglik", "beta_binomial_regression", "random_intercept_logistic"),
    "qca_calibrate": ("RAGIN_LOG_ODDS", "calibrate_direct", "negate_outcome",
                      "threshold_sweep"),
    "qca_minimize": ("QCASolution", "minimize", "prime_implicants", "term_string"),
    "rates": ("all_assignments", "factor_permutation_test", "factor_permutation_tests",
              "rate_ratios"),
    "robust": ("adjusted_slope", "holm", "kendall_exact", "permutation_slope_interval",
               "theil_sen", "within_stratum"),
    "sensitivity": ("BoundsResult", "InfluenceResult", "influence_both_ways",
                    "missing_outcome_bounds"),
}  # fmt: skip
_MODULE_OF = {name: module for module, names in EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
