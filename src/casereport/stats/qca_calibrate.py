"""QCA helpers around the truth table: fuzzy-set calibration by Ragin's direct method,
negated outcomes, and a sweep of sufficiency/necessity over outcome thresholds.

The fuzzy consistency, PRI, coverage and necessity measures themselves are in
:mod:`casereport.stats.qca` (``set_measures``, ``truth_table``, ``sufficiency``,
``necessity``), which already take memberships in [0, 1]; crisp sets are their 0/1 case.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._util import as_float
from .qca import necessity, truth_table

__all__ = ["calibrate_direct", "negate_outcome", "threshold_sweep", "RAGIN_LOG_ODDS"]

#: Log odds that Ragin (2008, ch. 5, Table 5.1) assigns to the full-membership anchor:
#: 3, i.e. membership exp(3)/(1 + exp(3)) = 0.953 ("0.95"); −3 (0.047) for full
#: non-membership. Pass ``log_odds=np.log(19)`` for exactly 0.95 / 0.05.
RAGIN_LOG_ODDS = 3.0


def calibrate_direct(
    x, full_non: float, crossover: float, full: float, log_odds: float = RAGIN_LOG_ODDS
) -> np.ndarray:
    """Fuzzy membership by Ragin's direct method (Ragin 2008, Redesigning Social Inquiry,
    ch. 5, "the direct method").

    The deviation d = x − crossover is scaled to log odds of membership, separately on each
    side of the crossover: λ = log_odds · d / (full − crossover) on the side of the
    full-membership anchor and λ = log_odds · d / (crossover − full_non) on the other side;
    membership = exp(λ) / (1 + exp(λ)). So the full-membership anchor maps to
    expit(log_odds) (0.953 with Ragin's 3), the crossover to 0.5 and the full
    non-membership anchor to expit(−log_odds). Anchors may decrease (full < crossover <
    full_non) for a set whose membership falls as x rises. NaN stays NaN.
    """
    x = as_float(x)
    if not (full_non < crossover < full or full < crossover < full_non):
        raise ValueError("the crossover must lie strictly between the two other anchors")
    d = x - crossover
    towards_full = np.sign(d) == np.sign(full - crossover)
    lam = np.where(
        towards_full, log_odds * d / (full - crossover), log_odds * d / (crossover - full_non)
    )
    return 1.0 / (1.0 + np.exp(-lam))


def negate_outcome(df: pd.DataFrame, outcome: str, name: str | None = None) -> pd.DataFrame:
    """Copy of ``df`` with the negated outcome ~Y = 1 − Y added as column ``name``
    (default ``"~" + outcome``), so that every truth-table, sufficiency, necessity and
    minimisation function can analyse ~Y by column name."""
    y = as_float(df[outcome])
    if np.any((y < 0) | (y > 1)):
        raise ValueError("outcome memberships must be in [0, 1]")
    return df.assign(**{name or f"~{outcome}": 1.0 - y})


def threshold_sweep(
    df: pd.DataFrame,
    conditions: Sequence[str],
    raw_outcome: str,
    thresholds: Sequence[float],
    negate: bool = False,
    case_col: str | None = "site",
) -> pd.DataFrame:
    """Sufficiency of each configuration and necessity of each condition (and its
    negation) when the outcome is dichotomised at each threshold: Y = 1 if raw >= t.

    With ``negate=True`` the outcome analysed is ~Y (raw < t). Returns a long DataFrame
    with ``threshold, n_outcome`` (cases with Y = 1), ``kind`` ("sufficiency" for a
    truth-table row, "necessity" for a condition), ``set`` (the configuration as
    "A*~B*C" or the condition name), ``n`` (cases in the row; NaN for necessity),
    ``incl``, ``cov`` and ``PRI`` (sufficiency) or ``RoN`` (necessity), from
    :func:`~casereport.stats.truth_table` and :func:`~casereport.stats.necessity`.
    """
    conditions = list(conditions)
    d = df.dropna(subset=conditions + [raw_outcome])
    raw = d[raw_outcome].to_numpy(float)
    out = []
    for t in thresholds:
        y = (raw >= t).astype(float)
        if negate:
            y = 1.0 - y
        dd = d.assign(_Y=y)
        tt = truth_table(dd, conditions, "_Y", case_col=case_col)
        for r in tt.itertuples(index=False):
            term = "*".join(c if getattr(r, c) else f"~{c}" for c in conditions)
            out.append(
                {
                    "threshold": t,
                    "n_outcome": int(y.sum()),
                    "kind": "sufficiency",
                    "set": term,
                    "n": r.n,
                    "incl": r.incl,
                    "cov": r.cov,
                    "PRI": r.PRI,
                }
            )
        for r in necessity(dd, conditions, "_Y").itertuples(index=False):
            out.append(
                {
                    "threshold": t,
                    "n_outcome": int(y.sum()),
                    "kind": "necessity",
                    "set": r.condition,
                    "incl": r.incl,
                    "cov": r.cov,
                    "RoN": r.RoN,
                }
            )
    return pd.DataFrame(out)
