"""Case selection of the engagement-fidelity shape, with the cut-offs as parameters: the
recomputed engagement percentage, the case types by engagement and site score, and the
crisp sets of its QCA.

The cut-offs have no defaults here: they are a trial's choices, kept in its folder's
``trial.yaml`` (``data/<code>/trial.yaml``, ``parameters``) and passed by the notebooks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from casereport.stats._util import as_float


def engagement_percent(engaged, with_data) -> np.ndarray:
    """Engagement % = 100 × engaged / participants with engagement data (NaN when 0 data)."""
    engaged, with_data = as_float(engaged), as_float(with_data)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(with_data > 0, 100.0 * engaged / with_data, np.nan)


def classify_sites(
    df: pd.DataFrame,
    *,
    high_engagement: float,
    low_engagement: float,
    high_fidelity: float,
    low_fidelity: float,
    engagement: str = "recomputed",
    site_col: str = "site",
    engaged_col: str = "engaged",
    with_data_col: str = "with_engagement_data",
    pct_col: str = "pct_engaged",
    fidelity_col: str = "fidelity_score",
) -> pd.DataFrame:
    """Classify sites by engagement and fidelity for case selection.

    Rules (inclusive cut-offs, engagement in %):

    * ``high-high``: engagement >= high_engagement and fidelity >= high_fidelity
    * ``low-low``: engagement <= low_engagement and fidelity <= low_fidelity
    * ``outlier``: discordant — fidelity >= high_fidelity with engagement <= low_engagement
      (the paper's site 2), or the mirror case fidelity <= low_fidelity with
      engagement >= high_engagement (none in ENRICH; included so other trials are handled)
    * ``other``: everything else (the middle band; not selected)

    ``engagement="recomputed"`` (default) uses 100 × engaged / with_engagement_data, the
    quantity the paper defines; ``"published"`` uses the published integer % column. They
    differ only at site 4 (8/17 = 47.1% vs published 41%) and give the same selection with
    ENRICH's cut-offs (data/enrich/trial.yaml).

    Returns a DataFrame with ``site, engagement_pct, fidelity, case_type, selected``
    (selected = case_type != "other"), in input order.
    """
    if engagement == "recomputed":
        eng = engagement_percent(df[engaged_col], df[with_data_col])
    elif engagement == "published":
        eng = as_float(df[pct_col])
    else:
        raise ValueError("engagement must be 'recomputed' or 'published'")
    fid = as_float(df[fidelity_col])
    hi_e, lo_e = eng >= high_engagement, eng <= low_engagement
    hi_f, lo_f = fid >= high_fidelity, fid <= low_fidelity
    case = np.select(
        [hi_e & hi_f, lo_e & lo_f, (hi_f & lo_e) | (lo_f & hi_e)],
        ["high-high", "low-low", "outlier"],
        default="other",
    )
    return pd.DataFrame(
        {
            "site": df[site_col].astype(str).to_numpy(),
            "engagement_pct": eng,
            "fidelity": fid,
            "case_type": case,
            "selected": case != "other",
        }
    )


def crisp_sets(
    df: pd.DataFrame,
    *,
    high_engagement: float,
    high_fidelity: float,
    urban_values: tuple[str, ...] = ("Urban",),
    nhs_values: tuple[str, ...] = ("NHS",),
    engagement: str = "recomputed",
) -> pd.DataFrame:
    """Crisp sets for the truth table of an engagement-fidelity trial: ``site, nhs, urban,
    high_fidelity`` (conditions) and ``high_engagement`` (outcome), all 0/1.

    ``urban`` is 1 only for locations exactly in ``urban_values`` (site 6, "Urban/rural", is
    mixed and counts as 0 by default; pass ``("Urban", "Urban/rural")`` to include it).
    Engagement and fidelity use the same cut-offs as :func:`classify_sites`.
    """
    # Only the high cut-offs define the sets; the low ones are set equal so no site is
    # left between them (the classification's case types are not used here).
    cls = classify_sites(
        df, high_engagement=high_engagement, low_engagement=high_engagement,
        high_fidelity=high_fidelity, low_fidelity=high_fidelity, engagement=engagement,
    )
    return pd.DataFrame(
        {
            "site": cls["site"],
            "nhs": df["employer"].isin(nhs_values).astype(int).to_numpy(),
            "urban": df["location"].isin(urban_values).astype(int).to_numpy(),
            "high_fidelity": (cls["fidelity"] >= high_fidelity).astype(int),
            "high_engagement": (cls["engagement_pct"] >= high_engagement).astype(int),
        }
    )
