"""Markdown fragments under ``build/fragments/`` that ``index.qmd`` pulls in with
``{{< fragment <name> >}}`` (``_quarto/fragment.lua``).

Everything here is generated from the build's inputs and outputs (codebook, audit table,
results, run manifest), so the article never hard-codes a table, a run list or the number
of case profiles. Data-derived strings go through :func:`casereport.markdown.escape`.

The manifest is the pipeline's ``build/manifest.json``. This module reads, leniently:
``runs`` (a list of run records or a mapping ``run_id -> record``; each record may hold
``run_id``, ``notebook``, ``parameter_set``, ``parameters``, ``status``, ``seconds``,
``cached``) and optionally ``data_dir`` and ``data_files`` (``{name: sha256}``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from casereport import atomic, paths
from casereport import markdown as md
from casereport.format import estimate as fmt_estimate
from casereport.format import number as fmt_number
from casereport.format import p_relation
from casereport.labels import CACHED, CASE_PROFILE, PRIMARY, RAN, TRIAL_NAMES
from casereport.report import quantities

FRAGMENTS = (
    "data_dictionary",
    "audit",
    "audit_all",
    "sensitivity",
    "sensitivity_all",
    "case_appendix",
    "colophon",
)
KEY_PACKAGES = (
    "casereport",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbformat",
    "nbclient",
    "ipykernel",
    "frictionless",
    "pypandoc-binary",
)


# --------------------------------------------------------------------------- helpers


def _write(path: Path, text: str) -> None:
    """Atomic write: a reader (or Quarto) never sees half a fragment."""
    atomic.write_text(path, text if text.endswith("\n") else text + "\n")


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


def _run_ok(rec: Mapping[str, Any]) -> bool:
    status = rec.get("status")
    return status is None or status in (RAN, CACHED)


def _natural(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


# --------------------------------------------------------------------------- data dictionary


def data_dictionary_md(data_dir: Path | None = None) -> str:
    """The codebook (``casereport.codebook.data_dictionary``) as one table per data file.

    Reads ``data_dir/datapackage.json`` when the build used another data folder that has
    its own codebook, else the project's."""
    from casereport import codebook

    pkg = Path(data_dir) / "datapackage.json" if data_dir is not None else None
    frame = (
        codebook.data_dictionary(pkg)
        if pkg is not None and pkg.is_file()
        else (codebook.data_dictionary())
    )
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

    Expects ``casereport.audit.audit()``'s columns (``status`` is ``reproduced`` or
    ``discrepancy``); any other table is shown as it is."""
    if audit is None or len(audit) == 0:
        return "The audit found no derived published numbers to check.\n"
    if "status" not in audit.columns:
        return frame_md(audit)
    status = audit["status"].astype(str)
    bad = audit[status != "reproduced"]
    n, n_bad = len(audit), len(bad)
    n_disc = int((status == "discrepancy").sum())
    n_nc = int((status == "not comparable").sum())
    lead = (
        f"The audit recomputed {n} published numbers from the numbers they are derived from "
        f"(published table cells and claims in the text); {n - n_bad} reproduce exactly after "
        f"rounding half up to the published precision, {n_disc} "
        f"{'does' if n_disc == 1 else 'do'} not (discrepancies) and {n_nc} "
        f"{'is' if n_nc == 1 else 'are'} not comparable (the published number uses another "
        "definition than the data; the reason is shown). Published values are kept as "
        "published; the differences are findings about the papers"
        + (", listed in @tbl-audit-discrepancies" if n_bad else "")
        + ". Every check is listed in @tbl-audit-all (@sec-audit-all).\n\n"
    )
    if not n_bad:
        return lead
    shown = _audit_view(bad, ("explanation",))  # a not-comparable reason opens with it
    if {"published", "recomputed"} <= set(shown.columns):  # one narrow column, not two
        pair = [f"{_cell(a)} → {_cell(b)}" for a, b in zip(shown["published"],
                                                          shown["recomputed"], strict=True)]
        shown = shown.drop(columns=["published", "recomputed"])
        shown.insert(3, "published → recomputed", pair)
    return (
        lead
        + frame_md(shown)
        + "\n: Published numbers that their own inputs do not reproduce (discrepancy) or that "
        "use another definition than the data (not comparable): the published value, "
        "the value recomputed from its inputs (rounded half up to the published precision), "
        "the status and the explanation or reason. {#tbl-audit-discrepancies}\n"
    )


def audit_all_md(audit: pd.DataFrame | None) -> str:
    """Every audit check, one row each, for the appendix."""
    if audit is None or len(audit) == 0 or "status" not in audit.columns:
        return "The audit found no derived published numbers to check.\n"
    return (
        frame_md(_audit_view(audit, ("status",)))
        + f"\n: All {len(audit)} audit checks: each derived published number, the formula or "
        "statement it was recomputed from, the published and recomputed values, and the "
        "verdict. {#tbl-audit-all}\n"
    )


# --------------------------------------------------------------------------- sensitivity


def _estimate_text(row: Mapping[str, Any]) -> str:
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
    sets = sorted(others["parameter_set"].unique(), key=_natural)
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


def sensitivity_md(results: pd.DataFrame | None) -> str:
    """The estimates the text discusses, under the primary and every alternative set;
    the other estimates that change are :func:`sensitivity_all_md`, in the appendix."""
    sets, rows = _sensitivity_rows(results)
    if not sets:
        return "Every analysis was run with its primary parameter set only.\n"
    if not rows:
        return "The alternative parameter sets left every estimate unchanged.\n"
    head = [r for r in rows if (r[0], r[1]) in quantities.HEADLINE]
    text = (
        f"{len(rows)} estimates change under the {len(sets)} alternative parameter "
        f"{'set' if len(sets) == 1 else 'sets'}. @tbl-sensitivity shows the ones this "
        "report discusses; @tbl-sensitivity-all (@sec-sensitivity-all) lists them all.\n\n"
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


def case_profile_runs(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Successful case-profile runs in the manifest, ENRICH then RETAKE, sites in order."""
    runs = [r for r in runs_from_manifest(manifest) if r["notebook"] == CASE_PROFILE and _run_ok(r)]

    def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
        trial, site = _trial_site(r)
        trials = list(TRIAL_NAMES)
        return (trials.index(trial) if trial in trials else len(trials), trial, _natural(site))

    return sorted(runs, key=key)


