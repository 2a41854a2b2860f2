"""Caps: constraints ``N^n_exp * D^d_exp (+ sum_k w_k N^i_k D^j_k) <= limit``, each named by its scenario field
path: monomials, except the training deadline with attention FLOPs, a posynomial (`Cap.extra`).

The loss target, the one posynomial constraint, lives with the law (`tco.laws.LossConstraint`). To add a cap,
add a subclass here and list it in `CAPS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .replica import latency_params_limit, memory_params_limit, ttft_params_limit
from .serving import phase_flops_monomials, weight_bytes_per_param
from ..units import format_count

#: How MemoryFit describes the KV cache under serving.roofline.
_ROOFLINE_KV = "KV of batch_size x (prompt + generated) tokens from serving.roofline"

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["Cap", "MaxParams", "MaxTokens", "MaxUniqueTokens", "TrainingDeadline", "MemoryFit", "DecodeLatency",
           "FirstTokenLatency", "CAPS"]


@dataclass(frozen=True)
class Cap:
    """A cap ``N^n_exp * D^d_exp + sum_k w_k N^i_k D^j_k <= limit`` (`extra` = ((i_k, j_k, w_k), ...), empty for
    a monomial cap); subclasses name the scenario field it comes from."""

    name: ClassVar[str]  # the scenario field path, used in messages and `binding_constraints`
    n_exp: ClassVar[int]
    d_exp: ClassVar[int]

    limit: float
    extra: tuple = ()

    def value(self, params, tokens):
        out = params**self.n_exp * tokens**self.d_exp
        for i, j, w in self.extra:
            out = out + w * params**i * tokens**j
        return out

    def relative_slack(self, params, tokens) -> float:
        """1 - value/limit: 0 when binding, negative when violated."""
        return 1.0 - self.value(params, tokens) / self.limit

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_scenario(cls, scenario: "Scenario") -> "Cap | None":  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class _FieldLimit(Cap):
    """A cap read straight from one field of `constraints:`."""

    field: ClassVar[str]
    unit: ClassVar[str]

    def describe(self):
        return f"{self.name} = {format_count(self.limit)} {self.unit}"

    @classmethod
    def from_scenario(cls, scenario):
        value = getattr(scenario.constraints, cls.field)
        return None if value is None else cls(limit=value)


@dataclass(frozen=True)
class MaxParams(_FieldLimit):
    """`constraints.max_params`: N <= limit."""

    name = "constraints.max_params"
    field = "max_params"
    unit = "parameters"
    n_exp = 1
    d_exp = 0


@dataclass(frozen=True)
class MaxTokens(_FieldLimit):
    """`constraints.max_tokens`: D <= limit."""

    name = "constraints.max_tokens"
    field = "max_tokens"
    unit = "tokens"
    n_exp = 0
    d_exp = 1


@dataclass(frozen=True)
class MaxUniqueTokens(MaxTokens):
    """`data: {max_unique_tokens: U, repetition: none}`: no repeated epochs, so D <= U like max_tokens.
    (With the default repetition model the limit is not a cap but the effective-data map of tco.model.repetition.)"""

    name = "data.max_unique_tokens"
    unit = "unique tokens"

    @classmethod
    def from_scenario(cls, scenario):
        data = scenario.data
        if data.max_unique_tokens is None or data.repetition != "none":
            return None
        return cls(limit=data.max_unique_tokens)


@dataclass(frozen=True)
class TrainingDeadline(Cap):
    """Training FLOPs <= budget, the budget being gpus x dense peak x MFU x goodput x seconds: N D <= budget / 6,
    or with attention FLOPs the posynomial N D + (attention coefficient / 6) N^e D <= budget / 6."""

    name = "constraints.training_deadline"
    n_exp = 1
    d_exp = 1

    flops: float = 0.0
    gpus: float = 0.0
    days: float = 0.0

    def describe(self):
        return (f"{self.name} = {self.gpus:,.0f} GPUs x {self.days:g} days "
                f"({self.flops:.3g} training FLOPs)")

    @classmethod
    def from_scenario(cls, scenario):
        flops = scenario.deadline_flops
        if flops is None:
            return None
        deadline = scenario.constraints.training_deadline
        (weights, _), *attention = phase_flops_monomials(scenario, "training")
        extra = tuple((exp, 1, coef / weights) for coef, exp in attention)
        return cls(limit=flops / weights, extra=extra, flops=flops, gpus=deadline.gpus, days=deadline.days)


@dataclass(frozen=True)
class MemoryFit(Cap):
    """N <= (devices_per_replica x memory_gb - kv_cache_gb) x 1e9 / bytes_per_param: weights + KV fit a replica."""

    name = "serving.memory_fit"
    n_exp = 1
    d_exp = 0

    devices: float = 0.0
    memory_gb: float = 0.0
    kv_cache_gb: float = 0.0
    bytes_per_param: float = 0.0
    roofline: bool = False  # the KV cache comes from serving.roofline and grows with N under a shape rule

    def describe(self):
        kv = _ROOFLINE_KV if self.roofline else f"{self.kv_cache_gb:g} GB KV"
        return (f"{self.name} = ({self.devices:g} x {self.memory_gb:g} GB - {kv}) / "
                f"{self.bytes_per_param:g} bytes per parameter ({format_count(self.limit)} parameters)")

    @classmethod
    def from_scenario(cls, scenario):
        s = scenario.serving
        if not s.memory_fit:
            return None
        return cls(limit=memory_params_limit(scenario), devices=s.devices_per_replica,
                   memory_gb=s.device.memory_gb, kv_cache_gb=s.kv_cache_gb,
                   bytes_per_param=weight_bytes_per_param(s), roofline=s.roofline is not None)


@dataclass(frozen=True)
class DecodeLatency(Cap):
    """Memory-bound decode reads every weight and the KV cache once per output token:
    N <= (ms / 1000 x devices x bandwidth_gb_per_s - kv_cache_gb) x 1e9 / bytes_per_param."""

    name = "serving.max_time_per_output_token_ms"
    n_exp = 1
    d_exp = 0

    ms: float = 0.0
    bandwidth_gb_per_s: float = 0.0
    kv_cache_gb: float = 0.0
    bytes_per_param: float = 0.0
    roofline: bool = False  # max(compute, memory incl. KV reads) of a full batch step, serving.roofline

    def describe(self):
        kv = "roofline step of the full batch" if self.roofline else f"{self.kv_cache_gb:g} GB KV"
        return (f"{self.name} = {self.ms:g} ms at {self.bandwidth_gb_per_s:g} GB/s per replica, "
                f"{kv}, {self.bytes_per_param:g} bytes per parameter ({format_count(self.limit)} parameters)")

    @classmethod
    def from_scenario(cls, scenario):
        s = scenario.serving
        if s.max_time_per_output_token_ms is None:
            return None
        return cls(limit=latency_params_limit(scenario), ms=s.max_time_per_output_token_ms,
                   bandwidth_gb_per_s=s.replica_bandwidth_gb_per_s, kv_cache_gb=s.kv_cache_gb,
                   bytes_per_param=weight_bytes_per_param(s), roofline=s.roofline is not None)


@dataclass(frozen=True)
class FirstTokenLatency(Cap):
    """N <= the largest model whose time to first token (one prompt on an idle replica,
    `tco.model.serving_step.first_token`) meets serving.max_time_to_first_token_ms: an exact root, since every term
    of that time grows with N."""

    name = "serving.max_time_to_first_token_ms"
    n_exp = 1
    d_exp = 0

    ms: float = 0.0
    prompt_tokens: float = 0.0

    def describe(self):
        return (f"{self.name} = {self.ms:g} ms for a prompt of {self.prompt_tokens:,.0f} tokens on an idle replica "
                f"({format_count(self.limit)} parameters)")

    @classmethod
    def from_scenario(cls, scenario):
        s = scenario.serving
        if s.max_time_to_first_token_ms is None:
            return None
        return cls(limit=ttft_params_limit(scenario), ms=s.max_time_to_first_token_ms,
                   prompt_tokens=scenario.demand.prompt_tokens_per_request)


CAPS: tuple[type[Cap], ...] = (MaxParams, MaxTokens, MaxUniqueTokens, TrainingDeadline, MemoryFit, DecodeLatency,
                               FirstTokenLatency)
