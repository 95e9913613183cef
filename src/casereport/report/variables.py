"""``_variables.yml``: every number the article's prose quotes, formatted once, here.

``index.qmd`` never types a number; it writes ``{{< var analysis.quantity >}}`` and Quarto
(or the preview) substitutes the value (https://quarto.org/docs/authoring/variables.html).
Keys, for each row of the primary parameter set (``analysis`` and ``quantity`` as in the
results; see docs/architecture.md, "Results quantities"):

- ``analysis.quantity``: the estimate, or for a naming quantity its ``label`` (a site id as
  text: "3", "A", "Camden")
- ``analysis.quantity_lo`` / ``_hi``: the interval ends (at the estimate's precision),
  ``_ci``: "lo to hi"
- ``analysis.quantity_p``: the p-value with its relation ("p = 0.034", "p < 0.001";
  :func:`casereport.primitives.format.p_relation`)
- ``analysis.quantity_n``: the n behind the estimate

- ``sets.<parameter_set>.analysis.quantity`` (same suffixes): the sensitivity parameter
  sets, i.e. non-primary sets that re-run an analysis of the primary set
- ``audit.checked`` / ``reproduced`` / ``discrepancies`` / ``depends_on_reading`` /
  ``not_comparable``: counts from
  the audit table

A number the article quotes that these data cannot give is written as words, so the report
builds on a trial of any size: every quoted key of an analysis that is not estimable (its
results hold a ``not_estimable`` row, ``analyses/estimability.py``) and the interval or
p of an estimate that has none read :data:`NOT_ESTIMABLE`; the quoted keys of a parameter
set that does not apply to the data (``pipeline.plan``) read :data:`NOT_APPLICABLE`. Any
other key with no value stays unresolved (``build --strict`` fails on it).

Numbers are formatted by :mod:`casereport.primitives.format`, the style the notebooks' tables use
too (half-up rounding, U+2212 minus, "<0.001"); trailing zeros are dropped from an
estimate without an interval ("9.5"). The file is written atomically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from casereport.primitives import atomic, yamltext
from casereport.primitives.format import estimate as fmt_estimate
from casereport.primitives.format import number as fmt_number
from casereport.primitives.format import p_relation
from casereport.primitives.labels import PRIMARY

_KEY_OK = re.compile(r"[^A-Za-z0-9_-]+")
NOT_ESTIMABLE, NOT_APPLICABLE = "not estimable", "not applicable"
_SUFFIX = re.compile(r"^(?P<base>.+)_(?:lo|hi|ci|p|n)$")


def _key(text: Any) -> str:
    """A var key part: Quarto splits keys on '.', so dots and other punctuation become '_'."""
    return _KEY_OK.sub("_", str(text)).strip("_") or "x"


def variables_from_results(results: pd.DataFrame, parameter_set: str = PRIMARY) -> dict:
    out: dict[str, dict[str, str]] = {}
    if results is None or len(results) == 0:
        return out
    df = results
    if "parameter_set" in df.columns:
        df = df[df["parameter_set"].astype(str) == parameter_set]
    for rec in df.to_dict("records"):
        group = out.setdefault(_key(rec["analysis"]), {})
        q = _key(rec["quantity"])
        est, lo, hi = fmt_estimate(rec.get("estimate"), rec.get("ci_low"), rec.get("ci_high"))
        label = rec.get("label")
        if isinstance(label, str) and label:
            group[q] = label  # a naming quantity: the site id as the data spell it
        elif est:
            group[q] = est
        if lo and hi:
            group[f"{q}_lo"], group[f"{q}_hi"] = lo, hi
            group[f"{q}_ci"] = f"{lo} to {hi}"
        p = p_relation(rec.get("p_value"))
        if p:
            group[f"{q}_p"] = p
        n = fmt_number(rec.get("n"))
        if n:
            group[f"{q}_n"] = n
    return out


def alternative_sets(results: pd.DataFrame | None) -> list[str]:
    """Non-primary parameter sets that re-run an analysis of the primary set (sensitivity
    analyses); case-profile sets such as ``enrich-3`` share no analysis and are left out."""
    if results is None or len(results) == 0 or "parameter_set" not in results.columns:
        return []
    sets = results["parameter_set"].astype(str)
    primary = set(results.loc[sets == PRIMARY, "analysis"])
    others = results[(sets != PRIMARY) & results["analysis"].isin(primary)]
    return sorted(others["parameter_set"].astype(str).unique())


def audit_variables(audit: pd.DataFrame | None) -> dict[str, str]:
    """``audit.checked``, ``audit.reproduced``, ``audit.discrepancies``,
    ``audit.depends_on_reading``, ``audit.not_comparable`` from the audit table."""
    if audit is None or "status" not in getattr(audit, "columns", []):
        return {}
    status = audit["status"].astype(str)
    return {
        "checked": str(len(audit)),
        "reproduced": str(int((status == "reproduced").sum())),
        "discrepancies": str(int((status == "discrepancy").sum())),
        "depends_on_reading": str(int((status == "depends on reading").sum())),
        "not_comparable": str(int((status == "not comparable").sum())),
    }


def _missing_value(data: Mapping[str, Any], key: str, not_applicable: set[str],
                   rows: Mapping[str, set[tuple[str, str]]]) -> str | None:
    """What a quoted key without a value reads (see the module docstring), or None."""
    parts, pset = key.split("."), PRIMARY
    if parts[0] == "sets" and len(parts) > 2:
        if parts[1] in not_applicable:
            return NOT_APPLICABLE
        data, pset, parts = data.get("sets", {}).get(parts[1]), parts[1], parts[2:]
        if data is None:
            return None  # a set that no run has: a misspelt name
    if len(parts) != 2:
        return None
    analysis, quantity = parts
    suffix = _SUFFIX.match(quantity)
    have = rows.get(pset, set())
    if isinstance(data.get(analysis), Mapping) and "not_estimable" in data[analysis]:
        return NOT_ESTIMABLE  # the whole analysis
    if (analysis, quantity) in have or (suffix and (analysis, suffix["base"]) in have):
        return NOT_ESTIMABLE  # its row is there, without a value (or an interval, a p)
    return None


def fill_quoted(data: dict, quoted: Iterable[str], not_applicable: Iterable[str] = (),
                results: pd.DataFrame | None = None) -> dict:
    """``data`` with a value for each ``quoted`` key that these data cannot give."""
    skip = {_key(s) for s in not_applicable}
    rows: dict[str, set[tuple[str, str]]] = {}
    if results is not None and len(results) and "parameter_set" in results.columns:
        for pset, a, q in zip(results["parameter_set"].astype(str), results["analysis"],
                              results["quantity"], strict=True):
            rows.setdefault(_key(pset), set()).add((_key(a), _key(q)))
    for key in quoted:
        *groups, last = key.split(".")
        node: Any = data
        for part in groups:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and last in node:
            continue  # it has a value
        value = _missing_value(data, key, skip, rows)
        if value is not None:
            node = data
            for part in groups:
                node = node.setdefault(part, {})
            node[last] = value
    return data


def write_variables(
    results: pd.DataFrame, path: Path, *, audit: pd.DataFrame | None = None,
    quoted: Iterable[str] = (), not_applicable: Iterable[str] = (),
) -> dict:
    """Write ``_variables.yml`` for the primary parameter set; return what was written.

    The ``audit`` group comes from ``audit`` when given, else from an ``audit.csv`` next to
    ``path`` (the build writes ``build/audit.csv`` beside ``build/variables.yml``).
    ``quoted``: the keys the article quotes; those these data cannot give are written as
    words (:func:`fill_quoted`), ``not_applicable`` naming the sets left out."""
    path = Path(path)
    data = variables_from_results(results)
    alternatives = alternative_sets(results)
    if alternatives:
        data["sets"] = {_key(name): variables_from_results(results, name) for name in alternatives}
    fill_quoted(data, quoted, not_applicable, results)
    if audit is None and (path.parent / "audit.csv").is_file():
        audit = pd.read_csv(path.parent / "audit.csv", dtype=str)
    if audit_variables(audit):
        data.setdefault("audit", {}).update(audit_variables(audit))
    header = (
        "# Written by casereport (report.variables.write_variables) from the build's results.\n"
        "# Do not edit: rebuilt on every `casereport build`. Quoted in index.qmd with\n"
        "# {{<var analysis.quantity>}}.\n"
    )
    body = yamltext.dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
    atomic.write_text(path, header + body)
    return data


def read_variables(path: Path) -> dict:
    p = Path(path)
    if not p.is_file():
        return {}
    return yamltext.load(p.read_text(encoding="utf-8")) or {}
