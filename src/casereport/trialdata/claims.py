"""Published claims (``published_claims.yaml``): the one registry of claim recipes, used by
validation (which recipes exist) and by the audit (what each computes).

A claim names a number the papers state and a recipe (``compute.agg``) that recomputes it
from the site tables. Adding a recipe means adding one function to :data:`RECIPES`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from casereport.primitives import yamltext
from casereport.primitives.rounding import to_decimal
from casereport.trialdata import trials
from casereport.trialdata.codebook import Problem, display_name, read_text

CLAIMS_FILE = trials.CLAIMS_FILE
CLAIM_KEYS = ("id", "source", "quantity", "published", "compute")


def show(x) -> str:
    """A recomputed value as text: whole floats without ".0", decimals as floats."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, Decimal):
        return show(float(x))
    return str(x)


def _site_key(s: str):
    return (0, int(s), s) if str(s).isdigit() else (1, 0, str(s))


def site_list(sites) -> str:
    """Site ids in natural order, ``"; "``-separated."""
    return "; ".join(sorted({str(s) for s in sites}, key=_site_key))


def _values(df: pd.DataFrame, compute: dict) -> pd.Series:
    values = df.eval(compute["expr"], engine="python").astype(float)
    key = "site" if "site" in df.columns else "row"  # Table 1 rows have no site
    return pd.Series(values.to_numpy(), index=df[key].to_numpy())


def _count(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
    where = compute.get("where")
    return Decimal(len(df)), f"{len(df)} rows" + (f" where {where}" if where else "")


def _ratio_of_sums(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
    num, den = df.eval(compute["numerator"]).sum(), df.eval(compute["denominator"]).sum()
    scale = Decimal(str(compute.get("scale", 1)))
    value = to_decimal(int(num) if float(num).is_integer() else float(num)) * scale
    value = value / to_decimal(int(den) if float(den).is_integer() else float(den))
    return value, f"{show(num)} / {show(den)}" + (f" × {scale}" if scale != 1 else "")


def _sites_where(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
    return site_list(df["site"]), f"sites where {compute.get('where')}"


def _all(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
    holds = df.eval(compute["expr"], engine="python").astype(bool)
    failing = site_list(df.loc[~holds.to_numpy(), "site"])
    return bool(holds.all()), (f"fails at site(s) {failing}" if failing else "")


def _majority(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
    holds = df.eval(compute["expr"], engine="python").astype(bool)
    return bool(holds.sum() * 2 > len(holds)), f"{int(holds.sum())} of {len(holds)} rows"


def _aggregate(agg: str) -> Callable[[pd.DataFrame, dict], tuple[Any, str]]:
    def run(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
        values = _values(df, compute)
        value = getattr(values, agg)()
        detail = f"sum over {len(values)} rows"
        if agg in ("min", "max"):
            detail = f"{agg} at site {site_list(values[values == value].index)}"
        return to_decimal(round(float(value), 9)), detail

    return run


def _arg_site(pick: str) -> Callable[[pd.DataFrame, dict], tuple[Any, str]]:
    def run(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
        values = _values(df, compute)
        target = values.min() if pick == "min" else values.max()
        return site_list(values[values == target].index), f"value {round(target, 2)}"

    return run


def _ranked_sites(top: bool) -> Callable[[pd.DataFrame, dict], tuple[Any, str]]:
    def run(df: pd.DataFrame, compute: dict) -> tuple[Any, str]:
        values = _values(df, compute)
        n = int(compute.get("n", 1))
        chosen = (values.nlargest if top else values.nsmallest)(n, keep="all")
        detail = ", ".join(f"site {s}: {round(v, 3)}" for s, v in chosen.items())
        return site_list(chosen.index), detail

    return run


#: ``compute.agg`` -> recipe(table rows after ``where``, compute) -> (value, detail).
#: ``count`` and ``sum`` also work on ``table: inline`` (the text's own ``values``).
RECIPES: dict[str, Callable[[pd.DataFrame, dict], tuple[Any, str]]] = {
    "count": _count,
    "sum": _aggregate("sum"),
    "min": _aggregate("min"),
    "max": _aggregate("max"),
    "ratio_of_sums": _ratio_of_sums,
    "sites_where": _sites_where,
    "argmin_site": _arg_site("min"),
    "argmax_site": _arg_site("max"),
    "top_sites": _ranked_sites(top=True),
    "bottom_sites": _ranked_sites(top=False),
    "all": _all,
    "majority": _majority,
}


def compute(recipe: dict, tables: dict[str, pd.DataFrame]) -> tuple[Any, str]:
    """Run one claim recipe. Returns (value, detail) where detail helps explain it."""
    agg = recipe["agg"]
    if agg not in RECIPES:
        raise ValueError(f"unknown agg {agg!r} in claims file")
    if recipe.get("table", "inline") == "inline":
        values = [to_decimal(v) for v in recipe.get("values", [])]
        total = sum(values, Decimal(0)) if agg == "sum" else Decimal(len(values))
        joiner = " + " if agg == "sum" else ", "
        return total, f"the text's own numbers: {joiner.join(show(v) for v in values)}"
    df = tables[recipe["table"]]
    where = recipe.get("where")
    if where:
        df = df[df.eval(where, engine="python").astype(bool)]
    return RECIPES[agg](df, recipe)


def check_file(path: Path, package: dict) -> list[Problem]:
    """The claims file is optional; if present it must parse and name what the audit needs."""
    where = display_name(path)  # trial/file: two trials may have a claims file each
    if not path.exists():
        return []
    problems: list[Problem] = []
    text = read_text(path, problems)
    if text is None:
        return problems
    try:
        doc = yamltext.load(text)
    except yamltext.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return [Problem(where, line, None, str(e).splitlines()[0], "valid YAML")]
    claims = doc.get("claims") if isinstance(doc, dict) else None
    if not isinstance(claims, list):
        return [Problem(where, None, "claims", None, "a top-level 'claims:' list")]
    tables = {r["name"] for r in package["resources"]} | {"inline"}
    seen: set[str] = set()
    for i, claim in enumerate(claims, start=1):
        label = f"claims[{i}]"
        if not isinstance(claim, dict):
            problems.append(Problem(where, None, label, claim, "a mapping"))
            continue
        for key in CLAIM_KEYS:
            if key not in claim:
                problems.append(Problem(where, None, f"{label}.{key}", None, "a value"))
        cid = claim.get("id")
        if cid in seen:
            problems.append(Problem(where, None, f"{label}.id", cid, "a unique claim id"))
        seen.add(cid)
        compute = claim.get("compute")
        if "compute" in claim and not isinstance(compute, dict):
            problems.append(Problem(where, None, f"{label}.compute", compute, "a mapping"))
            continue
        if isinstance(compute, dict) and compute.get("agg") not in RECIPES:
            problems.append(
                Problem(
                    where,
                    None,
                    f"{label}.compute.agg",
                    compute.get("agg"),
                    "one of " + ", ".join(RECIPES),
                )
            )
        if isinstance(compute, dict) and compute.get("table", "inline") not in tables:
            problems.append(
                Problem(
                    where,
                    None,
                    f"{label}.compute.table",
                    compute.get("table"),
                    "one of " + ", ".join(sorted(tables)),
                )
            )
    return problems
