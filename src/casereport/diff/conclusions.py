"""``casereport diff``: what a change of data, code or parameters did to the findings.

Two builds (``build/`` folders, loaded by :mod:`casereport.diff.sides`) are compared
row by row. Every difference is one :class:`Change`, in one of these categories:

- ``conclusion``: an estimate's sign changed (for ratios: the side of 1); an interval now
  includes, or no longer includes, the null; a p-value crossed :data:`labels.ALPHA`; a
  site's case type (ENRICH) or mentoring group (RETAKE) changed; a QCA truth-table row's
  outcome changed; an audit verdict changed;
- ``moved``: an estimate, interval end, p-value, n or audit value changed by more than its
  tolerance (by default half a unit in the last digit the report displays,
  :func:`casereport.primitives.format.decimals_for`; p-values 0.0005, three decimals);
- ``below``: changed by less than that: counted, not listed;
- ``added`` / ``removed``: a result, audit check or classification on one side only;
- ``data``: a data file's cell (file, site, column, old -> new), row or column.

The null of a quantity is 1 when its name matches :data:`RATIO_PATTERNS` (odds and rate
ratios), else 0 (differences, slopes, correlations). Tolerances can be set per quantity
with :class:`Tolerances` (``pattern: tolerance``, matched against ``analysis.quantity``).
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from casereport.primitives import yamltext
from casereport.primitives.format import decimals_for
from casereport.primitives.labels import ALPHA, CASE_TYPES, MENTORING_GROUPS

CONCLUSION, MOVED, BELOW, ADDED, REMOVED, DATA = (
    "conclusion",
    "moved",
    "below",
    "added",
    "removed",
    "data",
)
#: Quantities whose null is 1 (fnmatch patterns on the quantity name); all others 0.
RATIO_PATTERNS = ("*odds_ratio*", "*rate_ratio*", "*risk_ratio*", "*_ratio_*", "*_ratio")
P_TOLERANCE = 0.0005  # p-values are shown to three decimals
_CLASSES = {c.replace("-", "_"): c for c in [*CASE_TYPES, *MENTORING_GROUPS]}
_CLASS_RE = re.compile(rf"^(?P<cls>{'|'.join(_CLASSES)})_site_(?P<site>.+)$")
_OUT_ROW_RE = re.compile(r"^out_row_(?P<row>\d+)$")
KEY = ["analysis", "quantity", "parameter_set"]
VALUES = ["estimate", "ci_low", "ci_high", "p_value", "n"]


@dataclass
class Change:
    """One difference between the base and the head build."""

    category: str  # CONCLUSION, MOVED, BELOW, ADDED, REMOVED or DATA
    section: str  # results, classification, truth table, audit, data
    what: str  # "sign", "interval and null", "p vs α", "case type", ..., or the column
    where: str  # analysis.quantity [parameter set], audit id, file/site/column
    old: str = ""
    new: str = ""


@dataclass
class Diff:
    """All changes, in the order the report lists them, and what the two builds were."""

    base: str
    head: str
    changes: list[Change] = field(default_factory=list)
    reran: list[str] = field(default_factory=list)  # runs whose inputs or code changed

    def of(self, *categories: str) -> list[Change]:
        return [c for c in self.changes if c.category in categories]

    @property
    def conclusions(self) -> list[Change]:
        return self.of(CONCLUSION)

    @property
    def empty(self) -> bool:
        return not self.changes

    def records(self) -> list[dict[str, str]]:
        return [asdict(c) for c in self.changes]


class Tolerances:
    """Per-quantity tolerances: ``{pattern: value}``, the first match wins; otherwise the
    displayed precision of the value (half a unit in its last displayed digit)."""

    def __init__(self, rules: Mapping[str, float] | None = None):
        self.rules = {str(k): float(v) for k, v in (rules or {}).items()}

    @classmethod
    def from_yaml(cls, path: Path) -> Tolerances:
        data = yamltext.load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(_is_number(v) for v in data.values()):
            raise ValueError(f"{path}: expected a mapping 'pattern: tolerance' of numbers")
        return cls(data)

    def for_value(self, name: str, old: float, new: float, column: str) -> float:
        for pattern, tol in self.rules.items():
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(
                name.split(".", 1)[-1], pattern
            ):
                return tol
        if column == "p_value":
            return P_TOLERANCE
        if column == "n":
            return 0.0
        return 0.5 * 10.0 ** -max(decimals_for(old), decimals_for(new))


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def null_of(quantity: str) -> float:
    """1 for ratios (:data:`RATIO_PATTERNS`), 0 otherwise."""
    return 1.0 if any(fnmatch.fnmatchcase(quantity, p) for p in RATIO_PATTERNS) else 0.0


def _f(v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _show(v: object) -> str:
    x = _f(v)
    if math.isnan(x):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return f"{x:.6g}"


def _interval(lo: float, hi: float) -> str:
    return f"{_show(lo)} to {_show(hi)}"


def _covered(quantity: str, analysis: str) -> bool:
    """One-hot classification rows and truth-table outcomes: compared as such, not as
    estimates."""
    return bool(_CLASS_RE.match(quantity)) or (
        analysis.startswith("qca") and bool(_OUT_ROW_RE.match(quantity))
    )


def _keyed(results: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
    df = results.drop(columns=["run_id"], errors="ignore").astype({"parameter_set": str})
    return {(r["analysis"], r["quantity"], r["parameter_set"]): r for r in df.to_dict("records")}


def _flags(q: str, a: dict, b: dict) -> list[Change]:
    """The conclusions one result row changed, if any."""
    null, out = null_of(q), []
    l0, l1 = _label(a), _label(b)
    if l0 != l1:  # a naming quantity now names another site
        out.append(Change(CONCLUSION, "results", "names", "", l0, l1))
    e0, e1 = _f(a["estimate"]), _f(b["estimate"])
    if (e0 - null) * (e1 - null) < 0:
        label = "side of 1" if null == 1 else "sign"
        out.append(Change(CONCLUSION, "results", label, "", _show(e0), _show(e1)))
    lo0, hi0, lo1, hi1 = (_f(a["ci_low"]), _f(a["ci_high"]), _f(b["ci_low"]), _f(b["ci_high"]))
    if not any(math.isnan(x) for x in (lo0, hi0, lo1, hi1)):
        inc0, inc1 = lo0 <= null <= hi0, lo1 <= null <= hi1
        if inc0 != inc1:
            what = f"interval {'now includes' if inc1 else 'no longer includes'} {null:g}"
            out.append(
                Change(CONCLUSION, "results", what, "", _interval(lo0, hi0), _interval(lo1, hi1))
            )
    p0, p1 = _f(a["p_value"]), _f(b["p_value"])
    if not (math.isnan(p0) or math.isnan(p1)) and (p0 < ALPHA) != (p1 < ALPHA):
        what = f"p {'below' if p1 < ALPHA else 'no longer below'} α = {ALPHA:g}"
        out.append(Change(CONCLUSION, "results", what, "", _show(p0), _show(p1)))
    return out


def compare_results(base: pd.DataFrame, head: pd.DataFrame, tol: Tolerances) -> list[Change]:
    """Tidy results keyed by analysis, quantity and parameter set."""
    a, b = _keyed(base), _keyed(head)
    out: list[Change] = []
    for key in sorted(a.keys() | b.keys()):
        analysis, quantity, pset = key
        if _covered(quantity, analysis):
            continue
        where = f"{analysis}.{quantity} [{pset}]"
        if key not in b:
            out.append(Change(REMOVED, "results", "estimate", where, _show(a[key]["estimate"])))
            continue
        if key not in a:
            out.append(Change(ADDED, "results", "estimate", where, "", _show(b[key]["estimate"])))
            continue
        ra, rb = a[key], b[key]
        for c in _flags(quantity, ra, rb):
            c.where = where
            out.append(c)
        changed = _label(ra) != _label(rb)
        moved = changed
        for col in VALUES:
            x0, x1 = _f(ra[col]), _f(rb[col])
            if (math.isnan(x0) and math.isnan(x1)) or x0 == x1:
                continue
            changed = True
            limit = tol.for_value(f"{analysis}.{quantity}", x0, x1, col)
            moved = moved or math.isnan(x0) or math.isnan(x1) or abs(x1 - x0) > limit
        if changed:
            out.append(
                Change(
                    MOVED if moved else BELOW,
                    "results",
                    "estimate",
                    where,
                    _estimate_text(ra),
                    _estimate_text(rb),
                )
            )
    return out


def _label(r: Mapping) -> str:
    """A naming quantity's text (a site id), '' for a plain number."""
    value = r.get("label")
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _estimate_text(r: Mapping) -> str:
    if _label(r):
        return _label(r)
    text = _show(r["estimate"])
    if not (math.isnan(_f(r["ci_low"])) or math.isnan(_f(r["ci_high"]))):
        text += f" ({_interval(_f(r['ci_low']), _f(r['ci_high']))})"
    if not math.isnan(_f(r["p_value"])):
        text += f", p {_show(r['p_value'])}"
    return text


