"""Rounding as published tables do it: half up, in decimal (and half even, to explain).

A ground-floor module: everything may import it and it imports nothing of ours. Python's
``round`` and ``f"{x:.0f}"`` round halves to even and work in binary (58.5 -> 58);
published tables, the audit and every displayed number round halves up (58.5 -> 59).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal


def to_decimal(x) -> Decimal:
    """``x`` as the decimal it prints as.

    repr of a float is its shortest round-tripping form: 58.5 -> '58.5', so a value that
    prints as an exact half is treated as one (Decimal(58.5) would also be exact, but
    Decimal(0.145) is 0.14499999..., which is not what anyone reading the table means)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(str(x))


def round_half_up(x, ndigits: int = 0):
    """Round halves away from zero, in decimal: 58.5 -> 59, 8.5 -> 9, 0.145 -> 0.15 (2 dp).

    Returns an ``int`` for ``ndigits <= 0``, else a ``float``.
    """
    q = quantize_half_up(to_decimal(x), ndigits)
    return int(q) if ndigits <= 0 else float(q)


def quantize_half_up(d: Decimal, ndigits: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP)


def round_half_even(d: Decimal, ndigits: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_EVEN)


def is_half(d: Decimal, ndigits: int) -> bool:
    """True if d lies exactly halfway between two values at ``ndigits`` places."""
    shifted = d.scaleb(ndigits)
    return shifted - shifted.to_integral_value(rounding="ROUND_FLOOR") == Decimal("0.5")