def _trial_site(rec: Mapping[str, Any]) -> tuple[str, str]:
    params = rec.get("parameters") or {}
    trial = params.get("trial")
    site = params.get("site")
    if trial is None or site is None:
        t, _, s = str(rec["parameter_set"]).partition("-")
        trial, site = trial or t, site if site is not None else s
    return str(trial), str(site)


#: Compact appendix columns per trial: profiled measure -> (short header, decimals).
#: The headers are short so the tables fit a printed page; the caption gives the units.
APPENDIX_COLUMNS: dict[str, dict[str, tuple[str, int]]] = {
    "enrich": {
        "engagement_pct": ("Engaged %", 1),
        "fidelity_score": ("Fidelity", 1),
        "with_engagement_data": ("With data", 0),
        "pct_with_data": ("With data %", 1),
        "total_participants": ("Participants", 0),
    },
    "retake": {
        "mpm": ("Min/month", 1),
        "mentoring_minutes": ("Minutes", 0),
        "months_in_study": ("Months", 0),
        "ppo": ("Part./OT", 1),
        "ots": ("OTs", 0),
        "pct_phone_teams": ("Phone/Teams %", 1),
    },
}
APPENDIX_CAPTIONS = {
    "enrich": (
        "ENRICH case profiles: each site's value and, in brackets, its rank in the trial "
        "(1 = highest). Engaged %: participants engaged of those with engagement data; "
        "Fidelity: site fidelity score (3–12); With data: participants with engagement "
        "data (n, and % of those offered peer support); Case type: the case selection "
        "reproduced in the ENRICH section."
    ),
    "retake": (
        "RETAKE case profiles: each site's value and, in brackets, its rank in the trial "
        "(1 = highest). Min/month: recorded mentoring minutes per month in the study; "
        "Minutes: recorded minutes (sessions shared by two sites count at both); "
        "Part./OT: participants per OT who held the post; Phone/Teams %: share of "
        "mentoring by phone or Teams; Group: against the expected minutes per month; "
        "Reasons: the factors the paper lists for the site."
    ),
}


