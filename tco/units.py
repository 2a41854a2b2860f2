"""Human numbers in, human numbers out: "70B" -> 7e10, 2.418e10 -> "24.2B", FLOPs <-> PF-days."""

from __future__ import annotations

import math
import re

__all__ = [
    "SUFFIXES",
    "FLOPS_PER_PF_DAY",
    "SECONDS_PER_HOUR",
    "SECONDS_PER_DAY",
    "parse_quantity",
    "format_count",
    "format_usd",
    "pf_days",
]

#: Count suffixes. B and G are both 1e9 (model cards say "70B", hardware sheets "G"); lower-case "m"
#: is refused because it reads as milli to half the audience.
SUFFIXES: dict[str, float] = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}
FLOPS_PER_PF_DAY = 1e15 * 86_400  # 8.64e19 FLOP, the unit of Brown et al. 2020 and the primer
SECONDS_PER_HOUR = 3_600.0
SECONDS_PER_DAY = 86_400.0

#: A number, then an optional suffix. Underscores only between digits (1_000); commas only as thousands
#: separators between groups of three digits (3,000 and 1,000,000, never 1,5 or 12,34): a decimal comma or a
#: stray separator is refused rather than silently read as another number ("1,5B" is not 15B).
_MANTISSA = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:_\d+)*(?:\.\d*)?|\.\d+)"
_NUMBER = re.compile(rf"^\s*([+-]?{_MANTISSA}(?:[eE][+-]?\d+)?)\s*([A-Za-z]?)\s*$")


def parse_quantity(value: object) -> float:
    """Parse a count such as ``70B``, ``1.4T``, ``2.5M``, ``10k``, ``1e12``, ``1_000`` or a plain number.

    Raises ValueError with a message that says what is accepted (pydantic turns it into a field error).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:  # a 401-digit integer: too large for a float
            raise ValueError(f"expected a finite number, got an integer of {_digits(value)} digits") from None
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        match = _NUMBER.match(value)
        if not match and "," in value:
            raise ValueError(
                f"ambiguous number {value!r}: a comma is read only as a thousands separator between groups of "
                "three digits (1,000,000); write decimals with a point (1.5B) or no separators (1500000)"
            )
        if not match:
            raise ValueError(
                f"cannot read {value!r} as a number; write e.g. 70B, 1.4T, 2.5M, 10k, 1e12 or 1_000"
            )
        digits, suffix = match.groups()
        if suffix and suffix not in SUFFIXES:
            raise ValueError(
                f"unknown suffix {suffix!r} in {value!r}; use one of {', '.join(SUFFIXES)} "
                "(k=1e3, M=1e6, B/G=1e9, T=1e12, P=1e15)"
            )
        number = float(digits.replace("_", "").replace(",", "")) * (SUFFIXES[suffix] if suffix else 1.0)
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:20]}... ({len(str(value))} characters)"
        raise ValueError(f"{shown} is not a finite number")
    return number


def _digits(value: int) -> str:
    """The number of decimal digits of a huge integer (estimated where str() refuses one of > 4,300 digits)."""
    try:
        return str(len(str(abs(value))))
    except ValueError:
        return f"about {int(value.bit_length() * math.log10(2)) + 1}"


def format_count(value: float, digits: int = 3) -> str:
    """2.418e10 -> '24.2B'; 3.3e12 -> '3.30T'. Keeps `digits` significant figures."""
    if value is None or not math.isfinite(value):
        return str(value)
    # Round first, then pick the suffix: 999.99e9 must read 1.00T, not 1000B.
    magnitude = float(f"{abs(value):.{digits - 1}e}")
    for suffix, scale in (("P", 1e15), ("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if magnitude >= scale:
            return f"{_significant(math.copysign(magnitude, value) / scale, digits)}{suffix}"
    return _significant(value, digits)


def _significant(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    return f"{x:.{decimals}f}"


def format_usd(value: float | None) -> str:
    """Money for people: $1,234,567 (no cents above $1,000)."""
    if value is None or not math.isfinite(value):
        return str(value)
    if abs(value) >= 1_000:
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def pf_days(flops: float) -> float:
    """FLOPs -> petaFLOP/s-days."""
    return flops / FLOPS_PER_PF_DAY
