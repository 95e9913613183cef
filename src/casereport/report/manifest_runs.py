"""The run records of the build's manifest (``build/manifest.json``), read leniently.

``runs`` is a list of run records or a mapping ``run_id -> record``; each record may hold
``run_id``, ``notebook``, ``parameter_set``, ``parameters``, ``status``, ``seconds``,
``cached``. Used by the fragments that list runs (case appendix, colophon).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from casereport.primitives.labels import CACHED, RAN


def runs_from_manifest(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The manifest's run records as dicts with at least run_id, notebook, parameter_set."""
    if not manifest:
        return []
    raw = manifest.get("runs", [])
    items: Iterable[tuple[str | None, Any]]
    if isinstance(raw, Mapping):
        items = raw.items()
    else:
        items = ((None, r) for r in raw)
    out = []
    for key, rec in items:
        rec = dict(rec) if isinstance(rec, Mapping) else {}
        run_id = str(rec.get("run_id") or rec.get("id") or key or "")
        nb = rec.get("notebook") or (run_id.split("--", 1)[0] if "--" in run_id else "")
        nb = Path(str(nb)).stem
        ps = rec.get("parameter_set") or (run_id.split("--", 1)[1] if "--" in run_id else "")
        if not run_id and nb:
            run_id = f"{nb}--{ps}"
        rec.update(run_id=run_id, notebook=nb, parameter_set=str(ps))
        out.append(rec)
    return out


def run_ok(rec: Mapping[str, Any]) -> bool:
    status = rec.get("status")
    return status is None or status in (RAN, CACHED)


def natural_key(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]
