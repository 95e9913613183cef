"""The RETAKE claims: the article's data-dependent sentences about mentoring time.

Each claim reads quantities that ``analyses/mentoring_time/analysis.py`` writes (analysis
``retake_*``).
"""

from __future__ import annotations

from casereport.analyses.claim_rules import Claim

CORR, REASONS = "retake_correlations", "retake_reasons"

CLAIMS = [
    Claim(
        "retake-phone-share-falls",
        "the rank correlation between minutes per month and the phone or Teams share is "
        "negative",
        {"rho": f"{CORR}.spearman_rho_pct_phone_teams"},
        lambda v: v["rho"] < 0,
    ),
    Claim(
        "retake-reasons-only-above",
        "no site close to or below the expected amount has a listed reason (the paper lists "
        "reasons only for sites above it, so a site that now falls in another group breaks "
        "the sentence)",
        {"close": f"{REASONS}.n_with_reason_close", "less": f"{REASONS}.n_with_reason_less"},
        lambda v: v["close"] == 0 and v["less"] == 0,
    ),
]
