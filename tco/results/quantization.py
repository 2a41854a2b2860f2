"""The `quantization` section of a Result: the post-training quantization penalty at each design
(`serving.quantization`), and the optimum the same scenario would have without it."""

from __future__ import annotations

from dataclasses import dataclass

from .sections import Section

__all__ = ["QuantizedServing", "UnpenalizedDesign"]


@dataclass(frozen=True)
class UnpenalizedDesign(Section):
    """The optimum of the same scenario with no penalty (the exact solve): how far the penalty moved it."""

    params: float
    tokens: float
    tokens_per_param: float
    total_cost_usd: float


@dataclass(frozen=True)
class QuantizedServing(Section):
    """The penalty in force (its form, bits and constants) and its value at the optimum and at the Chinchilla
    baseline; each design's loss in `optimal` / `chinchilla` is the served (quantized) loss, this section adds the
    loss before quantization."""

    form: str  # "kumar2024" or "constant"
    bits: float  # P, the served weights' precision
    coefficient: float  # C_T exp(-P / gamma_post + b) of kumar2024 (0 for constant)
    c_t: float
    gamma_d: float
    gamma_n: float
    gamma_post: float
    bias: float  # b of e^(-P/gamma_post + b)
    published_constants: bool  # Kumar et al. 2024's own fit (Appendix K, Table 2)
    constant_nats: float
    source: str
    penalty_nats: float
    pre_quantization_loss: float
    chinchilla_penalty_nats: float
    chinchilla_pre_quantization_loss: float
    without_penalty: UnpenalizedDesign | None
