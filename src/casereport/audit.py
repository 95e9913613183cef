"""``casereport audit``: recompute every derived published number and compare with the paper.

Two kinds of row:

* ``derived``: every cell of a column the codebook marks ``x-derived`` (a published
  percentage, minutes per month, participants per OT) is recomputed from its numerator and
  denominator in exact decimal arithmetic;
* ``claim``: every entry of ``published_claims.yaml`` is recomputed from its recipe.

A recomputed value is rounded half up (the papers' convention: 58.5 is printed as 59) to the
published precision; equal means ``reproduced``, anything else is a ``discrepancy`` with the
size of the difference (recomputed, rounded, minus published) and a short explanation.
Discrepancies are findings about the papers, not errors: ``run`` still returns 0.
"""

from __future__ import annotations

import math
import os
import re
import sys
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from casereport import atomic, codebook, data, paths, validate
from casereport.codebook import DataError, Problem

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
]
REPRODUCED, DISCREPANCY = "reproduced", "discrepancy"


# --------------------------------------------------------------------------- rounding


def _to_decimal(x) -> Decimal:
    # repr of a float is its shortest round-tripping form: 58.5 -> '58.5', so a value that
    # prints as an exact half is treated as one (Decimal(58.5) would also be exact, but
    # Decimal(0.145) is 0.14499999..., which is not what anyone reading the table means).
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(str(x))


def round_half_up(x, ndigits: int = 0):
    """Round halves away from zero, in decimal: 58.5 -> 59, 8.5 -> 9, 0.145 -> 0.15 (2 dp).

    Python's ``round`` rounds halves to even (58.5 -> 58) and works in binary; published
    tables round halves up. Returns an ``int`` for ``ndigits <= 0``, else a ``float``.
    """
    d = _to_decimal(x)
    q = d.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP)
    return int(q) if ndigits <= 0 else float(q)


def _round_half_even(d: Decimal, ndigits: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_EVEN)


def _is_half(d: Decimal, ndigits: int) -> bool:
    """True if d lies exactly halfway between two values at ``ndigits`` places."""
    shifted = d.scaleb(ndigits)
    return shifted - shifted.to_integral_value(rounding="ROUND_FLOOR") == Decimal("0.5")


def _num(d: Decimal | float, places: int = 4) -> float:
    """A recomputed value for the table: a float with a few places, enough to see halves."""
    return float(round(_to_decimal(d), places))


def _dp(d: Decimal, decimals: int) -> str:
    """A rounded value shown with its precision: 56.0 stays '56.0' at 1 dp."""
    return f"{d:.{decimals}f}" if decimals > 0 else _show(d)


def _show(x) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, Decimal):
        return _show(float(x))
    return str(x)


# --------------------------------------------------------------------------- derived cells


def _nearest_reproducing(published: Decimal, num: int, den: int, scale: int, decimals: int):
    """Integers that would reproduce ``published``: (numerator, denominator), each or None.

    Used only to explain a discrepancy, e.g. 'the printed 41% is what 7 / 17 gives'.
    """

    def ok(n, d):
        return d > 0 and _round(Decimal(n) * scale / Decimal(d), decimals) == published

    span = max(2 * max(num, den), 10)
    nums = [n for n in range(0, span + 1) if ok(n, den)]
    dens = [d for d in range(1, span + 1) if ok(num, d)]
    best_n = min(nums, key=lambda n: abs(n - num)) if nums else None
    best_d = min(dens, key=lambda d: abs(d - den)) if dens else None
    return best_n, best_d


