"""``casereport audit``: recompute every derived published number and compare with the paper.

Two kinds of row:

* ``derived``: every cell of a column the codebook marks ``x-derived`` (a published
  percentage, minutes per month, participants per OT) is recomputed from its numerator and
  denominator in exact decimal arithmetic;
* ``claim``: every entry of ``published_claims.yaml`` is recomputed from its recipe.

A recomputed value is rounded half up (the papers' convention: 58.5 is printed as 59) to the
published precision; equal means ``reproduced``, anything else is a ``discrepancy`` with the
size of the difference (recomputed, rounded, minus published) and a short explanation.
Two other statuses keep the report's own readings apart from the papers' errors: ``depends
on reading`` (the claim's ``reading`` key states how this audit reads the sentence, and
another reading would reproduce it; the reading is in the ``reading`` column) and ``not
comparable`` (the claim's ``not_comparable`` key: the published number uses another
definition than the data). A true/false claim is explained as a sentence, never as "True".
Discrepancies are findings about the papers, not errors: ``run`` still returns 0.
"""

from __future__ import annotations

import math
import os
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd

from casereport.primitives import atomic, markdown, paths, terminal
from casereport.primitives.rounding import is_half as _is_half
from casereport.primitives.rounding import quantize_half_up as _quantize_half_up
from casereport.primitives.rounding import round_half_even as _round_half_even
from casereport.primitives.rounding import to_decimal as _to_decimal
from casereport.trialdata import claims, codebook, loaders, trials, validate
from casereport.trialdata.claims import show as _show
from casereport.trialdata.codebook import DataError, Problem

COLUMNS = [
    "id",
    "kind",
    "source",
    "table",
    "site",
    "quantity",
    "inputs",
    "published",
    "recomputed",
    "recomputed_rounded",
    "status",
    "difference",
    "explanation",
    "reading",
]
REPRODUCED, DISCREPANCY = "reproduced", "discrepancy"
#: a claim whose check rests on this audit's reading of the sentence (the claim's
#: ``reading`` key, shown in the ``reading`` column); counted apart from discrepancies
DEPENDS_ON_READING = "depends on reading"
#: a claim whose published number uses another definition than the data (the claim's
#: ``not_comparable`` key gives the reason); counted apart from discrepancies
NOT_COMPARABLE = "not comparable"
STATUSES = (REPRODUCED, DISCREPANCY, DEPENDS_ON_READING, NOT_COMPARABLE)
#: how a true/false claim's two sides are shown (published: what the text states)
HOLDS, FAILS = "holds", "does not hold"


# --------------------------------------------------------------------------- rounding


def _num(d: Decimal | float, places: int = 4) -> float:
    """A recomputed value for the table: a float with a few places, enough to see halves."""
    return float(round(_to_decimal(d), places))


def _dp(d: Decimal, decimals: int) -> str:
    """A rounded value shown with its precision: 56.0 stays '56.0' at 1 dp."""
    return f"{d:.{decimals}f}" if decimals > 0 else _show(d)


# --------------------------------------------------------------------------- derived cells


def _nearest_reproducing(published: Decimal, num: int, den: int, scale: int, decimals: int):
    """Integers that would reproduce ``published``: (numerator, denominator), each or None.

    Used only to explain a discrepancy, e.g. 'the printed 41% is what 7 / 17 gives'.
    """

    def ok(n, d):
        return d > 0 and _quantize_half_up(Decimal(n) * scale / Decimal(d), decimals) == published

    span = max(2 * max(num, den), 10)
    nums = [n for n in range(0, span + 1) if ok(n, den)]
    dens = [d for d in range(1, span + 1) if ok(num, d)]
    best_n = min(nums, key=lambda n: abs(n - num)) if nums else None
    best_d = min(dens, key=lambda d: abs(d - den)) if dens else None
    return best_n, best_d


