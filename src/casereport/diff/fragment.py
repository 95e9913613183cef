"""``casereport build --compare-to REF``: the report's appendix "Changes since REF".

The build writes ``build/fragments/changes.md`` always: the appendix (its heading, the
summary and the conclusions table, :func:`casereport.diff.markdown.appendix_md`) when a
baseline was given, else nothing, so a report built without a baseline has no appendix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from casereport.primitives import atomic, paths

if TYPE_CHECKING:  # imported when used: the no-op build loads neither pandas nor the diff
    import pandas as pd

    from casereport.diff import sides

FRAGMENT = "changes"


def baseline_fingerprint(fp: str, baseline: sides.Side | None) -> str:
    """The build's fingerprint combined with the baseline's (``fp`` itself without one): a
    report compared with a baseline is not up to date for a plain build, nor for another
    baseline."""
    if baseline is None:
        return fp
    other = str(baseline.manifest.get("fingerprint") or baseline.manifest.get("created"))
    return hashlib.sha256(f"{fp}\0{baseline.label}\0{other}".encode()).hexdigest()


def record_and_compare(
    build_dir: Path, data_dir: Path | None, audit: pd.DataFrame, baseline: sides.Side | None
) -> None:
    """Write the new build's ``audit.csv``, record its inputs (:func:`sides.record_inputs`),
    write
    ``build_dir/fragments/changes.md``: the appendix against ``baseline``, or empty."""
    from casereport.diff import compare, sides
    from casereport.diff import markdown as changes

    audit.to_csv(build_dir / "audit.csv", index=False)
    sides.record_inputs(build_dir, (data_dir or paths.DATA_DIR).resolve())
    text = ""
    if baseline is not None:
        head = sides.load(build_dir, "this build")
        d = compare.compare(baseline, head)
        text = changes.appendix_md(d.records(), baseline.label, d.reran)
    atomic.write_text(build_dir / "fragments" / f"{FRAGMENT}.md", text)