def case_appendix_md(manifest: Mapping[str, Any] | None, results: pd.DataFrame | None) -> str:
    """One compact table per trial, a row per site, from the case-profile runs' results:
    each profiled measure with the site's rank, its classification and (RETAKE) reasons."""
    from casereport import format as F
    from casereport import labels as L
    from casereport import results as R

    runs = case_profile_runs(manifest)
    if not runs or results is None or len(results) == 0:
        return "No case profiles were built.\n"
    labels = {**L.CASE_LABELS, **L.GROUP_LABELS}
    classes = {"enrich": list(L.CASE_LABELS), "retake": list(L.GROUP_LABELS)}
    parts = [
        f"The {len(runs)} case-profile runs of the build, one per site, summarised one trial "
        "to a table. Each site's full profile, with its figure against the rest of its "
        "trial, is the executed notebook `build/runs/case_profile--<trial>-<site>.ipynb`.\n"
    ]
    for trial in TRIAL_NAMES:
        trial_runs = [r for r in runs if _trial_site(r)[0] == trial]
        if not trial_runs:
            continue
        res = results[results["analysis"] == f"case_profile_{trial}"]
        value = dict(zip(res["quantity"], res["estimate"], strict=True))
        cols = APPENDIX_COLUMNS[trial]
        klass = "Case type" if trial == "enrich" else "Group"
        headers = ["Site", *(h for h, _ in cols.values()), klass]
        if trial == "retake":
            headers.append("Reasons")
        rows = []
        for rec in trial_runs:
            site = _trial_site(rec)[1]

            def q(name: str, site: str = site, value: dict = value) -> Any:
                return value.get(f"{name}_site_{R.slug(site)}")

            row = [site]
            for c, (_, dec) in cols.items():
                rank = q(f"rank_{c}")
                rank_txt = "" if rank is None else f" [{int(rank)}]"
                row.append(F.number(q(c), dec, F.DASH) + rank_txt)
            cls = [c for c in classes[trial] if q(R.slug(c)) == 1]
            row.append(labels.get(cls[0], cls[0]) if cls else "")
            if trial == "retake":
                present = [L.factor_label(f) for f in L.FACTOR_LABELS if q(f) == 1]
                row.append(", ".join(present) or "none listed")
            rows.append(row)
        align = "l" + "r" * len(cols) + "l" * (len(headers) - len(cols) - 1)
        parts.append(
            f"{md.table(headers, rows, align)}\n"
            f": {APPENDIX_CAPTIONS[trial]} {{#tbl-profiles-{trial}}}\n"
        )
    return "\n".join(parts)


# --------------------------------------------------------------------------- colophon


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for name in names:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    try:
        import pypandoc

        out.append(("pandoc (pypandoc-binary)", pypandoc.get_pandoc_version()))
    except (ImportError, OSError):
        pass
    return out


def data_hashes(data_dir: Path) -> list[tuple[str, str]]:
    out = []
    for p in sorted(Path(data_dir).iterdir()):
        if p.is_file() and not p.name.startswith("."):
            out.append((p.name, hashlib.sha256(p.read_bytes()).hexdigest()))
    return out


