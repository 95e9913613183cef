"""The participant-weighted odds ratio per unit x under each site model side by side, for
the full data and leaving out one site at a time (one fixed method per column)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .glm import binomial_glm
from .metareg import log_odds_meta_regression
from .models import leave_one_out, tidy
from .overdispersion import beta_binomial_regression, random_intercept_logistic

__all__ = ["ODDS_RATIO_MODELS", "odds_ratio_models", "odds_ratio_models_loo"]


#: name → fit(df, successes, trials, x, level, per); each returns an object with
#: ``estimate, ci_low, ci_high, p_value, n`` and never changes method with the data.
#: The GLM is therefore always quasi-binomial (``dispersion_threshold=-inf``: the Pearson
#: scale is always estimated, t on n − 2 df), not binomial_glm's default, which turns
#: quasi only when the dispersion exceeds 1.
ODDS_RATIO_MODELS: dict[str, Callable] = {
    "quasi-binomial GLM": lambda d, s, t, x, level, per: binomial_glm(
        d, s, t, x, level=level, per=per, dispersion_threshold=-np.inf
    ),
    "beta-binomial": lambda d, s, t, x, level, per: beta_binomial_regression(
        d, s, t, x, level=level, per=per
    ),
    "random-intercept logistic": lambda d, s, t, x, level, per: random_intercept_logistic(
        d, s, t, x, level=level, per=per
    ),
    "meta-regression of log-odds (REML, HKSJ)": lambda d, s, t, x, level, per: (
        log_odds_meta_regression(d, s, t, x, level=level, per=per)
    ),
}


def odds_ratio_models(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    per: float = 1.0,
    models: dict[str, Callable] | None = None,
) -> pd.DataFrame:
    """Tidy table, one row per model in ``models`` (default :data:`ODDS_RATIO_MODELS`):
    ``model`` plus ``estimate, ci_low, ci_high, p_value, n`` of the odds ratio per ``per``
    units of ``x``."""
    rows = []
    for name, fit in (models or ODDS_RATIO_MODELS).items():
        res = fit(df, successes, trials, x, level, per)
        rows.append(
            {
                "analysis": "odds_ratio_models",
                "quantity": f"odds ratio per {per:g} {x}",
                "model": name,
                **{k: getattr(res, k) for k in ("estimate", "ci_low", "ci_high", "p_value", "n")},
            }
        )
    return tidy(rows)


def odds_ratio_models_loo(
    df: pd.DataFrame,
    successes: str,
    trials: str,
    x: str,
    level: float = 0.95,
    per: float = 1.0,
    site_col: str = "site",
    models: dict[str, Callable] | None = None,
) -> pd.DataFrame:
    """:func:`~casereport.stats.leave_one_out` for each model: long table with ``model,
    omitted, estimate, ci_low, ci_high, p_value, n, change``."""
    out = []
    for name, fit in (models or ODDS_RATIO_MODELS).items():
        loo = leave_one_out(
            df, lambda d, fit=fit: fit(d, successes, trials, x, level, per), site_col=site_col
        )
        out.append(loo.assign(model=name))
    res = pd.concat(out, ignore_index=True)
    return res[["model"] + [c for c in res.columns if c != "model"]]
