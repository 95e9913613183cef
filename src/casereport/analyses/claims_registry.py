"""Every claim the article may mark, gathered from each analysis room's ``claims`` module
(``casereport/analyses/<room>/claims.py``), so a new room's claims need no edit here."""

from __future__ import annotations

import importlib
import pkgutil

import casereport.analyses as _analyses
from casereport.analyses.claim_rules import Claim


def _rooms_claims() -> list[Claim]:
    found: list[Claim] = []
    for room in sorted(m.name for m in pkgutil.iter_modules(_analyses.__path__) if m.ispkg):
        try:
            mod = importlib.import_module(f"casereport.analyses.{room}.claims")
        except ModuleNotFoundError as exc:
            if exc.name != f"casereport.analyses.{room}.claims":
                raise
            continue  # a room without claims
        found += mod.CLAIMS
    return found


CLAIMS: list[Claim] = _rooms_claims()
BY_ID: dict[str, Claim] = {c.id: c for c in CLAIMS}
if len(BY_ID) != len(CLAIMS):  # pragma: no cover - a declaration error, caught on import
    raise ValueError("two claims share an id")
