"""Field types shared by the scenario models: validators, human-number counts, and the strict base model.

Every number in a scenario is finite (no .inf, .nan, booleans or integers too large for a float) and lies in a
documented plausible range: the types below carry the range and, in their error message, the reason for it
(README, "Ranges of the numeric fields"). A value outside a range is a typo or a unit slip far more often than a
real input, and letting it through gives the solver numbers it cannot represent (overflowing costs, optima of
1e-304 parameters) instead of an error naming the field.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from ..text import DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, PATH_MAX_CHARS, SOURCE_MAX_CHARS, check_text
from ..units import parse_quantity

__all__ = ["Count", "NonNegativeCount", "Positive", "Utilization", "PriceUsdPerHour", "rule", "non_negative",
           "StrictModel", "number", "within", "Finite", "Params", "Tokens", "Requests", "TokensPerRequest",
           "LifetimeTokens", "Loss", "PARAMS_RANGE", "TOKENS_RANGE", "PARAMS_WHY", "TOKENS_WHY",
           "range_message"]


def rule(holds, requirement: str):
    """A pydantic after-validator: `holds(value)` or ValueError("<requirement>, got <value>")."""

    def check(value: float) -> float:
        if not holds(value):
            raise ValueError(f"{requirement}, got {value:g}")
        return value

    return check


def _short(x: float) -> str:
    """1e+06 -> 1e6, 0.001 -> 0.001: bounds as people write them."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def range_message(lo: float, hi: float, why: str, unit: str = "") -> str:
    """'must be in [lo, hi] unit (why)': how every range error reads, for fields and CLI options alike."""
    unit = f" {unit}" if unit else ""
    return f"must be in [{_short(lo)}, {_short(hi)}]{unit} ({why})"


def within(lo: float, hi: float, why: str, unit: str = ""):
    """An after-validator: lo <= value <= hi, else "must be in [lo, hi] unit (why), got value"."""
    return AfterValidator(rule(lambda v: lo <= v <= hi, range_message(lo, hi, why, unit)))


def number(value: object) -> object:
    """A before-validator for every numeric field: refuse booleans (`mfu: true` is not 1.0), integers too large
    for a float (a 401-digit count) and non-finite floats (.inf, .nan), with a message that says so."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, int):
        return parse_quantity(value)  # a float, or ValueError for an integer too large for one
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    if isinstance(value, str):  # "1e400" and "nan" would parse to non-finite floats
        try:
            parsed = float(value.replace("_", ""))
        except ValueError:
            return value  # pydantic's own message for text that is no number
        if not math.isfinite(parsed):
            shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
            raise ValueError(f"expected a finite number, got {shown}")
    return value


_positive = rule(lambda v: v > 0, "must be positive")
non_negative = rule(lambda v: v >= 0, "must be zero or positive")
_utilization = rule(lambda v: 0 < v <= 1, "must be a fraction in (0, 1] (e.g. 0.45 for 45% MFU)")
_price = rule(lambda v: v > 0, "must be a positive price in $ per device-hour")

#: Any finite number (a plain float otherwise).
Finite = Annotated[float, BeforeValidator(number)]
#: Generic positive / non-negative counts ("70B"), bounded only by finiteness; prefer a specific type below.
Count = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(_positive)]
NonNegativeCount = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(non_negative)]
Positive = Annotated[float, BeforeValidator(number), AfterValidator(_positive)]

#: Model sizes: 1e6 (a million parameters, below any language model worth pricing) to 1e15 (a thousand times
#: the largest models trained so far, ~1e12).
PARAMS_RANGE = (1e6, 1e15)
#: Why those ranges: the words every error about a size or a token count gives (scenario fields and CLI options).
PARAMS_WHY = "a million to 1,000x the largest models trained so far"
TOKENS_WHY = "up to hundreds of times all human-written text"
Params = Annotated[Count, within(*PARAMS_RANGE, PARAMS_WHY, "parameters")]
#: Training tokens: 1e6 to 1e17 (several hundred times the ~1e14-1e15 tokens of human text in existence).
TOKENS_RANGE = (1e6, 1e17)
Tokens = Annotated[Count, within(*TOKENS_RANGE, TOKENS_WHY, "tokens")]
#: Lifetime requests: up to 1e18 (10,000 requests a day from each of 8 billion people for 30 years is 9e17).
Requests = Annotated[NonNegativeCount, within(0, 1e18, "10,000 a day from every person alive for 30 years is "
                                                       "9e17", "requests")]
#: Tokens per request: up to 1e8 (100x the longest context windows offered, ~1e6-1e7).
TokensPerRequest = Annotated[NonNegativeCount, within(0, 1e8, "100x the longest context windows offered",
                                                      "tokens")]
#: Lifetime inference tokens: up to 1e24 (1e18 requests of 1e6 tokens).
LifetimeTokens = Annotated[NonNegativeCount, within(0, 1e24, "1e18 requests of a million tokens each", "tokens")]
#: A loss target: up to 20 nats/token (guessing uniformly over a 100-million-token vocabulary is 18.4).
Loss = Annotated[Positive, within(0, 20, "uniform guessing over a 100M-token vocabulary is 18.4", "nats/token")]
#: Utilizations (MFU, MBU): (0, 1], and at least 1e-4 (0.01%; unbatched decoding still reaches ~1%).
Utilization = Annotated[float, BeforeValidator(number), AfterValidator(_utilization),
                        within(1e-4, 1, "a fraction; unbatched decoding still reaches ~1%, 1e-4 is 0.01%")]
#: Prices per device-hour: $0.001 to $10,000 (no accelerator rents for more; the cheapest spot GPUs cost cents).
PriceUsdPerHour = Annotated[float, BeforeValidator(number), AfterValidator(_price),
                            within(1e-3, 1e4, "no accelerator rents for more, the cheapest spot GPUs cost cents",
                                   "$ per device-hour")]


class StrictModel(BaseModel):
    # allow_inf_nan=False: a finiteness backstop for any float field without its own type ("inf" strings too)
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


# --- text ---------------------------------------------------------------------------------------------------
# Every string a user states (names, descriptions, sources, catalog names, paths) is one of these: no control
# characters (tab allowed; newline only in a description) and a length limit (tco.text has the rules).
def text_type(max_chars: int, *, newlines: bool = False):
    """A str field that meets tco.text's rules, at most `max_chars` characters long."""
    return Annotated[str, AfterValidator(lambda v: check_text(v, max_chars=max_chars, newlines=newlines))]


Name = text_type(NAME_MAX_CHARS)
Description = text_type(DESCRIPTION_MAX_CHARS, newlines=True)
SourceText = text_type(SOURCE_MAX_CHARS)
PathText = text_type(PATH_MAX_CHARS)
__all__ += ["Name", "Description", "SourceText", "PathText", "text_type"]
