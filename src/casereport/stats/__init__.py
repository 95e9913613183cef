"""Statistics for casereport: intervals, permutation tests, site-level models, case
classification and QCA. No plotting and no file I/O; all functions take arrays or
DataFrames and return numbers, dataclasses or tidy DataFrames."""

from .glm import GLMResult, RateResult, binomial_glm, rate_model, rate_models
from .intervals import clopper_pearson, site_proportions
from .models import (
    TIDY_COLUMNS,
    OLSResult,
    cooks_distance,
    leave_one_out,
    loo_rows,
    most_influential,
    ols_leave_one_out,
    pearson_without_each,
    site_ols,
    tidy,
)
from .permutation import (
    DEFAULT_SEED,
    EXACT_MAX_N,
    PermutationResult,
    permutation_correlation,
)
from .qca import contradictions, necessity, set_measures, sufficiency, truth_table

__all__ = [
    "DEFAULT_SEED",
    "EXACT_MAX_N",
    "GLMResult",
    "OLSResult",
    "PermutationResult",
    "RateResult",
    "TIDY_COLUMNS",
    "binomial_glm",
    "clopper_pearson",
    "cooks_distance",
    "leave_one_out",
    "loo_rows",
    "most_influential",
    "contradictions",
    "necessity",
    "ols_leave_one_out",
    "pearson_without_each",
    "permutation_correlation",
    "rate_model",
    "rate_models",
    "set_measures",
    "site_ols",
    "site_proportions",
    "sufficiency",
    "tidy",
    "truth_table",
]

# Added by the stats11 methods (appended after __all__ so the block above stays as it was).
from ._result import (  # noqa: E402
    Estimate,
)
from .association import (  # noqa: E402
    ODDS_RATIO_MODELS,
    odds_ratio_models,
    odds_ratio_models_loo,
)
from .metareg import (  # noqa: E402
    log_odds_meta_regression,
    meta_regression,
    reml_loglik,
    site_log_odds,
)
from .mle import maximise, profile_interval, wald_se  # noqa: E402
from .overdispersion import (  # noqa: E402
    agh_loglik,
    beta_binomial_regression,
    random_intercept_logistic,
)
from .qca_calibrate import (  # noqa: E402
    RAGIN_LOG_ODDS,
    calibrate_direct,
    negate_outcome,
    threshold_sweep,
)
from .qca_minimize import (  # noqa: E402
    QCASolution,
    minimize,
    prime_implicants,
    term_string,
)
from .rates import (  # noqa: E402
    all_assignments,
    factor_permutation_test,
    factor_permutation_tests,
    rate_ratios,
)
from .robust import (  # noqa: E402
    adjusted_slope,
    holm,
    kendall_exact,
    permutation_slope_interval,
    theil_sen,
    within_stratum,
)
from .sensitivity import (  # noqa: E402
    BoundsResult,
    InfluenceResult,
    influence_both_ways,
    missing_outcome_bounds,
)

__all__ += [
    "Estimate",
    "ODDS_RATIO_MODELS",
    "odds_ratio_models",
    "odds_ratio_models_loo",
    "log_odds_meta_regression",
    "meta_regression",
    "reml_loglik",
    "site_log_odds",
    "agh_loglik",
    "maximise",
    "profile_interval",
    "wald_se",
    "beta_binomial_regression",
    "random_intercept_logistic",
    "RAGIN_LOG_ODDS",
    "calibrate_direct",
    "negate_outcome",
    "threshold_sweep",
    "QCASolution",
    "minimize",
    "prime_implicants",
    "term_string",
    "all_assignments",
    "rate_ratios",
    "factor_permutation_test",
    "factor_permutation_tests",
    "holm",
    "kendall_exact",
    "permutation_slope_interval",
    "theil_sen",
    "adjusted_slope",
    "within_stratum",
    "BoundsResult",
    "InfluenceResult",
    "influence_both_ways",
    "missing_outcome_bounds",
]
