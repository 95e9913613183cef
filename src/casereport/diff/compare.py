"""Run ``casereport diff``: resolve both sides, compare, write every output, exit code.

Exit codes: 0 no change, 1 changes (with ``fail_on="conclusions"``: only when a
conclusion changed), 2 a side cannot be compared (no such ref, an older results format,
builds of different trials, a failed build): one clear message, no traceback.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from casereport.diff import conclusions as _diff
from casereport.diff import data_cells as data_diff
from casereport.diff import markdown as changes
from casereport.diff import sides
from casereport.primitives import atomic, terminal

console = Console(highlight=False)
FIELDS = ["category", "section", "what", "where", "old", "new"]


def check_comparable(base: sides.Side, head: sides.Side) -> None:
    """Two builds compare when they share a trial: a trial folder added or removed is a
    change the diff lists (its results added or removed), a wholly other data set is not."""
    a, b = (set(filter(None, s.trial.split(", "))) for s in (base, head))
    if a and b and not a & b:
        raise sides.SideError(
            f"the builds are of different trials: {base.label} is {base.trial!r}, "
            f"{head.label} is {head.trial!r}"
        )


def compare(base: sides.Side, head: sides.Side, tol: _diff.Tolerances | None = None) -> _diff.Diff:
    """Compare two loaded sides (:class:`casereport.diff.sides.Side`)."""
    tol = tol or _diff.Tolerances()
    d = _diff.Diff(base.label, head.label)
    changes = [
        *compare_claims(base.claims, head.claims),
        *_diff.compare_classifications(base.results, head.results),
        *_diff.compare_truth_tables(base.results, head.results),
        *_diff.compare_audit(base.audit, head.audit),
        *_diff.compare_results(base.results, head.results, tol),
        *data_diff.compare_data(base.data_dir, head.data_dir),
    ]
    order = [_diff.CONCLUSION, _diff.MOVED, _diff.ADDED, _diff.REMOVED, _diff.DATA, _diff.BELOW]
    d.changes = sorted(changes, key=lambda c: order.index(c.category))
    d.reran = _diff.rerun_runs(base.manifest, head.manifest)
    return d


def compare_claims(base: list[dict], head: list[dict]) -> list[_diff.Change]:
    """A claim whose verdict changed is a conclusion, listed first, with its sentence."""
    a = {c["id"]: c for c in base}
    out = []
    for c in head:
        old = a.get(c["id"], {}).get("status", "")
        if old and old != c["status"]:
            where = f"claim {c['id']}: \u201c{c.get('sentence') or c.get('asserts')}\u201d"
            out.append(_diff.Change(_diff.CONCLUSION, "claims", "verdict", where, old,
                                    f"{c['status']} ({c.get('now', '')})"))
    return out


def statuses(side: sides.Side) -> dict[str, str]:
    """run_id -> 'ran' | 'cached' as the side's build recorded it."""
    return {r["run_id"]: r.get("status", "") for r in side.manifest.get("runs", [])}


def write_outputs(
    d: _diff.Diff,
    markdown: Path | None,
    json_out: Path | None,
    csv_out: Path | None,
    runs: dict | None = None,
    comment: Path | None = None,
) -> str:
    rows = d.records()
    text = changes.diff_md(rows, d.base, d.head, d.reran)
    if markdown:
        atomic.write_text(markdown, text)
    if comment:
        atomic.write_text(comment, changes.fit(text))
    if json_out:
        payload = {
            "base": d.base,
            "head": d.head,
            "rerun": d.reran,
            "counts": _diff.counts(d.changes),
            "changes": rows,
            "runs": runs or {},
        }
        atomic.write_text(json_out, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    if csv_out:
        with atomic.replacing(csv_out, newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
    return text


def exit_code(d: _diff.Diff, fail_on: str) -> int:
    if fail_on == "conclusions":
        return 1 if d.conclusions else 0
    return 0 if d.empty else 1


def run(
    base: str,
    head: str,
    *,
    jobs: int | None = None,
    tolerances: _diff.Tolerances | None = None,
    markdown: Path | None = None,
    json_out: Path | None = None,
    csv_out: Path | None = None,
    fail_on: str = "changes",
    comment: Path | None = None,
) -> int:
    """``casereport diff BASE HEAD``; returns the exit code."""
    got: list[sides.Side] = []
    try:
        for spec in (base, head):
            console.print(
                f"diff      building {spec}"
                if not Path(spec).is_dir() or spec == sides.WORKING_TREE
                else f"diff      reading {spec}"
            )
            got.append(sides.resolve(spec, jobs))
        check_comparable(*got)
        d = compare(got[0], got[1], tolerances)
        runs = {"base": statuses(got[0]), "head": statuses(got[1])}
    except sides.SideError as exc:
        print(f"casereport: error: {exc}", file=sys.stderr)
        return 2
    finally:
        sides.release(*got)
    text = write_outputs(d, markdown, json_out, csv_out, runs, comment)
    if terminal.interactive(console):
        show_tables(d)
    else:  # a pipe or a file: the Markdown of the job summary
        print(text, end="")
    return exit_code(d, fail_on)


def show_tables(d: _diff.Diff) -> None:
    """The summary on a terminal: the counts, then one aligned table per section."""
    rows = d.records()
    console.print(Text(f"casereport diff: {d.base} → {d.head}", style="bold"))
    console.print(Text(changes.summary_line(rows, d.reran)))
    for title, chosen in changes.sections(rows):
        console.print()
        terminal.table(changes.HEADERS, [changes.cells(r) for r in chosen], title=title,
                       out=console)
