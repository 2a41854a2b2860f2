"""Field types shared by the scenario models: validators, human-number counts, and the strict base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

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
