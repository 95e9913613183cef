"""One number style for tables, prose (``_variables.yml``) and report fragments.

A ground-floor module: it imports only :mod:`casereport.primitives.rounding`. Rules:

- rounding is half up, in decimal (58.5 -> "59", never Python's half-to-even);
- the minus sign is U+2212 ("−0.25"); a value that rounds to zero has no sign;
- :func:`number` without ``decimals``: whole numbers without decimals, otherwise 2 decimals
  below 10, 1 below 100, none above ("0.62", "51.3", "113"); whole numbers of 10,000 or
  more get thousands separators ("12,345");
- p-values: three decimals, "<0.001" below that (no space, in tables and prose alike);
- missing values (None, NA, NaN, infinite) print as ``missing`` ("" unless asked).
"""

from __future__ import annotations

import math
from typing import Any

from casereport.primitives.rounding import quantize_half_up, to_decimal

MINUS = "\u2212"
DASH = "\u2013"  # en dash: ranges and missing table cells


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def is_missing(value: Any) -> bool:
    return _float(value) is None


def decimals_for(value: Any) -> int:
    """Decimals :func:`number` uses for ``value`` by default; 0 for whole numbers."""
    x = _float(value)
    if x is None or abs(x - round(x)) < 1e-9:
        return 0
    ax = abs(x)
    return 2 if ax < 10 else 1 if ax < 100 else 0


def number(value: Any, decimals: int | None = None, missing: str = "") -> str:
    """``value`` in the house style (module docstring); ``decimals`` fixes the precision."""
    x = _float(value)
    if x is None:
        return missing if (value is None or _float_like(value)) else str(value)
    d = decimals_for(x) if decimals is None else decimals
    q = quantize_half_up(to_decimal(x), d)
    if q == 0:
        q = abs(q)
    text = f"{abs(q):,}" if d == 0 and abs(q) >= 10_000 else f"{abs(q):.{max(d, 0)}f}"
    return (MINUS if q < 0 else "") + text


def _float_like(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return str(value) in ("<NA>", "nan", "NaT")
    return True


def integer(value: Any, missing: str = DASH) -> str:
    return number(value, 0, missing)


def p_value(value: Any, missing: str = "") -> str:
    """Three decimals, ``<0.001`` below that."""
    p = _float(value)
    if p is None:
        return missing
    return "<0.001" if p < 0.001 else number(p, 3)


def p_relation(value: Any) -> str:
    """``p = 0.034`` or ``p < 0.001`` for prose; '' for missing."""
    p = p_value(value)
    if not p:
        return ""
    return f"p < {p[1:]}" if p.startswith("<") else f"p = {p}"


def interval(low: Any, high: Any, decimals: int | None = 2, missing: str = DASH) -> str:
    """``"0.12 to 0.56"``; ``missing`` when either end is."""
    if is_missing(low) or is_missing(high):
        return missing
    return f"{number(low, decimals)} to {number(high, decimals)}"


def estimate(
    value: Any, ci_low: Any = None, ci_high: Any = None, strip: bool = True
) -> tuple[str, str, str]:
    """(estimate, low, high) as text, the interval at the estimate's precision (or at the
    interval's when the estimate is whole: ``80 (56.3 to 94.3)``); an estimate without an
    interval drops trailing zeros (``9.5``) unless ``strip`` is false (tables keep them
    so a column lines up)."""
    d = decimals_for(value)
    if d == 0:
        d = max(decimals_for(ci_low), decimals_for(ci_high))
    lo, hi = number(ci_low, d), number(ci_high, d)
    est = number(value)
    if est and lo and hi:
        est = number(value, max(d, decimals_for(value)))
    elif strip and "." in est:
        est = est.rstrip("0").rstrip(".")
    if not (lo and hi):
        lo = hi = ""
    return est, lo, hi


def percent_level(level: float) -> str:
    """A confidence level as a percentage: 0.95 -> "95%"."""
    return f"{100 * level:g}%"
