"""Distributions a scenario can declare for its inputs, and samplers for law constants.

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

import dataclasses
from typing import Annotated, Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..laws import Law
from ..units import parse_quantity

__all__ = [
    "Distribution", "LawUncertainty", "Uncertainty", "sample", "sample_laws", "PUBLISHED_STDERR",
]

#: Standard errors published with the fits (Besiroglu et al. 2024, Table 1 of "Chinchilla Scaling: A
#: replication attempt": E 1.8172 (0.03), A 482.01 (124.58), B 2085.43 (1293.23), alpha 0.3478 (0.02),
#: beta 0.3658 (0.02)). Correlations are not published, so constants are sampled independently; that
#: overstates the spread of the loss (A and alpha are strongly correlated in any fit). Prefer bootstrap
#: samples from `tco fit` when you have them.
PUBLISHED_STDERR: dict[str, dict[str, float]] = {
    "besiroglu2024": {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02},
}


def _listed(value, names: tuple[str, ...]):
    """[1B, 20B] -> {"low": 1e9, "high": 2e10}: ranges may be written as lists of human numbers."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"give [{', '.join(names)}]")
        value = dict(zip(names, value))
    return {k: parse_quantity(v) for k, v in value.items()} if isinstance(value, dict) else value


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogNormal(_Dist):
    median: float = Field(gt=0)
    sigma: float = Field(gt=0, description="standard deviation of the log")

    def draw(self, rng, n):
        return self.median * np.exp(self.sigma * rng.standard_normal(n))


class Normal(_Dist):
    mean: float
    sd: float = Field(gt=0)

    def draw(self, rng, n):
        return self.mean + self.sd * rng.standard_normal(n)


class _Range(_Dist):
    low: float
    high: float

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
    def draw(self, rng, n):
        return rng.uniform(self.low, self.high, n)


class LogUniform(_Range):
    @model_validator(mode="after")
    def _positive(self):
        if self.low <= 0:
            raise ValueError("a log-uniform range must be positive")
        return self

    def draw(self, rng, n):
        return np.exp(rng.uniform(np.log(self.low), np.log(self.high), n))


class Triangular(_Dist):
    low: float
    mode: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value):
        return _listed(value, ("low", "mode", "high"))

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low <= mode <= high with low < high")
        return self

    def draw(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)


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

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.kind.draw(rng, n)


class LawUncertainty(_Dist):
    """Normal errors on the law constants (published or your own), or a law file's bootstrap samples."""

    normal: dict[str, Annotated[float, Field(gt=0)]] | None = None
    published: bool = False
    bootstrap: bool = False


def _law_spec(value):
    if value == "published":
        return {"published": True}
    if value == "bootstrap":
        return {"bootstrap": True}
    return value


class Uncertainty(_Dist):
    samples: int = Field(default=100_000, gt=0, le=1_000_000_000)
    seed: int = 0
    inputs: dict[str, Distribution] = Field(default_factory=dict, description="field path -> distribution")
    law: Annotated[Union[LawUncertainty, None], Field(default=None)] = None
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)

    @model_validator(mode="before")
    @classmethod
    def _law_shorthand(cls, value):
        if isinstance(value, dict) and "law" in value:
            value = {**value, "law": _law_spec(value["law"])}
        return value


def sample(uncertainty: Uncertainty, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw `n` samples of every declared input (in declaration order, so seeds are reproducible)."""
    return {path: dist.draw(rng, n) for path, dist in uncertainty.inputs.items()}


def sample_laws(law: Law, n: int, rng: np.random.Generator, *, stderr: dict[str, float] | None = None,
                bootstrap: dict | None = None) -> dict[str, np.ndarray]:
    """Samples of the law constants as {"law.E": array, ...}.

    With `stderr`: E, alpha, beta normal around the law's values; A and B lognormal with sigma = SE / value
    (delta method), which keeps them positive. With `bootstrap` ({columns, samples} from a law file):
    resample rows, which keeps the constants' correlations.
    """
    constants = law.constants()
    if bootstrap is not None:
        columns = list(bootstrap["columns"])
        rows = np.asarray(bootstrap["samples"], dtype=float)
        picks = rows[rng.integers(0, len(rows), n)]
        return {f"law.{c}": picks[:, i] for i, c in enumerate(columns) if c in constants}
    out: dict[str, np.ndarray] = {}
    for name, se in (stderr or {}).items():
        if name not in constants:
            raise ValueError(f"law {law.name} has no constant {name!r} (it has {', '.join(constants)})")
        value = constants[name]
        if name in ("A", "B", "n_c", "d_c"):
            out[f"law.{name}"] = value * np.exp((se / value) * rng.standard_normal(n))
        else:
            out[f"law.{name}"] = value + se * rng.standard_normal(n)
    return out


def replace_law(law: Law, samples: dict[str, np.ndarray]) -> Law:
    """The law with array constants (for vectorized evaluation)."""
    changes: dict[str, Any] = {k.split(".", 1)[1]: v for k, v in samples.items()}  # floats become arrays
    return dataclasses.replace(law, **changes)

