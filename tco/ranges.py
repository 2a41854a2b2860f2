"""One range syntax for every command: `LOW..HIGH:POINTS` (log-spaced), `LOW..HIGH:POINTS:lin` (linear), and,
where a command takes lists, one value or `V1,V2,...`.

`tco optimize --sweep 1e9..1e16:50`, `tco allocate --flops 1e20..1e24:9` and `tco sweep --vary
demand.requests=1e8..1e12:50` all read their ranges here. Sweeps of counts, prices and budgets span decades, so
log spacing is the default; `:lin` asks for even steps (an MFU from 0.3 to 0.6). The older sweep spelling
`LOW:HIGH:log:POINTS` / `LOW:HIGH:lin:POINTS` still parses for one release: `legacy_note` names the new spelling
for the command to print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import TcoError
from .units import parse_quantity

__all__ = ["Span", "parse_span", "parse_values", "legacy_note", "RANGE_FORMS"]

#: The forms, for help texts and error messages.
RANGE_FORMS = "LOW..HIGH:POINTS (log-spaced), LOW..HIGH:POINTS:lin (linear)"
_SCALES = ("log", "lin")


@dataclass(frozen=True)
class Span:
    """A range of `points` values from `low` to `high`, both included, log- or evenly spaced."""

    low: float
    high: float
    points: int
    scale: Literal["log", "lin"] = "log"

    def values(self) -> np.ndarray:
        if self.scale == "log":
            return np.logspace(np.log10(self.low), np.log10(self.high), self.points)
        return np.linspace(self.low, self.high, self.points)

    @property
    def spelling(self) -> str:
        """The canonical way to write this span."""
        return f"{self.low:g}..{self.high:g}:{self.points}" + (":lin" if self.scale == "lin" else "")


def _number(option: str, text: str, what: str = "") -> float:
    try:
        return parse_quantity(text.strip())
    except ValueError as exc:
        raise TcoError(f"{option}: {what}{' ' if what else ''}{exc}") from None


def _points(option: str, text: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise TcoError(f"{option}: POINTS must be a whole number, got {text!r}")
    return int(text)


def _legacy(text: str) -> tuple[str, str, str, str] | None:
    """(low, high, scale, points) of the old `LOW:HIGH:log|lin:POINTS`, else None."""
    parts = [part.strip() for part in text.split(":")]
    if ".." in text or len(parts) != 4 or parts[2] not in _SCALES:
        return None
    return parts[0], parts[1], parts[2], parts[3]


def legacy_note(option: str, text: str) -> str | None:
    """One line naming the new spelling of a range written the old way ('1e8:1e12:log:50' -> '1e8..1e12:50'),
    else None. The old form is read for one more release."""
    old = _legacy(text)
    if old is None:
        return None
    low, high, scale, points = old
    new = f"{low}..{high}:{points}" + (":lin" if scale == "lin" else "")
    return f"{option}: {text!r} is the old range spelling (still read for now); write {new!r}"


def parse_span(option: str, text: str, *, default_points: int | None = None) -> Span:
    """'LOW..HIGH[:POINTS][:lin]' (or the old 'LOW:HIGH:log|lin:POINTS') -> Span; a one-line TcoError naming
    `option` otherwise. Without POINTS a log range gets `default_points`, else one point per decade."""
    old = _legacy(text)
    if old is not None:
        low_text, high_text, scale, points_text = old
    else:
        low_text, dots, rest = text.partition("..")
        if not dots:
            raise TcoError(f"{option}: expected {RANGE_FORMS}, got {text!r}")
        high_text, _, tail = rest.partition(":")
        fields = [part.strip() for part in tail.split(":")] if tail else []
        scale = fields.pop() if fields and fields[-1] in _SCALES else "log"
        if len(fields) > 1:
            raise TcoError(f"{option}: expected {RANGE_FORMS}, got {text!r}")
        points_text = fields[0] if fields else ""
    low, high = _number(option, low_text, "LOW:"), _number(option, high_text, "HIGH:")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise TcoError(f"{option}: the ends of {text!r} must be finite")
    if low == high:
        raise TcoError(f"{option}: LOW and HIGH of {text!r} are equal (for one value give it alone)")
    if scale == "log" and (low <= 0 or high <= 0):
        raise TcoError(f"{option}: a log-spaced range needs positive ends, got {text!r} (add :lin for even steps)")
    if points_text:
        points = _points(option, points_text)
    elif scale == "lin":
        raise TcoError(f"{option}: a linear range needs its number of points, e.g. LOW..HIGH:7:lin, got {text!r}")
    else:
        points = default_points or max(int(round(math.log10(max(low, high) / min(low, high)))) + 1, 2)
    if points < 2:
        raise TcoError(f"{option}: a range needs at least 2 points, got {points} in {text!r} (for one value give "
                       "it alone)")
    return Span(low, high, points, scale)  # type: ignore[arg-type]  # scale is one of _SCALES


def parse_values(option: str, text: str, *, default_points: int | None = None) -> Span | np.ndarray:
    """A range (`parse_span`) or, where a command takes lists, one value or 'V1,V2,...' (each once) as an
    array of floats."""
    if ".." in text or _legacy(text) is not None or ":" in text:
        return parse_span(option, text, default_points=default_points)
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise TcoError(f"{option}: an empty value in {text!r}; give a value, V1,V2,... or {RANGE_FORMS}")
    values = np.array([_number(option, item) for item in items])
    repeated = [v for i, v in enumerate(values) if v in values[:i]]
    if repeated:
        raise TcoError(f"{option}: the value {repeated[0]:g} is given twice in {text!r}")
    return values
