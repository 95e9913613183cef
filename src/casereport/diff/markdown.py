"""The Markdown of ``casereport diff`` and of the report's appendix "Changes since REF".

Reads the diff's rows as plain records (``category, section, what, where, old, new``;
:class:`casereport.diff.conclusions.Change`), so the report side needs nothing from the
build wing. Conclusions first, then estimates that moved by more than their displayed
precision, then what was added or removed, then the data; changes below the displayed
precision are only counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from casereport.primitives import markdown

HEADERS = ["Change", "Where", "Before", "After"]
# GitHub refuses a pull-request comment over 65,536 characters; leave room for the marker
# the sticky-comment action adds.
COMMENT_LIMIT = 65_000
SECTIONS = [
    ("conclusion", "Conclusions that changed"),
    ("moved", "Estimates that moved by more than their displayed precision"),
    ("added", "Added"),
    ("removed", "Removed"),
    ("data", "Data"),
]


def _count(rows: Sequence[Mapping], category: str) -> int:
    return sum(1 for r in rows if r["category"] == category)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _what(r: Mapping) -> str:
    return f"{r['section']}: {r['what']}" if r["category"] != "data" else r["what"]


def cells(r: Mapping) -> list[str]:
    """One change as the cells of a row under :data:`HEADERS`."""
    return [_what(r), r["where"], r["old"], r["new"]]


def sections(rows: Sequence[Mapping]) -> list[tuple[str, list[Mapping]]]:
    """The listed rows by section, in :data:`SECTIONS` order, each title with its count."""
    out = []
    for category, title in SECTIONS:
        chosen = [r for r in rows if r["category"] == category]
        if chosen:
            out.append((f"{title} ({len(chosen)})", chosen))
    return out


def table_md(rows: Sequence[Mapping], caption: str = "") -> str:
    """A pipe table of changes (old and new values as text), with an optional caption
    line (``: caption {#tbl-x}``)."""
    body = [cells(r) for r in rows]
    out = markdown.table(HEADERS, body)
    return out + (f"\n: {caption}\n" if caption else "")


def summary_line(rows: Sequence[Mapping], reran: Sequence[str] = ()) -> str:
    """One sentence: how many of each kind; says so when nothing changed."""
    if not rows:
        text = "No change: results, audit, classifications, truth tables and data are the same."
        if reran:
            text = (
                f"No result changed, although {_plural(len(reran), 'run')} re-executed "
                f"because its notebook, parameters or inputs changed ({', '.join(reran)}). "
                "Audit, classifications, truth tables and data are the same."
            )
        return text
    parts = [
        _plural(_count(rows, "conclusion"), "conclusion") + " changed",
        _plural(_count(rows, "moved"), "estimate") + " moved",
        f"{_count(rows, 'added')} added",
        f"{_count(rows, 'removed')} removed",
        _plural(_count(rows, "data"), "data change"),
    ]
    below = _count(rows, "below")
    text = ", ".join(parts) + "."
    if below:
        text += f" {_plural(below, 'change')} below the displayed precision (counted, not listed)."
    return text


def diff_md(rows: Sequence[Mapping], base: str, head: str, reran: Sequence[str] = ()) -> str:
    """The full Markdown summary (terminal, job summary, pull-request comment)."""
    lines = [f"## casereport diff: {markdown.escape(base)} → {markdown.escape(head)}", ""]
    lines += [summary_line(rows, reran), ""]
    for title, chosen in sections(rows):
        lines += [f"### {title}", "", table_md(chosen)]
    return "\n".join(lines).rstrip() + "\n"


def fit(text: str, limit: int = COMMENT_LIMIT) -> str:
    """``text`` cut at a line boundary to at most ``limit`` characters, with a closing line
    saying how much was left out (conclusions come first, so they are kept)."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    note = (f"\n\n*Cut to fit a pull-request comment: {{kept}} of {len(lines)} lines shown. "
            "The full diff is in the job summary and the `casereport-diff` artifact.*\n")
    budget = limit - len(note.format(kept=len(lines)))
    kept, size = 0, 0
    while kept < len(lines) and size + len(lines[kept]) + 1 <= budget:
        size += len(lines[kept]) + 1
        kept += 1
    return "\n".join(lines[:kept]).rstrip() + note.format(kept=kept)


def appendix_md(rows: Sequence[Mapping], ref: str, reran: Sequence[str] = ()) -> str:
    """The supplement's section on what changed: a heading, the summary and the
    conclusions table."""
    ref_text = markdown.escape(ref)
    lines = [f"## Changes since {ref_text} {{#sec-changes}}", ""]
    lines += [
        f"This build was compared with a build of {ref_text} (`casereport build "
        "--compare-to`). " + summary_line(rows, reran),
        "",
    ]
    conclusions = [r for r in rows if r["category"] == "conclusion"]
    if conclusions:
        lines += [
            f"@tbl-changes lists every conclusion that differs from {ref_text}.",
            "",
            table_md(conclusions, f"Conclusions that changed since {ref_text} {{#tbl-changes}}"),
        ]
    else:
        lines += [f"No conclusion differs from {ref_text}.", ""]
    return "\n".join(lines).rstrip() + "\n"
