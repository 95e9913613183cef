"""Grouping of the mentoring-time shape: each site's support minutes per month against the
planned amount, and the crisp sets of its QCA.

The planned amount and the tolerance have no defaults here: they are a trial's choices,
kept in its folder's ``trial.yaml`` and passed by the notebooks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from casereport.stats._util import as_float


def classify_sites(minutes_per_month, *, expected: float, tolerance: float) -> np.ndarray:
    """Group average mentoring minutes per month against the expected amount.

    ``close`` if |m − expected| <= tolerance, ``more`` if m > expected + tolerance,
    ``less`` if m < expected − tolerance (the paper calls its single such site, site 2 with
    43 min, the one that "received the least"); NaN input gives ``""``. With RETAKE's
    60 ± 10 (data/retake/trial.yaml) the published Table 3 averages give close =
    sites 9, 10, 13; less = site 2; more = the other twelve (73–121 min), as in the text.
    Returns an array of strings, vectorised.
    """
    m = as_float(minutes_per_month)
    return np.select(
        [np.isnan(m), np.abs(m - expected) <= tolerance, m > expected],
        ["", "close", "more"],
        default="less",
    )


def crisp_sets(
    sites: pd.DataFrame,
    factors: pd.DataFrame,
    conditions: tuple[str, ...] = ("ot_turnover", "low_competency"),
    *,
    expected: float,
    tolerance: float,
    minutes_col: str = "minutes_per_month",
) -> pd.DataFrame:
    """Crisp sets for the truth table of a mentoring-time trial: ``site``, the 0/1 factor
    ``conditions`` (from a wide factor table with one row per site, e.g.
    ``loaders.factors_wide``; sites absent from it get 0) and the outcome ``above_expected``
    = 1 when :func:`classify_sites` says ``more``."""
    f = factors.assign(site=factors["site"].astype(str)).set_index("site")
    s = sites["site"].astype(str)
    out = pd.DataFrame({"site": s.to_numpy()})
    for c in conditions:
        out[c] = f[c].reindex(s).fillna(0).astype(int).to_numpy()
    groups = classify_sites(sites[minutes_col], expected=expected, tolerance=tolerance)
    out["above_expected"] = (groups == "more").astype(int)
    return out
