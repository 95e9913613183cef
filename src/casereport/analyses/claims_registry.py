"""Every claim the article may mark, gathered from the analyses that declare them."""

from __future__ import annotations

from casereport.analyses import enrich_claims, qca_claims, retake_claims
from casereport.analyses.claim_rules import Claim

CLAIMS: list[Claim] = [*enrich_claims.CLAIMS, *retake_claims.CLAIMS, *qca_claims.CLAIMS]
BY_ID: dict[str, Claim] = {c.id: c for c in CLAIMS}
if len(BY_ID) != len(CLAIMS):  # pragma: no cover - a declaration error, caught on import
    raise ValueError("two claims share an id")
