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
  :func:`casereport.format.p_relation`)
- ``analysis.quantity_n``: the n behind the estimate

- ``sets.<parameter_set>.analysis.quantity`` (same suffixes): the sensitivity parameter
  sets, i.e. non-primary sets that re-run an analysis of the primary set
- ``audit.checked`` / ``reproduced`` / ``discrepancies`` / ``depends_on_reading`` /
  ``not_comparable``: counts from
  the audit table

Numbers are formatted by :mod:`casereport.format`, the style the notebooks' tables use
too (half-up rounding, U+2212 minus, "<0.001"); trailing zeros are dropped from an
estimate without an interval ("9.5"). The file is written atomically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from casereport import atomic
from casereport.format import estimate as fmt_estimate
from casereport.format import number as fmt_number
from casereport.format import p_relation
from casereport.labels import PRIMARY

_KEY_OK = re.compile(r"[^A-Za-z0-9_-]+")


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


def write_variables(
    results: pd.DataFrame, path: Path, *, audit: pd.DataFrame | None = None
) -> dict:
    """Write ``_variables.yml`` for the primary parameter set; return what was written.

    The ``audit`` group comes from ``audit`` when given, else from an ``audit.csv`` next to
    ``path`` (the build writes ``build/audit.csv`` beside ``build/variables.yml``)."""
    path = Path(path)
    data = variables_from_results(results)
    alternatives = alternative_sets(results)
    if alternatives:
        data["sets"] = {_key(name): variables_from_results(results, name) for name in alternatives}
    if audit is None and (path.parent / "audit.csv").is_file():
        audit = pd.read_csv(path.parent / "audit.csv", dtype=str)
    if audit_variables(audit):
        data.setdefault("audit", {}).update(audit_variables(audit))
    header = (
        "# Written by casereport (report.variables.write_variables) from the build's results.\n"
        "# Do not edit: rebuilt on every `casereport build`. Quoted in index.qmd with\n"
        "# {{< var analysis.quantity >}}.\n"
    )
    body = yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
    atomic.write_text(path, header + body)
    return data


def read_variables(path: Path) -> dict:
    p = Path(path)
    if not p.is_file():
        return {}
    return yaml.safe_load(p.read_text(encoding="utf-8")) or {}