def _derived_rows(name: str, df: pd.DataFrame, res: dict) -> list[dict]:
    rows = []
    source = f"{res.get('x-citation', res['name'])}, {res.get('x-table', '')}".rstrip(", ")
    for field in res["schema"]["fields"]:
        spec = field.get("x-derived")
        if not spec:
            continue
        col, ncol, dcol = field["name"], spec["numerator"], spec["denominator"]
        scale, decimals = int(spec.get("scale", 1)), int(spec.get("decimals", 0))
        times = f" × {scale}" if scale != 1 else ""
        for _, r in df.iterrows():
            num, den, pub = int(r[ncol]), int(r[dcol]), _to_decimal(r[col])
            row = {
                "id": f"{name}.{col}.site_{r['site']}",
                "kind": "derived",
                "source": source,
                "table": name,
                "site": r["site"],
                "quantity": f"{col} = {ncol} / {dcol}{times}",
                "inputs": f"{num} / {den}{times}",
                "published": _show(pub),
            }
            if den == 0:
                row |= {
                    "recomputed": math.nan,
                    "recomputed_rounded": math.nan,
                    "status": DISCREPANCY,
                    "difference": math.nan,
                    "explanation": f"{dcol} is 0, so {col} cannot be computed",
                }
                rows.append(row)
                continue
            exact = Decimal(num) * scale / Decimal(den)
            rounded = _quantize_half_up(exact, decimals)
            row |= {
                "recomputed": _num(exact),
                "recomputed_rounded": _show(rounded),
                "difference": float(rounded - pub),
            }
            if rounded == pub:
                why = ""
                if _is_half(exact, decimals):
                    even = _round_half_even(exact, decimals)
                    why = f"{_show(exact)} is a half and rounds up to {_show(rounded)}"
                    if even != rounded:
                        why += f" (round-half-to-even would give {_show(even)})"
                row |= {"status": REPRODUCED, "explanation": why}
            else:
                why = (
                    f"published {_show(pub)}, but {num} / {den}{times} = {exact:.2f} "
                    f"rounds to {_show(rounded)}"
                )
                floor = exact.quantize(Decimal(1).scaleb(-decimals), rounding="ROUND_FLOOR")
                if floor == pub:
                    why += "; the published value matches truncation, not rounding"
                best_n, best_d = _nearest_reproducing(pub, num, den, scale, decimals)
                alts = []
                if best_n is not None:
                    alts.append(f"{ncol} = {best_n}")
                if best_d is not None:
                    alts.append(f"{dcol} = {best_d}")
                if alts:
                    why += f"; {_show(pub)} is what " + " or ".join(alts) + " would give"
                row |= {"status": DISCREPANCY, "explanation": why}
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- claims


