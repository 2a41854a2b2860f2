"""Field types shared by the scenario models: validators, human-number counts, and the strict base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from ..text import DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, PATH_MAX_CHARS, SOURCE_MAX_CHARS, check_text
from ..units import parse_quantity

__all__ = ["Count", "NonNegativeCount", "Positive", "Utilization", "PriceUsdPerHour", "rule", "non_negative",
           "StrictModel"]


def rule(holds, requirement: str):
    """A pydantic after-validator: `holds(value)` or ValueError("<requirement>, got <value>")."""

    def check(value: float) -> float:
        if not holds(value):
            raise ValueError(f"{requirement}, got {value:g}")
        return value

    return check


_positive = rule(lambda v: v > 0, "must be positive")
non_negative = rule(lambda v: v >= 0, "must be zero or positive")
_utilization = rule(lambda v: 0 < v <= 1, "must be a fraction in (0, 1] (e.g. 0.45 for 45% MFU)")
_price = rule(lambda v: v > 0, "must be a positive price in $ per device-hour")


Count = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(_positive)]
NonNegativeCount = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(non_negative)]
Positive = Annotated[float, AfterValidator(_positive)]
Utilization = Annotated[float, AfterValidator(_utilization)]
PriceUsdPerHour = Annotated[float, AfterValidator(_price)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


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
