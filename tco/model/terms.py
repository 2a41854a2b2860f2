"""Cost terms: each a monomial ``coef * N^n_exp * D^d_exp`` that owns its FLOPs and $ coefficients.

The lifetime cost of the primer, ``6 N D c_train + 2 N (T_in c_prefill + T_out c_decode) + D c_data``, is the
sum of the terms below. To add a cost, add a subclass here and list it in `TERMS`; the GP, the exact solver
and every report pick it up from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ..hardware import usd_per_flop
from ..scenario.roofline import RooflineCoefficients, roofline_coefficients
from ..units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["CostTerm", "TrainingCost", "PrefillCost", "DecodeCost", "RooflineDecodeCost", "DataCost", "Monomial",
           "TERMS"]


@dataclass(frozen=True)
class CostTerm:
    """``flops = flops_coef * N^n_exp * D^d_exp`` and ``usd = usd_coef * N^n_exp * D^d_exp``."""

    name: ClassVar[str]
    label: ClassVar[str]
    n_exp: ClassVar[int]
    d_exp: ClassVar[int]
    #: True when the coefficient is proportional to lifetime inference tokens (demand sweeps scale it).
    per_inference_token: ClassVar[bool] = False

    flops_coef: float
    usd_coef: float

    def monomial(self, params, tokens):
        return params**self.n_exp * tokens**self.d_exp

    def flops(self, params, tokens):
        return self.flops_coef * self.monomial(params, tokens)

    def usd(self, params, tokens):
        return self.usd_coef * self.monomial(params, tokens)

    def weight(self, objective: str) -> float:
        """Coefficient of this term in the objective being minimized ('usd' or 'flops')."""
        return self.usd_coef if objective == "usd" else self.flops_coef

    @classmethod
    def from_scenario(cls, scenario: "Scenario") -> "CostTerm":  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class TrainingCost(CostTerm):
    """6 N D training FLOPs at the training device's $ per useful FLOP."""

    name = "training"
    label = "training"
    n_exp = 1
    d_exp = 1

    @classmethod
    def from_scenario(cls, scenario):
        t = scenario.training
        return cls(flops_coef=6.0, usd_coef=6.0 * usd_per_flop(t.usd_per_hour, t.peak_flops, t.mfu))


@dataclass(frozen=True)
class _InferenceCost(CostTerm):
    """2 N FLOPs per lifetime token served, at the serving device's $ per useful FLOP in one phase."""

    n_exp = 1
    d_exp = 0
    per_inference_token = True

    @staticmethod
    def _tokens_and_mfu(scenario) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_scenario(cls, scenario):
        serving = scenario.serving
        tokens, mfu = cls._tokens_and_mfu(scenario)
        return cls(flops_coef=2.0 * tokens,
                   usd_coef=2.0 * tokens * usd_per_flop(serving.usd_per_hour, serving.peak_flops, mfu))


@dataclass(frozen=True)
class PrefillCost(_InferenceCost):
    """Lifetime prompt tokens at the prefill MFU (compute bound)."""

    name = "prefill"
    label = "inference: prefill"

    @staticmethod
    def _tokens_and_mfu(scenario):
        return scenario.demand.lifetime_prompt_tokens, scenario.serving.prefill_mfu


@dataclass(frozen=True)
class DecodeCost(_InferenceCost):
    """Lifetime generated tokens at the decode MFU (memory bound at small batch, so low); with
    `serving.roofline:` the `RooflineDecodeCost` instead."""

    name = "decode"
    label = "inference: decode"

    @staticmethod
    def _tokens_and_mfu(scenario):
        return scenario.demand.lifetime_generated_tokens, scenario.serving.decode_mfu

    @classmethod
    def from_scenario(cls, scenario):
        if scenario.serving.roofline is not None:
            return RooflineDecodeCost.from_scenario(scenario)
        return super().from_scenario(scenario)


@dataclass(frozen=True)
class RooflineDecodeCost:
    """Decode priced by the serving roofline (`tco.scenario.roofline`): lifetime generated tokens T at
    $/device-second x max(compute_s N, weights_s N + kv_s N^kv_exp). Not a monomial but the max of two
    posynomials: the GP takes it as is (`cp.maximum`); the exact solvers split N at the crossover into a
    memory-bound and a compute-bound regime of monomials (`tco.model.regimes`)."""

    name: ClassVar[str] = "decode"
    label: ClassVar[str] = "inference: decode (roofline)"
    per_inference_token: ClassVar[bool] = True

    flops_coef: float  # 2 T: FLOPs stay 2N per token whatever bounds the time
    usd_per_second: float  # T x $/device-hour / 3600
    times: RooflineCoefficients

    def usd(self, params, tokens):
        return self.usd_per_second * self.times.seconds(params)

    def flops(self, params, tokens):
        return self.flops_coef * params

    def pieces(self, objective: str, regime: str) -> tuple["Monomial", ...]:
        """The monomials this term equals in one regime ('memory' or 'compute'); FLOPs need no regimes."""
        if objective == "flops":
            return (Monomial("decode", 1, 0, self.flops_coef, 0.0),)
        if regime == "compute":
            return (Monomial("decode", 1, 0, self.flops_coef, self.usd_per_second * self.times.compute_s),)
        return (Monomial("decode", 1, 0, self.flops_coef, self.usd_per_second * self.times.weights_s),
                Monomial("decode_kv", self.times.kv_exp, 0, 0.0, self.usd_per_second * self.times.kv_s))

    @classmethod
    def from_scenario(cls, scenario):
        serving = scenario.serving
        tokens = scenario.demand.lifetime_generated_tokens
        return cls(flops_coef=2.0 * tokens, usd_per_second=tokens * serving.usd_per_hour / SECONDS_PER_HOUR,
                   times=roofline_coefficients(scenario))


@dataclass(frozen=True)
class Monomial:
    """One monomial ``coef x N^n_exp x D^d_exp`` with its exponents as data: a regime's share of a term that
    is not itself a monomial (`RooflineDecodeCost.pieces`). Same interface as `CostTerm`."""

    name: str
    n_exp: float
    d_exp: float
    flops_coef: float
    usd_coef: float

    monomial = CostTerm.monomial
    flops = CostTerm.flops
    usd = CostTerm.usd
    weight = CostTerm.weight


@dataclass(frozen=True)
class DataCost(CostTerm):
    """$ per training token acquired; no FLOPs, so it does not enter a FLOPs objective."""

    name = "data"
    label = "data acquisition"
    n_exp = 0
    d_exp = 1

    @classmethod
    def from_scenario(cls, scenario):
        return cls(flops_coef=0.0, usd_coef=scenario.data.cost_usd_per_token)


TERMS: tuple[type[CostTerm], ...] = (TrainingCost, PrefillCost, DecodeCost, DataCost)