def git_commit(root: Path = paths.ROOT) -> str:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    if res.returncode != 0:
        return "not a git checkout"
    commit = res.stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=10,
    )
    if dirty.returncode == 0 and dirty.stdout.strip():
        commit += " (with uncommitted changes)"
    return commit


def _value_md(value: Any) -> str:
    if value is None:
        return ""
    return md.code(value if isinstance(value, str) else json.dumps(value, default=str))


def _runs_md(runs: list[dict[str, Any]]) -> str:
    """Per notebook: the parameters shared by all its runs, then a table of those that vary."""
    parts = []
    by_nb: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_nb.setdefault(r["notebook"], []).append(r)
    for nb, recs in by_nb.items():
        params = [dict(r.get("parameters") or {}) for r in recs]
        names: list[str] = []
        for p in params:
            names += [k for k in p if k not in names]
        missing = object()
        common = [
            k
            for k in names
            if len({json.dumps(p.get(k, missing), default=str) for p in params}) == 1
        ]
        varying = [k for k in names if k not in common]
        text = f"#### {md.code(nb)} {{.unnumbered}}\n\n"
        if common:
            shared = "; ".join(f"{md.code(k)} = {_value_md(params[0].get(k))}" for k in common)
            label = "All runs" if len(recs) > 1 else "Parameters"
            text += f"{label}: {shared}.\n\n"
        if len(recs) > 1 or varying:
            rows = [
                [md.code(r["run_id"])] + [_value_md(p.get(k)) for k in varying]
                for r, p in zip(recs, params, strict=True)
            ]
            text += md.table(["run", *varying], rows, raw=[True] * (1 + len(varying)))
        parts.append(text)
    return "\n".join(parts)


def _input_hashes(manifest: Mapping[str, Any] | None, data_dir: Path) -> list[tuple[str, str]]:
    """Data files the runs read (manifest ``inputs``), else every file in ``data_dir``."""
    found: dict[str, str] = {}
    for r in runs_from_manifest(manifest):
        inputs = r.get("inputs") or {}
        if isinstance(inputs, Mapping):
            found.update({str(k): str(v) for k, v in inputs.items()})
    found.update({str(k): str(v) for k, v in ((manifest or {}).get("data_files") or {}).items()})
    if found:
        return sorted(found.items())
    return data_hashes(data_dir) if data_dir.is_dir() else []


def colophon_md(manifest: Mapping[str, Any] | None, data_dir: Path | None = None) -> str:
    """Package versions, data-file hashes, every run's parameters and the git commit."""
    data_dir = Path((manifest or {}).get("data_dir") or data_dir or paths.DATA_DIR)
    runs = runs_from_manifest(manifest)
    hashes = _input_hashes(manifest, data_dir)
    parts = [
        "### Software {.unnumbered}\n",
        md.table(["package", "version"], package_versions()),
        "\n### Data {.unnumbered}\n",
        "SHA-256 of every data file the notebook runs read.\n",
        md.table(
            ["file", "SHA-256"], [(md.code(n), md.code(h)) for n, h in hashes], raw=[True, True]
        ),
        "\n### Runs and parameters {.unnumbered}\n",
        f"{len(runs)} notebook runs, each with the parameters it ran with.\n",
        _runs_md(runs) if runs else "_(no runs)_\n",
        "\n### Source {.unnumbered}\n",
        f"Git commit: {md.code(git_commit())}.",
    ]
    created = (manifest or {}).get("created")
    if created:
        parts.append(f" Built {md.escape(created)}.")
    return "\n".join(parts) + "\n"


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
    texts = {
        "data_dictionary": data_dictionary_md(data_dir),
        "audit": audit_md(audit),
        "audit_all": audit_all_md(audit),
        "sensitivity": sensitivity_md(results),
        "sensitivity_all": sensitivity_all_md(results),
        "case_appendix": case_appendix_md(manifest, results),
        "colophon": colophon_md(manifest, data_dir),
    }
    for name, text in texts.items():
        _write(out / f"{name}.md", text)