def _claim_row(claim: pd.Series, tables: dict[str, pd.DataFrame]) -> dict:
    compute = claim["compute"]
    row = {
        "id": claim["id"],
        "kind": "claim",
        "source": claim["source"],
        "table": compute.get("table", "inline"),
        "site": "" if pd.isna(claim["site"]) else str(claim["site"]),
        "quantity": claim["quantity"],
    }
    note = claim["note"] if isinstance(claim["note"], str) else ""
    try:
        value, detail = claims.compute(compute, tables)
    except Exception as e:  # a recipe that does not run is a fault of the claims file
        raise DataError(
            [
                Problem(
                    claims.CLAIMS_FILE,
                    None,
                    f"{claim['id']}.compute",
                    f"{type(e).__name__}: {e}",
                    "a recipe that runs on the data (see the file's header)",
                )
            ]
        ) from e
    row["inputs"] = detail
    published = claim["published"]
    if isinstance(published, list) or isinstance(value, str):
        pub = claims.site_list(published if isinstance(published, list) else [published])
        same = pub == value
        why = ""
        if not same:
            want, got = set(pub.split("; ")), set(value.split("; "))
            parts = []
            if want - got:
                parts.append("named in the text but not found: " + claims.site_list(want - got))
            if got - want:
                parts.append("found but not named in the text: " + claims.site_list(got - want))
            why = "; ".join(parts)
        row |= {"published": pub, "recomputed": value, "recomputed_rounded": value}
        row |= {"difference": math.nan}
    elif isinstance(published, bool) or isinstance(value, bool):
        same = bool(published) == bool(value)
        why = "" if same else _bool_sentence(claim["quantity"], bool(published), detail)
        shown = HOLDS if value else FAILS
        row |= {"published": HOLDS if published else FAILS, "recomputed": shown}
        row |= {"recomputed_rounded": shown, "difference": math.nan}
    else:
        decimals = int(claim["decimals"]) if pd.notna(claim["decimals"]) else 0
        pub = _to_decimal(published)
        rounded = _quantize_half_up(value, decimals)
        same = rounded == _quantize_half_up(pub, max(decimals, 0)) and rounded == pub
        diff = float(rounded - pub)
        why = ""
        if not same:
            where = f" ({detail})" if detail else ""
            why = (
                f"the text says {_show(pub)}; the data give {_show(_num(value))}{where}, "
                f"{_dp(rounded, decimals)} at {decimals} dp, a difference of {diff:+g}"
            )
            for alt in claim.get("also_compute") or []:
                alt_value, alt_detail = claims.compute(alt["compute"], tables)
                why += (
                    f"; read as {alt['label']}: {_show(_num(alt_value))} ({alt_detail}), "
                    f"{_dp(_quantize_half_up(alt_value, decimals), decimals)} at {decimals} dp"
                )
        elif _is_half(value, decimals):
            why = f"{_show(value)} is a half and rounds up to {_show(rounded)}"
        row |= {
            "published": _dp(pub, decimals),
            "recomputed": _num(value),
            "recomputed_rounded": _dp(rounded, decimals),
            "difference": diff,
        }
    if not same and note:
        why += f". Note: {note}"
    status = REPRODUCED if same else DISCREPANCY
    reading = _text(claim.get("reading"))
    if reading and not same:
        status = DEPENDS_ON_READING
        why = f"depends on reading: {reading} (as computed here: {why})"
    reason = _text(claim.get("not_comparable"))
    if reason:
        status, why = NOT_COMPARABLE, f"not comparable: {reason}" + (
            f" (as computed here: {why})" if why else ""
        )
    row |= {"status": status, "explanation": why, "reading": reading}
    return row


def _text(value) -> str:
    """A claim's optional text key, stripped ('' when absent)."""
    return value.strip() if isinstance(value, str) else ""


def _bool_sentence(quantity: str, published: bool, detail: str) -> str:
    """A true/false check that fails, as a sentence: what the text states and what the data
    show, e.g. 'The text states that X; in the data this does not hold (fails at site(s) 4)'
    (a note may follow, so no full stop)."""
    stated = "states" if published else "denies"
    shown = "does not hold" if published else "holds"
    return f"The text {stated} that {quantity}; in the data this {shown}" + (
        f" ({detail})" if detail else ""
    )


def _demographics_rows(df: pd.DataFrame, res: dict) -> list[dict]:
    """Each printed percentage of Table 1 (``pct_published``, as printed) against
    ``n / denominator × 100`` rounded half up to the printed number of decimals."""
    rows = []
    source = f"{res.get('x-citation', res['name'])}, {res.get('x-table', 'Table 1')}"
    for _, r in df.iterrows():
        printed = r["pct_published"]
        if not isinstance(printed, str) or not printed.strip():
            continue
        pub = _to_decimal(printed.strip().rstrip("%"))
        decimals = max(-pub.as_tuple().exponent, 0)
        num, den = int(r["n"]), int(r["denominator"])
        exact = Decimal(num) * 100 / Decimal(den)
        rounded = _quantize_half_up(exact, decimals)
        same = rounded == pub
        what = f"{r['group']}, {r['characteristic']}: {r['category']}"
        rows.append(
            {
                "id": f"{res['name']}.pct.row_{r['row']}",
                "kind": "derived",
                "source": source,
                "table": res["name"],
                "site": "",
                "quantity": f"% {what} = n / denominator × 100",
                "inputs": f"{num} / {den} × 100",
                "published": _show(pub),
                "recomputed": _num(exact),
                "recomputed_rounded": _show(rounded),
                "status": REPRODUCED if same else DISCREPANCY,
                "difference": float(rounded - pub),
                "explanation": "" if same else f"{num} / {den} × 100 = {exact:.2f}",
            }
        )
    return rows


# --------------------------------------------------------------------------- entry points


