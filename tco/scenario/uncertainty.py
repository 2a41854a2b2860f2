"""`uncertainty:` the distributions a scenario declares for its inputs and law constants (what the user states;
`tco montecarlo` draws from them with `tco.studies.distributions`).

    uncertainty:
      samples: 100000
      seed: 0
      inputs:
        training.price_usd_per_hour: {lognormal: {median: 2.0, sigma: 0.3}}
        demand.requests: {uniform: [1B, 20B]}
        serving.decode_mfu: {triangular: [0.01, 0.05, 0.1]}
      law: published            # normal with the published standard errors (besiroglu2024), or
                                # {normal: {E: 0.03, A: 124.6, ...}}, or bootstrap (a law file's samples)
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..units import parse_quantity
from .fields import Finite, Name, number

__all__ = ["Distribution", "LogNormal", "Normal", "Uniform", "LogUniform", "Triangular", "LawUncertainty",
           "Uncertainty"]


def _listed(value, names: tuple[str, ...]):
    """[1B, 20B] -> {"low": 1e9, "high": 2e10}: ranges may be written as lists of human numbers."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"give [{', '.join(names)}]")
        value = dict(zip(names, value))
    return {k: parse_quantity(v) for k, v in value.items()} if isinstance(value, dict) else value


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LogNormal(_Dist):
    """{lognormal: {median, sigma}}: median x exp(sigma x standard normal)."""

    median: Finite = Field(gt=0)
    sigma: Finite = Field(gt=0, description="standard deviation of the log")


class Normal(_Dist):
    """{normal: {mean, sd}}."""

    mean: Finite
    sd: Finite = Field(gt=0)


class _Range(_Dist):
    """[low, high] (a list of human numbers, or a mapping)."""

    low: Finite
    high: Finite

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value):
        return _listed(value, ("low", "high"))

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got [{self.low:g}, {self.high:g}])")
        return self


class Uniform(_Range):
    """{uniform: [low, high]}."""


class LogUniform(_Range):
    """{loguniform: [low, high]}: uniform in log, so low must be positive."""

    @model_validator(mode="after")
    def _positive(self):
        if self.low <= 0:
            raise ValueError("a log-uniform range must be positive")
        return self


class Triangular(_Dist):
    """{triangular: [low, mode, high]}."""

    low: Finite
    mode: Finite
    high: Finite

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value):
        return _listed(value, ("low", "mode", "high"))

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low <= mode <= high with low < high")
        return self


class Distribution(_Dist):
    """Exactly one of the supported distributions, written {kind: parameters}."""

    lognormal: LogNormal | None = None
    normal: Normal | None = None
    uniform: Uniform | None = None
    loguniform: LogUniform | None = None
    triangular: Triangular | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of lognormal, normal, uniform, loguniform, triangular")
        return self

    @property
    def kind(self):
        return next(getattr(self, k) for k in type(self).model_fields if getattr(self, k) is not None)


class LawUncertainty(_Dist):
    """Normal errors on the law constants (published or your own), or a law file's bootstrap samples."""

    normal: dict[Name, Annotated[Finite, Field(gt=0)]] | None = None
    published: bool = False
    bootstrap: bool = False


def _law_spec(value):
    if value == "published":
        return {"published": True}
    if value == "bootstrap":
        return {"bootstrap": True}
    return value


class Uncertainty(_Dist):
    """The `uncertainty:` section: sample count and seed, distributions of inputs by field path, and of the law
    constants."""

    samples: Annotated[int, BeforeValidator(number)] = Field(default=100_000, gt=0, le=1_000_000_000)
    seed: Annotated[int, BeforeValidator(number)] = Field(default=0, ge=0)
    inputs: dict[Name, Distribution] = Field(default_factory=dict, description="field path -> distribution")
    law: Annotated[Union[LawUncertainty, None], Field(default=None)] = None
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("give at least one quantile, e.g. [0.1, 0.5, 0.9]")
        for q in value:
            if not 0 <= q <= 1:  # also refuses NaN
                raise ValueError(f"each quantile must be between 0 and 1 (0.9 = P90), got {q:g}")
        if len(set(value)) < len(value):
            raise ValueError("a quantile is given twice")
        return value

    @model_validator(mode="before")
    @classmethod
    def _law_shorthand(cls, value):
        if isinstance(value, dict) and "law" in value:
            value = {**value, "law": _law_spec(value["law"])}
        return value