def classifications(results: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """``(analysis, parameter set, site) -> class`` from the one-hot rows
    (``high_high_site_3`` = 1: site 3 is high-high)."""
    out: dict[tuple[str, str, str], str] = {}
    for r in results.to_dict("records"):
        m = _CLASS_RE.match(str(r["quantity"]))
        if m and _f(r["estimate"]) == 1:
            out[(str(r["analysis"]), str(r["parameter_set"]), m["site"])] = _CLASSES[m["cls"]]
    return out


def _trial_names() -> dict[str, str]:
    """Trial code -> name, from the project's trial folders (none when they do not read)."""
    from casereport.trialdata import trials

    try:
        return trials.names()
    except (OSError, ValueError):
        return {}


def _trial_code(analysis: str, pset: str, cls: str, names: dict[str, str]) -> str:
    """The trial a classification row is of: a case profile's (``case_profile_<code>``),
    a run of another trial of the shape (parameter set ``<code>-<set>``), else the shape's
    trial named in the analysis (``enrich_cases``), else by the kind of class."""
    if analysis.startswith("case_profile_"):
        return analysis.removeprefix("case_profile_")
    prefix = pset.partition("-")[0]
    if "-" in pset and prefix in names:
        return prefix
    parts = analysis.split("_")
    return next((t for t in names if t in parts),
                "enrich" if cls in CASE_TYPES else "retake")


def compare_classifications(base: pd.DataFrame, head: pd.DataFrame) -> list[Change]:
    """A site's case type or group; one change per (trial, site, old, new), naming every
    analysis and parameter set that shows it."""
    a, b = classifications(base), classifications(head)
    names = _trial_names()
    merged: dict[tuple[str, str, str, str], list[str]] = {}
    for key in sorted(a.keys() | b.keys()):
        old, new = a.get(key, ""), b.get(key, "")
        if old == new:
            continue
        analysis, pset, site = key
        trial = _trial_code(analysis, pset, old or new, names)
        merged.setdefault((trial, site, old, new), []).append(f"{analysis} [{pset}]")
    out = []
    for (trial, site, old, new), where in merged.items():
        what = "case type" if (old or new) in CASE_TYPES else "mentoring group"
        cat = CONCLUSION if old and new else (ADDED if new else REMOVED)
        out.append(
            Change(
                cat,
                "classification",
                what,
                f"{names.get(trial, trial.upper())} site {site} ({'; '.join(where)})",
                old,
                new,
            )
        )
    return out


def _outcomes(results: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    out = {}
    for r in results.to_dict("records"):
        m = _OUT_ROW_RE.match(str(r["quantity"]))
        if m and str(r["analysis"]).startswith("qca"):
            x = _f(r["estimate"])
            out[(str(r["analysis"]), str(r["parameter_set"]), m["row"])] = (
                "remainder" if math.isnan(x) else f"{x:g}"
            )
    return out


def compare_truth_tables(base: pd.DataFrame, head: pd.DataFrame) -> list[Change]:
    """The outcome of each QCA truth-table row (1, 0, or remainder when no case has it)."""
    a, b = _outcomes(base), _outcomes(head)
    out = []
    for key in sorted(a.keys() | b.keys(), key=lambda k: (k[0], k[1], int(k[2]))):
        old, new = a.get(key, ""), b.get(key, "")
        if old != new:
            cat = CONCLUSION if old and new else (ADDED if new else REMOVED)
            where = f"{key[0]} row {key[2]} [{key[1]}]"
            out.append(Change(cat, "truth table", "outcome", where, old, new))
    return out


def compare_audit(base: pd.DataFrame, head: pd.DataFrame) -> list[Change]:
    """Status (any string: new statuses are compared like the old) and recomputed value of
    every published number, by audit id; the value moved when its displayed (rounded) form
    changed."""
    a = {str(r["id"]): r for r in base.astype(str).to_dict("records")}
    b = {str(r["id"]): r for r in head.astype(str).to_dict("records")}
    out = []
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            out.append(Change(REMOVED, "audit", "check", key, a[key].get("status", "")))
            continue
        if key not in a:
            out.append(Change(ADDED, "audit", "check", key, "", b[key].get("status", "")))
            continue
        ra, rb = a[key], b[key]
        if ra.get("status") != rb.get("status"):
            out.append(Change(CONCLUSION, "audit", "verdict", key, ra["status"], rb["status"]))
        if ra.get("recomputed_rounded") != rb.get("recomputed_rounded"):
            out.append(
                Change(
                    MOVED,
                    "audit",
                    "recomputed",
                    key,
                    ra.get("recomputed", ""),
                    rb.get("recomputed", ""),
                )
            )
        elif ra.get("recomputed") != rb.get("recomputed"):
            out.append(
                Change(
                    BELOW,
                    "audit",
                    "recomputed",
                    key,
                    ra.get("recomputed", ""),
                    rb.get("recomputed", ""),
                )
            )
    return out


def rerun_runs(base: Mapping, head: Mapping) -> list[str]:
    """Runs whose cache key (what they ran and read) differs between the builds."""
    keys = {r["run_id"]: r.get("cache_key") for r in base.get("runs", [])}
    return sorted(
        r["run_id"] for r in head.get("runs", []) if keys.get(r["run_id"]) != r.get("cache_key")
    )


def counts(changes: Iterable[Change]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in changes:
        out[c.category] = out.get(c.category, 0) + 1
    return out