def audit(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
    datapackage: str | os.PathLike[str] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per derived published number and per claim; raises DataError if invalid.

    ``tables``: the typed tables of a folder already validated (``validate_dir(...).tables``);
    without them the folder is validated here."""
    data_dir = paths.resolve(data_dir)
    if tables is None:
        checked = validate.validate_dir(data_dir, datapackage)
        if checked.problems:
            raise DataError(checked.problems)
        tables = checked.tables
    package = codebook.load_package(datapackage if datapackage is not None else data_dir)
    rows = []
    for name in codebook.resource_names(package):
        rows += _derived_rows(name, tables[name], codebook.resource(name, package))
    demo = codebook.DEMOGRAPHICS
    if demo in tables:
        rows += _demographics_rows(tables[demo], codebook.resource(demo, package))
    for trial in trials.discover(data_dir).values():  # each trial's claims, in folder order
        if trial.claims_path.exists():
            for _, claim in loaders.load_claims(trial.claims_path).iterrows():
                rows.append(_claim_row(claim, tables))
    return pd.DataFrame(rows, columns=COLUMNS)


#: What ``casereport audit`` shows on a terminal (every column: Markdown or CSV).
TERMINAL_COLUMNS = ["id", "published", "recomputed", "status", "explanation"]


def _display_rows(df: pd.DataFrame) -> list[list[str]]:
    """The audit's cells as text, recomputed values shown to 4 decimals."""

    def cell(v) -> str:
        return ("" if math.isnan(v) else _show(round(v, 4))) if isinstance(v, float) else str(v)

    return [[cell(v) for v in r] for r in df.itertuples(index=False)]


def to_markdown(df: pd.DataFrame) -> str:
    """The audit table as Markdown (:func:`casereport.primitives.markdown.table`)."""
    return markdown.table([str(c) for c in df.columns], _display_rows(df)).rstrip("\n")


def write_csv_atomic(df: pd.DataFrame, out_csv: str | os.PathLike[str]) -> Path:
    """Write next to the target and rename, so a reader never sees a half-written file."""
    out = Path(out_csv)
    with atomic.replacing(out, newline="") as f:
        df.to_csv(f, index=False)
    return out


def run(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
    out_csv: str | os.PathLike[str] | None = None,
    fmt: str | None = None,
) -> int:
    """CLI entry: print the audit table; write ``out_csv`` if given. 1 only if data invalid.

    ``fmt``: ``table`` (aligned, for a terminal), ``markdown`` or ``csv``; None: a table on
    a terminal, Markdown otherwise (a pipe or a file)."""
    fmt = fmt or ("table" if terminal.interactive() else "markdown")
    if fmt not in ("table", "markdown", "csv"):
        print(f"unknown format {fmt!r}: use table, markdown or csv")
        return 2
    data_dir = paths.resolve(data_dir)
    try:
        table = audit(data_dir)
    except DataError as e:
        print(f"audit not run: the data in {data_dir} are not valid (see `casereport validate`).")
        for p in e.problems:
            print(f"  - {p}")
        return 1
    if fmt == "csv":
        print(table.to_csv(index=False), end="")
    elif fmt == "table":
        terminal.table(TERMINAL_COLUMNS, _display_rows(table[TERMINAL_COLUMNS]))
        print(f"(columns {', '.join(c for c in table.columns if c not in TERMINAL_COLUMNS)}: "
              "--format markdown or csv)")
    else:
        print(to_markdown(table))
    n_disc = int((table["status"] == DISCREPANCY).sum())
    n_nc = int((table["status"] == NOT_COMPARABLE).sum())
    n_read = int((table["status"] == DEPENDS_ON_READING).sum())
    n_ok = int((table["status"] == REPRODUCED).sum())
    summary = f"{len(table)} published numbers checked: {n_ok} reproduced, "
    summary += f"{n_disc} discrepancies, {n_read} depend on reading, {n_nc} not comparable"
    if out_csv is not None:
        summary += f"; written to {write_csv_atomic(table, paths.resolve(out_csv))}"
    # with --format csv, stdout is the CSV alone; the summary goes to stderr
    if fmt != "csv":
        print("\n" + summary)
    else:
        print(summary, file=sys.stderr)
    return 0