def _round(d: Decimal, decimals: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


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
            rounded = _round(exact, decimals)
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


def _site_key(s: str):
    return (0, int(s), s) if str(s).isdigit() else (1, 0, str(s))


def _site_list(sites) -> str:
    return "; ".join(sorted({str(s) for s in sites}, key=_site_key))


def _compute(compute: dict, tables: dict[str, pd.DataFrame]):
    """Run one claim recipe. Returns (value, detail) where detail helps explain it."""
    agg = compute["agg"]
    if compute.get("table", "inline") == "inline":
        values = [_to_decimal(v) for v in compute.get("values", [])]
        total = sum(values, Decimal(0)) if agg == "sum" else Decimal(len(values))
        joiner = " + " if agg == "sum" else ", "
        return total, f"the text's own numbers: {joiner.join(_show(v) for v in values)}"
    df = tables[compute["table"]]
    where = compute.get("where")
    if where:
        df = df[df.eval(where, engine="python").astype(bool)]
    if agg == "count":
        return Decimal(len(df)), f"{len(df)} rows" + (f" where {where}" if where else "")
    if agg == "ratio_of_sums":
        num, den = df.eval(compute["numerator"]).sum(), df.eval(compute["denominator"]).sum()
        scale = Decimal(str(compute.get("scale", 1)))
        value = _to_decimal(int(num) if float(num).is_integer() else float(num)) * scale
        value = value / _to_decimal(int(den) if float(den).is_integer() else float(den))
        return value, f"{_show(num)} / {_show(den)}" + (f" × {scale}" if scale != 1 else "")
    if agg == "sites_where":
        return _site_list(df["site"]), f"sites where {where}"
    if agg == "all":
        holds = df.eval(compute["expr"], engine="python").astype(bool)
        failing = _site_list(df.loc[~holds.to_numpy(), "site"])
        return bool(holds.all()), (f"fails at site(s) {failing}" if failing else "")
    values = df.eval(compute["expr"], engine="python").astype(float)
    values = pd.Series(values.to_numpy(), index=df["site"].to_numpy())
    if agg in ("sum", "min", "max"):
        value = getattr(values, agg)()
        detail = f"sum over {len(values)} rows"
        if agg in ("min", "max"):
            at = values[values == value].index
            detail = f"{agg} at site {_site_list(at)}"
        return _to_decimal(round(float(value), 9)), detail
    if agg in ("argmin_site", "argmax_site"):
        target = values.min() if agg == "argmin_site" else values.max()
        return _site_list(values[values == target].index), f"value {round(target, 2)}"
    if agg in ("top_sites", "bottom_sites"):
        n = int(compute.get("n", 1))
        pick = values.nlargest if agg == "top_sites" else values.nsmallest
        chosen = pick(n, keep="all")
        detail = ", ".join(f"site {s}: {round(v, 3)}" for s, v in chosen.items())
        return _site_list(chosen.index), detail
    raise ValueError(f"unknown agg {agg!r} in claims file")


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
        value, detail = _compute(compute, tables)
    except Exception as e:  # a recipe that does not run is a fault of the claims file
        raise DataError(
            [
                Problem(
                    validate.CLAIMS_FILE,
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
        pub = _site_list(published if isinstance(published, list) else [published])
        same = pub == value
        why = ""
        if not same:
            want, got = set(pub.split("; ")), set(value.split("; "))
            parts = []
            if want - got:
                parts.append("named in the text but not found: " + _site_list(want - got))
            if got - want:
                parts.append("found but not named in the text: " + _site_list(got - want))
            why = "; ".join(parts)
        row |= {"published": pub, "recomputed": value, "recomputed_rounded": value}
        row |= {"difference": math.nan}
    elif isinstance(published, bool) or isinstance(value, bool):
        same = bool(published) == bool(value)
        why = "" if same else f"the text says {published}, the data say {value}"
        row |= {"published": str(bool(published)), "recomputed": str(value)}
        row |= {"recomputed_rounded": str(value), "difference": math.nan}
    else:
        decimals = int(claim["decimals"]) if pd.notna(claim["decimals"]) else 0
        pub = _to_decimal(published)
        rounded = _round(value, decimals)
        same = rounded == _round(pub, max(decimals, 0)) and rounded == pub
        diff = float(rounded - pub)
        why = ""
        if not same:
            where = f" ({detail})" if detail else ""
            why = (
                f"the text says {_show(pub)}; the data give {_show(_num(value))}{where}, "
                f"{_dp(rounded, decimals)} at {decimals} dp, a difference of {diff:+g}"
            )
            for alt in claim.get("also_compute") or []:
                alt_value, alt_detail = _compute(alt["compute"], tables)
                why += (
                    f"; read as {alt['label']}: {_show(_num(alt_value))} ({alt_detail}), "
                    f"{_dp(_round(alt_value, decimals), decimals)} at {decimals} dp"
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
    row |= {"status": REPRODUCED if same else DISCREPANCY, "explanation": why}
    return row


# --------------------------------------------------------------------------- entry points


def audit(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
    datapackage: str | os.PathLike[str] = paths.DATAPACKAGE,
) -> pd.DataFrame:
    """One row per derived published number and per claim; raises DataError if invalid."""
    data_dir = paths.resolve(data_dir)
    problems = validate.validate_dir(data_dir, datapackage)
    if problems:
        raise DataError(problems)
    package = codebook.load_package(datapackage)
    tables = {
        name: data.load_table(
            data_dir / codebook.resource(name, package)["path"], name, datapackage
        )
        for name in codebook.RESOURCES
    }
    rows = []
    for name in codebook.RESOURCES:
        rows += _derived_rows(name, tables[name], codebook.resource(name, package))
    claims_path = data_dir / validate.CLAIMS_FILE
    if claims_path.exists():
        for _, claim in data.load_claims(claims_path).iterrows():
            rows.append(_claim_row(claim, tables))
    return pd.DataFrame(rows, columns=COLUMNS)


def to_markdown(df: pd.DataFrame) -> str:
    """A plain pipe table (no tabulate dependency)."""

    def cell(v) -> str:
        if isinstance(v, float):
            v = "" if math.isnan(v) else _show(round(v, 4))
        return re.sub(r"\s+", " ", str(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def write_csv_atomic(df: pd.DataFrame, out_csv: str | os.PathLike[str]) -> Path:
    """Write next to the target and rename, so a reader never sees a half-written file."""
    out = Path(out_csv)
    with atomic.replacing(out, newline="") as f:
        df.to_csv(f, index=False)
    return out


def run(
    data_dir: str | os.PathLike[str] = paths.DATA_DIR,
    out_csv: str | os.PathLike[str] | None = None,
    fmt: str = "markdown",
) -> int:
    """CLI entry: print the audit table; write ``out_csv`` if given. 1 only if data invalid."""
    if fmt not in ("markdown", "csv"):
        print(f"unknown format {fmt!r}: use markdown or csv")
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
    else:
        print(to_markdown(table))
    n_disc = int((table["status"] == DISCREPANCY).sum())
    summary = f"{len(table)} published numbers checked: {len(table) - n_disc} reproduced, "
    summary += f"{n_disc} discrepancies"
    if out_csv is not None:
        summary += f"; written to {write_csv_atomic(table, paths.resolve(out_csv))}"
    # with --format csv, stdout is the CSV alone; the summary goes to stderr
    if fmt == "markdown":
        print("\n" + summary)
    else:
        print(summary, file=sys.stderr)
    return 0
