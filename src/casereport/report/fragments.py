"""Markdown fragments under ``build/fragments/`` that ``index.qmd`` pulls in with
``::: {.casereport-fragment name="<name>"}`` divs (filled by ``_quarto/fragments.lua``),
and the data dictionary, audit and sensitivity tables among them.

Everything here is generated from the build's inputs and outputs (codebook, audit table,
results, run manifest), so the article never hard-codes a table, a run list or the number
of case profiles. Data-derived strings go through :func:`casereport.primitives.markdown.escape`.

The case-profile appendix is :mod:`casereport.report.case_appendix`, the colophon
:mod:`casereport.report.colophon`; both read the manifest's runs through
:mod:`casereport.report.manifest_runs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from casereport.primitives import atomic
from casereport.primitives import markdown as md
from casereport.primitives.format import estimate as fmt_estimate
from casereport.primitives.format import number as fmt_number
from casereport.primitives.format import p_relation
from casereport.primitives.labels import PRIMARY
from casereport.report import quantities, trial_sections
from casereport.report.case_appendix import case_appendix_md
from casereport.report.colophon import colophon_md
from casereport.report.manifest_runs import natural_key

FRAGMENTS = (
    "data_dictionary",
    "audit",
    "audit_all",
    "audit_explained",
    "sensitivity",
    "sensitivity_all",
    "case_appendix",
    "colophon",
    trial_sections.NAME,  # the sections of the trials no one wrote one for
)

# --------------------------------------------------------------------------- helpers


def _write(path: Path, text: str) -> None:
    """Atomic write: a reader (or Quarto) never sees half a fragment."""
    atomic.write_text(path, text if text.endswith("\n") else text + "\n")



# --------------------------------------------------------------------------- data dictionary


def data_dictionary_md(data_dir: Path | None = None) -> str:
    """The codebook (``casereport.trialdata.codebook.data_dictionary``) as one table per data file.

    Reads the trial codebooks of ``data_dir`` when the build used another data folder,
    else the project's."""
    from casereport.trialdata import codebook

    frame = codebook.data_dictionary(data_dir)
    return frame_md(frame, group_by=_first_present(frame, ("file", "resource", "table")), level=4)


