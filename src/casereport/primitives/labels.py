"""The study's vocabulary: class orders and labels, factor labels, run names (the trials'
names are in their folders' trial.yaml, read by casereport.trialdata.trials).

A ground-floor module: everything may import it and it imports nothing of ours. Each
word the report shows for a code (``"less"`` -> "less than expected") is defined here
once; analyses, tables, figures, profiles and the report fragments all use these.
"""

from __future__ import annotations

#: Parameter set every notebook has; others are sensitivity analyses.
PRIMARY = "primary"
#: The report's significance level: `casereport diff` lists a p-value crossing it as a
#: changed conclusion.
ALPHA = 0.05
#: The notebook run once per site of each trial.
CASE_PROFILE = "case_profile"
#: A run's status in build/manifest.json (and .casereport-cache/last-build.json): executed
#: by that build, taken from the cache, or failed (last-build.json only).
RAN, CACHED, FAILED = "ran", "cached", "failed"


#: ENRICH case types (analyses.engagement_fidelity.classify), in display order, and their labels.
CASE_TYPES = ["high-high", "low-low", "outlier", "other"]
CASE_LABELS = {
    "high-high": "high engagement, high fidelity",
    "low-low": "low engagement, low fidelity",
    "outlier": "outlier (discordant)",
    "other": "not selected",
}

#: RETAKE mentoring groups against the expected minutes (analyses.mentoring_time.classify).
MENTORING_GROUPS = ["less", "close", "more"]
GROUP_LABELS = {
    "less": "less than expected",
    "close": "close to expected",
    "more": "more than expected",
}

#: RETAKE site factors (data/retake/retake_site_factors.csv), in display order.
FACTOR_LABELS = {
    "ot_turnover": "OT turnover",
    "low_competency": "low competency scores",
    "less_confident": "less confident OTs",
    "larger_caseload": "larger caseload",
    "site_specific_issues": "site-specific issues",
}

#: Short column labels of the RETAKE reasons in the cross-case matrix.
FACTOR_SHORT = {
    "ot_turnover": "Turnover",
    "low_competency": "Low comp.",
    "less_confident": "Less conf.",
    "larger_caseload": "Caseload",
    "site_specific_issues": "Site issues",
}

#: Basis of a reason-to-theory mapping: the paper links them, or it is the report's reading.
MAPPING_BASIS = {"paper": "P", "judgement": "J"}

#: Rank correlates of RETAKE minutes per month: column -> (quantity suffix, label).
CORRELATES = {
    "ppo": ("participants_per_ot", "participants per OT (caseload)"),
    "participants": ("participants", "participants per site (caseload)"),
    "participants_per_month": ("participants_per_month", "participants per site-month (caseload)"),
    "ots": ("n_ots", "number of OTs"),
    "pct_phone_teams": ("pct_phone_teams", "% of minutes by phone or Teams"),
}

#: QCA conditions and outcomes (column -> label).
ENRICH_CONDITIONS = {"nhs": "NHS employer", "urban": "Urban", "high_fidelity": "High fidelity"}
ENRICH_OUTCOME = ("high_engagement", "High engagement")
RETAKE_OUTCOME = ("above_expected", "Above-expected mentoring")


def factor_label(factor: str) -> str:
    """``"ot_turnover"`` -> "OT turnover"; an unknown factor with spaces for underscores."""
    return FACTOR_LABELS.get(factor, factor.replace("_", " "))


def sentence_case(text: str) -> str:
    """First letter upper case, the rest untouched (keeps "OT" as "OT")."""
    return text[:1].upper() + text[1:]


def site_label(site: object) -> str:
    return f"Site {site}"
