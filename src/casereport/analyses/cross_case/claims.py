"""The QCA claims: the article's data-dependent sentences about the truth tables and the
necessity table (``analyses/cross_case/analysis.py`` writes ``qca_*``;
``analyses/cross_case/qca_engagement.py``
writes ``qca_enrich_necessity``)."""

from __future__ import annotations

from casereport.analyses.claim_rules import Claim

NEC = "qca_enrich_necessity"

CLAIMS = [
    Claim(
        "qca-nhs-trivially-necessary",
        "NHS employment is fully consistent as a necessary condition for high engagement but "
        "its relevance of necessity is below one half (most sites are NHS sites), and high "
        "fidelity's relevance is higher",
        {"incl": f"{NEC}.nec_incl_nhs", "ron": f"{NEC}.ron_nhs",
         "ron_fid": f"{NEC}.ron_high_fidelity"},  # fmt: skip
        lambda v: v["incl"] == 1 and v["ron"] < 0.5 and v["ron_fid"] > v["ron"],
    ),
    Claim(
        "qca-retake-consistency-by-construction",
        "every observed RETAKE configuration with a listed reason has consistency 1 (the "
        "paper lists reasons only for sites above the expected amount)",
        {"min_incl": "qca_retake.min_incl_with_condition"},
        lambda v: v["min_incl"] == 1,
    ),
]