def _first_present(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def frame_md(frame: pd.DataFrame, group_by: str | None = None, level: int = 3) -> str:
    """A DataFrame as escaped pipe table(s); one sub-heading + table per ``group_by`` value."""
    if frame is None or len(frame) == 0:
        return "_(none)_\n"

    def one(df: pd.DataFrame) -> str:
        cols = [c for c in df.columns if c != group_by]
        align = "".join("r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in cols)
        rows = [[_cell(v) for v in rec] for rec in df[cols].itertuples(index=False)]
        return md.table([str(c) for c in cols], rows, align)

    if group_by is None:
        return one(frame)
    parts = []
    for key, df in frame.groupby(group_by, sort=False):
        parts.append(f"{'#' * level} {md.code(key)} {{.unnumbered}}\n\n{one(df)}")
    return "\n".join(parts)


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        return "" if value != value else fmt_number(value)
    return value


# --------------------------------------------------------------------------- audit


def _audit_view(frame: pd.DataFrame, extra: tuple[str, ...]) -> pd.DataFrame:
    """The audit columns a reader needs, those present, with the rounded value as 'recomputed'."""
    base = ("source", "site", "quantity", "published", "recomputed_rounded")
    cols = [c for c in (*base, *extra) if c in frame.columns]
    return frame[cols].rename(columns={"recomputed_rounded": "recomputed"})


def audit_md(audit: pd.DataFrame | None) -> str:
    """The reproduction audit: counts and every discrepancy in full (the list of all
    checks is :func:`audit_all_md`, for the appendix).

    Expects ``casereport.audit.audit()``'s columns (``status`` is ``reproduced``,
    ``discrepancy``, ``depends on reading`` or ``not comparable``); any other table is shown
    as it is."""
    if audit is None or len(audit) == 0:
        return "The audit found no derived published numbers to check.\n"
    if "status" not in audit.columns:
        return frame_md(audit)
    status = audit["status"].astype(str)
    bad = audit[status != "reproduced"]
    n, n_bad = len(audit), len(bad)
    n_disc = int((status == "discrepancy").sum())
    n_read = int((status == "depends on reading").sum())
    n_nc = int((status == "not comparable").sum())
    lead = (
        f"The audit recomputed {n} published numbers from the numbers they are derived from "
        f"(published table cells and claims in the text); {n - n_bad} reproduce exactly after "
        f"rounding half up to the published precision, {n_disc} "
        f"{'does' if n_disc == 1 else 'do'} not (discrepancies: clear errors of the papers), "
        f"{n_read} {'depends' if n_read == 1 else 'depend'} on how this report reads the "
        "sentence (depends on reading: the reading is stated, and another reading would "
        f"reproduce the text) and {n_nc} "
        f"{'is' if n_nc == 1 else 'are'} not comparable (the published number uses another "
        "definition than the data; the reason is shown). Published values are kept as "
        "published; the discrepancies are findings about the papers"
        + (", listed with the others in @tbl-audit-discrepancies" if n_bad else "")
        + '. Every check is listed in the supplement, []{.supp ref="tbl-audit-all"}.\n\n'
    )
    if not n_bad:
        return lead
    # discrepancies first, then the report's readings, then other definitions
    shown = _explained(bad)
    if "explanation" in shown.columns:  # the article's table: the verdicts; the reasons
        shown = shown.drop(columns=["explanation"]).assign(  # are in the supplement
            status=list(bad.iloc[_status_order(bad)]["status"]))
    return (
        lead
        + frame_md(shown)
        + "\n: Published numbers that their own inputs do not reproduce (discrepancy), that "
        "reproduce or not depending on how the sentence is read (depends on reading), or that "
        "use another definition than the data (not comparable): the published value and the "
        "value recomputed from its inputs (rounded half up to the published precision; a "
        "true/false check shows whether the stated relation holds). Each is explained in "
        '[]{.supp ref="tbl-audit-explained"}. {#tbl-audit-discrepancies}\n'
    )


def _status_order(bad: pd.DataFrame) -> Any:
    """Discrepancies first, then the report's readings, then other definitions."""
    order = {k: i for i, k in enumerate(("discrepancy", "depends on reading", "not comparable"))}
    return bad["status"].astype(str).map(order).fillna(len(order)).argsort(kind="stable")


def audit_explained_md(audit: pd.DataFrame | None) -> str:
    """The supplement's table of every check that does not reproduce, each with its
    explanation (which opens with the status); the article lists their verdicts."""
    if audit is None or len(audit) == 0 or "status" not in audit.columns:
        return ""
    bad = audit[audit["status"].astype(str) != "reproduced"]
    if not len(bad):
        return "Every published number the audit checked reproduces.\n"
    return (
        frame_md(_explained(bad))
        + "\n: Each published number that does not reproduce, with the explanation (which "
        "opens with its status: discrepancy, depends on reading or not comparable). "
        "{#tbl-audit-explained}\n"
    )


def _explained(bad: pd.DataFrame) -> pd.DataFrame:
    """The non-reproduced checks in status order: published → recomputed and explanation."""
    bad = bad.iloc[_status_order(bad)]
    shown = _audit_view(bad, ("explanation",))
    if "status" in bad.columns and "explanation" in shown.columns:  # each opens with its status
        shown = shown.assign(explanation=[
            e if str(e).startswith(str(st)) else f"{st}: {e}"
            for st, e in zip(bad["status"], shown["explanation"], strict=True)
        ])  # fmt: skip
    if {"published", "recomputed"} <= set(shown.columns):  # one narrow column, not two
        pair = [f"{_cell(a)} → {_cell(b)}" for a, b in zip(shown["published"],
                                                          shown["recomputed"], strict=True)]
        shown = shown.drop(columns=["published", "recomputed"])
        shown.insert(3, "published → recomputed", pair)
    return shown


def audit_all_md(audit: pd.DataFrame | None, quotes: Mapping[str, str] | None = None) -> str:
    """Every audit check, one row each, for the supplement: what was checked, the published
    and the recomputed value, the verdict, and for a claim of the text the words quoted
    from the paper (``quotes``: claim id -> quote, from ``published_claims.yaml``) with the
    reading this audit takes of them, where a sentence can be read more than one way."""
    if audit is None or len(audit) == 0 or "status" not in audit.columns:
        return "The audit found no derived published numbers to check.\n"
    shown = _audit_view(audit, ("status",))
    if {"published", "recomputed"} <= set(shown.columns):  # one narrow column, not two
        pair = [f"{_cell(a)} → {_cell(b)}" for a, b in zip(shown["published"],
                                                          shown["recomputed"], strict=True)]
        at = list(shown.columns).index("published")
        shown = shown.drop(columns=["published", "recomputed"])
        shown.insert(at, "published → recomputed", pair)
    quotes = quotes or {}
    ids = audit["id"].astype(str) if "id" in audit.columns else pd.Series([""] * len(audit))
    readings = audit["reading"] if "reading" in audit.columns else pd.Series([None] * len(audit))
    words = []
    for ident, reading in zip(ids, readings, strict=True):
        quote = quotes.get(ident)
        text = f"“{' '.join(str(quote).split())}”" if quote else ""
        if isinstance(reading, str) and reading.strip():
            text += (" " if text else "") + f"Reading: {' '.join(reading.split())}"
        words.append(text)
    if any(words):
        shown = shown.assign(**{"quote and reading": words})
    return (
        frame_md(shown.reset_index(drop=True))
        + f"\n: All {len(audit)} audit checks: each derived published number, the formula or "
        "statement it was recomputed from, the published value and the value recomputed "
        "from its inputs (rounded half up to the published precision), the verdict and, for "
        "a number stated in the text, the words quoted and the reading this audit takes of "
        "them. {#tbl-audit-all}\n"
    )


def claim_quotes(data_dir: Path | None = None) -> dict[str, str]:
    """Claim id -> the words quoted from the paper (each trial folder's
    ``published_claims.yaml`` of ``data_dir``, else of the project's); a file absent or
    invalid gives none (the validation reports that)."""
    from casereport.primitives import paths
    from casereport.trialdata import loaders, trials

    out: dict[str, str] = {}
    try:
        found = trials.discover(data_dir if data_dir is not None else paths.DATA_DIR)
    except (loaders.DataError, OSError):
        return out
    for trial in found.values():
        try:
            claims = loaders.load_claims(trial.claims_path)
        except (loaders.DataError, OSError):
            continue
        out.update({str(i): str(q) for i, q in zip(claims["id"], claims["quote"], strict=True)
                    if q})
    return out


# --------------------------------------------------------------------------- sensitivity


def _estimate_text(row: Mapping[str, Any]) -> str:
    label = row.get("label")
    if isinstance(label, str) and label:
        return label  # a naming quantity: the site as the data spell it
    est, lo, hi = fmt_estimate(
        row.get("estimate"), row.get("ci_low"), row.get("ci_high"), strip=False
    )
    if not est:
        return ""
    text = est + (f" ({lo} to {hi})" if lo and hi else "")
    p = p_relation(row.get("p_value"))
    return text + (f", {p}" if p else "")


def _sensitivity_rows(results: pd.DataFrame | None) -> tuple[list[str], list[list[str]]]:
    """(alternative sets, rows ``[analysis, quantity, primary, *sets]``) for every estimate
    that an alternative parameter set changes, in the primary set's order.

    Case-profile rows (parameter sets such as ``enrich-3``) are not parameter sets of an
    analysis and are left out: only sets that share a quantity with ``primary`` appear."""
    if results is None or len(results) == 0 or "parameter_set" not in results:
        return [], []
    df = results.copy()
    df["parameter_set"] = df["parameter_set"].astype(str)
    primary = df[df["parameter_set"] == PRIMARY]
    keys = set(zip(primary["analysis"], primary["quantity"], strict=True))
    others = df[df["parameter_set"] != PRIMARY]
    others = others[[k in keys for k in zip(others["analysis"], others["quantity"], strict=True)]]
    sets = sorted(others["parameter_set"].unique(), key=natural_key)
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for rec in df[df["parameter_set"].isin([PRIMARY, *sets])].to_dict("records"):
        key = (rec["analysis"], rec["quantity"])
        if key in keys:
            cells.setdefault(key, {})[rec["parameter_set"]] = _estimate_text(rec)
    order = [k for k in zip(primary["analysis"], primary["quantity"], strict=True)]

    # A set is compared only on the analyses it ran (a notebook's sets share analyses).
    ran = {s: set(others.loc[others["parameter_set"] == s, "analysis"]) for s in sets}

    def differs(key: tuple[str, str]) -> bool:
        base = cells[key].get(PRIMARY, "")
        return any(key[0] in ran[s] and cells[key].get(s, "") != base for s in sets)

    rows = [
        [a, q, cells[(a, q)].get(PRIMARY, "")]
        + [cells[(a, q)].get(s, "") if a in ran[s] else "n/a" for s in sets]
        for a, q in order
        if differs((a, q))
    ]
    return sets, rows


def _sensitivity_table(sets: list[str], rows: list[list[str]], caption: str) -> str:
    """Rows grouped by analysis (in order of first appearance; its label on the first row
    of each group), quantities under their reader-facing labels."""
    first = {a: i for i, (a, *_) in reversed(list(enumerate(rows)))}
    body, last = [], None
    for a, q, *values in sorted(rows, key=lambda r: first[r[0]]):
        body.append([quantities.analysis_label(a) if a != last else "",
                     quantities.quantity_label(q), *values])  # fmt: skip
        last = a
    headers = ["Analysis", "Estimate", PRIMARY, *(quantities.set_label(s) for s in sets)]
    return md.table(headers, body, "ll" + "r" * (1 + len(sets))) + f"\n: {caption}\n"


_SENSITIVITY_NOTE = (
    "Each estimate with its confidence interval and p-value where computed; blank: not "
    "estimated under that set (e.g. a site left out); n/a: the set belongs to another "
    "notebook."
)


def not_applicable_md(skipped: Iterable[Mapping[str, Any]] = ()) -> str:
    """One sentence per parameter set left out because it does not apply to these data
    (the manifest's ``not_applicable``, from ``pipeline.plan``); empty when none."""
    return "".join(
        f"The parameter set {md.code(s['parameter_set'])} of {md.code(s['notebook'])} is not "
        f"applicable to these data and was not run: {md.escape(s['reason'])}.\n\n"
        for s in skipped
    )


def sensitivity_md(
    results: pd.DataFrame | None, skipped: Iterable[Mapping[str, Any]] = ()
) -> str:
    """The estimates the text discusses, under the primary and every alternative set;
    the other estimates that change are :func:`sensitivity_all_md`, in the appendix.
    ``skipped``: the sets that do not apply to these data, each said first."""
    note = not_applicable_md(skipped)
    return note + _sensitivity_body(results)


def _sensitivity_body(results: pd.DataFrame | None) -> str:
    sets, rows = _sensitivity_rows(results)
    if not sets:
        return "Every analysis was run with its primary parameter set only.\n"
    if not rows:
        return "The alternative parameter sets left every estimate unchanged.\n"
    head = [r for r in rows if (r[0], r[1]) in quantities.HEADLINE]
    text = (
        f"{len(rows)} estimates change under the {len(sets)} alternative parameter "
        f"{'set' if len(sets) == 1 else 'sets'}. @tbl-sensitivity shows the ones this "
        'report discusses; []{.supp ref="tbl-sensitivity-all"}, in the supplement, lists them '
        "all.\n\n"
    )
    if not head:
        return text
    return text + _sensitivity_table(
        sets, head, f"Headline estimates under each parameter set. {_SENSITIVITY_NOTE} "
        "{#tbl-sensitivity}"
    )


def sensitivity_all_md(results: pd.DataFrame | None) -> str:
    """Every estimate that an alternative parameter set changes, for the appendix."""
    sets, rows = _sensitivity_rows(results)
    if not sets or not rows:
        return "No estimate changes under an alternative parameter set.\n"
    return _sensitivity_table(
        sets, rows, f"Every estimate that changes under an alternative parameter set. "
        f"{_SENSITIVITY_NOTE} {{#tbl-sensitivity-all}}"
    )


# --------------------------------------------------------------------------- case appendix


# --------------------------------------------------------------------------- entry point


def write_fragments(
    build_dir: Path,
    results: pd.DataFrame | None,
    audit: pd.DataFrame | None,
    manifest: Mapping[str, Any] | None,
) -> None:
    """Write every fragment of :data:`FRAGMENTS` as ``build_dir/fragments/<name>.md``
    (each atomically)."""
    out = Path(build_dir) / "fragments"
    data_dir = Path(manifest["data_dir"]) if manifest and manifest.get("data_dir") else None
    skipped = (manifest or {}).get("not_applicable", [])
    texts = {
        "data_dictionary": data_dictionary_md(data_dir),
        "audit": audit_md(audit),
        "audit_all": audit_all_md(audit, claim_quotes(data_dir)),
        "audit_explained": audit_explained_md(audit),
        "sensitivity": sensitivity_md(results, skipped),
        "sensitivity_all": not_applicable_md(skipped) + sensitivity_all_md(results),
        "case_appendix": case_appendix_md(manifest, results),
        "colophon": colophon_md(manifest, data_dir),
    }
    for name, text in texts.items():
        _write(out / f"{name}.md", text)
    trial_sections.write(Path(build_dir), results, data_dir)
