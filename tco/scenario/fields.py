"""Field types shared by the scenario models: validators, human-number counts, and the strict base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from ..units import parse_quantity

__all__ = ["Count", "NonNegativeCount", "Positive", "Utilization", "PriceUsdPerHour"]


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be positive, got {value:g}")
    return value


def _non_negative(value: float) -> float:
    if not value >= 0:
        raise ValueError(f"must be zero or positive, got {value:g}")
    return value


def _utilization(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be a fraction in (0, 1] (e.g. 0.45 for 45% MFU), got {value:g}")
    return value


def _price(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be a positive price in $ per device-hour, got {value:g}")
    return value


Count = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(_positive)]
NonNegativeCount = Annotated[float, BeforeValidator(parse_quantity), AfterValidator(_non_negative)]
Positive = Annotated[float, AfterValidator(_positive)]
Utilization = Annotated[float, AfterValidator(_utilization)]
PriceUsdPerHour = Annotated[float, AfterValidator(_price)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
