"""Set-theoretic measures and truth tables for (crisp or fuzzy) QCA, from Ragin's formulas.

With X the membership of each case in a set (a condition or a truth-table configuration)
and Y its membership in the outcome, all in [0, 1] (crisp sets are the 0/1 special case):

* sufficiency consistency   incl = Σ min(X, Y) / Σ X                       (Ragin 2006)
* sufficiency coverage      cov  = Σ min(X, Y) / Σ Y                       (Ragin 2006)
* proportional reduction in inconsistency
                            PRI  = (Σ min(X,Y) − Σ min(X,Y,1−Y)) / (Σ X − Σ min(X,Y,1−Y))
                                                                           (Ragin 2008)
* necessity consistency     Σ min(X, Y) / Σ Y; necessity coverage Σ min(X, Y) / Σ X;
  relevance of necessity    RoN = Σ (1 − X) / Σ (1 − min(X, Y))            (Schneider &
                                                                           Wagemann 2012)

Ragin CC (2006) Set relations in social research: evaluating their consistency and
coverage. Political Analysis 14:291–310. Ragin CC (2008) Redesigning Social Inquiry.

Why so few conditions: k conditions make 2^k configurations. With 7 (ENRICH) or 16
(RETAKE) cases, 3 conditions already leave most of the 8 rows with 0–2 cases (limited
diversity), and every extra condition halves the cases per row, so consistent rows appear
by chance alone (Marx & Dusa 2011 benchmark this for csQCA). We therefore use 3 conditions
for ENRICH and 2 for RETAKE and read the tables as structured descriptions of the cases,
not as tests; Boolean minimisation lives in :mod:`.qca_minimize`.

Scale: crisp data are grouped in O(m·k) for m cases; fuzzy data cost O(R·m·k) for R
observed rows (R <= min(2^k, m), and k is small by design).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._util import as_float

__all__ = ["set_measures", "truth_table", "contradictions", "sufficiency", "necessity"]


def _as_members(v) -> np.ndarray:
    a = as_float(v) if np.ndim(v) == 1 else np.asarray(v, dtype=float)
    if np.any((a < 0) | (a > 1)):
        raise ValueError("set memberships must be in [0, 1]")
    return a


def set_measures(x, y) -> dict[str, float]:
    """Sufficiency consistency, coverage and PRI, plus necessity consistency, coverage and
    RoN, of set X for outcome Y (arrays of memberships in [0, 1]).

    Returns a dict with keys ``incl, cov, pri, nec_incl, nec_cov, ron`` (NaN when a
    denominator is 0, e.g. no case in X).
    """
    x, y = _as_members(x), _as_members(y)
    mxy = np.minimum(x, y)
    s_xy, s_x, s_y = mxy.sum(), x.sum(), y.sum()
    s_xy_ny = np.minimum(mxy, 1 - y).sum()

    def ratio(a, b):
        return float(a / b) if b > 0 else np.nan

    return {
        "incl": ratio(s_xy, s_x),
        "cov": ratio(s_xy, s_y),
        "pri": ratio(s_xy - s_xy_ny, s_x - s_xy_ny),
        "nec_incl": ratio(s_xy, s_y),
        "nec_cov": ratio(s_xy, s_x),
        "ron": ratio((1 - x).sum(), (1 - mxy).sum()),
    }


def truth_table(
    df: pd.DataFrame,
    conditions: Sequence[str],
    outcome: str,
    case_col: str | None = "site",
    incl_cut: float = 1.0,
    complete: bool = False,
) -> pd.DataFrame:
    """Truth table of ``outcome`` on ``conditions`` (columns of memberships in [0, 1]).

    A case belongs to the configuration row where all its memberships are > 0.5 after
    negating the conditions that are 0 in that row (for crisp data: its own 0/1 pattern).
    Row measures use every case's membership in the row, min over conditions of X_j or
    1 − X_j, so fuzzy data are handled as in Ragin (2008); for crisp data incl is just the
    share of the row's cases with the outcome.

    Returns one row per observed configuration (all 2^k with ``complete=True``), sorted by
    configuration, with columns: ``row`` (1 + the configuration read as a binary number,
    first condition most significant: the row numbers of R's ``QCA::truthTable``), the
    conditions (0/1), ``OUT`` (1 if incl >= incl_cut,
    else 0; "?" for rows with no case), ``n`` (cases in the row), ``incl`` (consistency),
    ``PRI``, ``cov`` (raw coverage of the outcome by the row), ``cases`` (comma-separated
    case ids from ``case_col``, or the index when None). ``incl_cut=1`` is the usual crisp
    choice (a row is sufficient only if all its cases show the outcome).
    """
    conditions = list(conditions)
    k = len(conditions)
    if k == 0:
        raise ValueError("need at least one condition")
    d = df.dropna(subset=conditions + [outcome])
    X = _as_members(d[conditions].to_numpy(float))
    Y = _as_members(d[outcome].to_numpy(float))
    ids = (d[case_col] if case_col is not None else d.index.to_series()).astype(str).to_numpy()
    if np.any(X == 0.5):
        raise ValueError("memberships of exactly 0.5 belong to no configuration row")
    weights = 1 << np.arange(k - 1, -1, -1)
    case_row = (X > 0.5).astype(np.int64) @ weights
    observed, counts = np.unique(case_row, return_counts=True)
    rows_idx = np.arange(2**k) if complete else observed
    crisp = bool(np.all((X == 0) | (X == 1)))
    out = []
    for r in rows_idx:
        bits = (r >> np.arange(k - 1, -1, -1)) & 1
        if crisp:
            m = (case_row == r).astype(float)
        else:
            m = np.where(bits == 1, X, 1 - X).min(axis=1)
        meas = set_measures(m, Y)
        n_r = int(counts[observed == r].sum())
        incl = meas["incl"]
        out.append(
            {
                "row": int(r) + 1,
                **dict(zip(conditions, bits.tolist(), strict=True)),
                "OUT": "?" if n_r == 0 else int(incl >= incl_cut - 1e-12),
                "n": n_r,
                "incl": incl,
                "PRI": meas["pri"],
                "cov": meas["cov"],
                "cases": ",".join(ids[case_row == r]),
            }
        )
    return pd.DataFrame(out)


def contradictions(tt: pd.DataFrame) -> pd.DataFrame:
    """The contradictory configurations of a crisp truth table (:func:`truth_table`): rows
    with cases on both sides of the outcome, i.e. 0 < incl < 1 (Ragin 2008; Rihoux & De
    Meur 2009). Their treatment is the row's ``OUT``: 1 if incl reaches the inclusion
    cut-off, else 0 (not sufficient, left out of the minimisation of the outcome)."""
    n = tt["n"].to_numpy()
    incl = tt["incl"].to_numpy(float)
    return tt[(n > 0) & (incl > 1e-12) & (incl < 1 - 1e-12)]


def _condition_table(df, conditions, outcome, negations) -> list[tuple[str, np.ndarray]]:
    sets = []
    for c in conditions:
        v = _as_members(df[c].to_numpy(float))
        sets.append((c, v))
        if negations:
            sets.append((f"~{c}", 1 - v))
    return sets


def sufficiency(
    df: pd.DataFrame, conditions: Sequence[str], outcome: str, negations: bool = True
) -> pd.DataFrame:
    """Each single condition (and its negation, ``~name``) as a sufficient condition for the
    outcome: ``condition, incl, PRI, cov``, one row per set."""
    d = df.dropna(subset=list(conditions) + [outcome])
    y = d[outcome].to_numpy(float)
    rows = []
    for name, v in _condition_table(d, conditions, outcome, negations):
        m = set_measures(v, y)
        rows.append({"condition": name, "incl": m["incl"], "PRI": m["pri"], "cov": m["cov"]})
    return pd.DataFrame(rows)


def necessity(
    df: pd.DataFrame, conditions: Sequence[str], outcome: str, negations: bool = True
) -> pd.DataFrame:
    """Each single condition (and its negation) as a necessary condition for the outcome:
    ``condition, incl`` (Σmin/ΣY), ``RoN``, ``cov`` (Σmin/ΣX), one row per set."""
    d = df.dropna(subset=list(conditions) + [outcome])
    y = d[outcome].to_numpy(float)
    rows = []
    for name, v in _condition_table(d, conditions, outcome, negations):
        m = set_measures(v, y)
        rows.append(
            {"condition": name, "incl": m["nec_incl"], "RoN": m["ron"], "cov": m["nec_cov"]}
        )
    return pd.DataFrame(rows)
