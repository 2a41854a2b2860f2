"""`serving.roofline:` price decode by the serving roofline instead of a fixed decode MFU (primer section 4).

A replica decoding a batch of b sequences produces b tokens per step, and a step takes the longer of its compute
and its memory traffic. Per generated token, in device-seconds (devices per replica cancel: R devices bring R
times the FLOPS and the bandwidth):

    compute   t_c = 2 N / (peak x compute_efficiency)
    memory    t_m = (bytes_per_param x N / b + context x kv_bytes_per_token) / (bandwidth x bandwidth_efficiency)
    decode $  = lifetime generated tokens x $/device-hour / 3600 x max(t_c, t_m)

Every step reads all weights once (shared by the batch) and each sequence's KV cache of `context` tokens. `peak`
is the device's dense peak in serving.dtype; with weight-only quantization (int8 weights, 16-bit math) lower
compute_efficiency accordingly, or serve in the compute dtype and set bytes_per_param.
KV bytes per token of context = 2 (K and V) x layers x kv_heads x head_dim x kv_bytes_per_value, from fixed
`architecture:` inputs, or from a `shape:` rule that derives the architecture from N: with d_model = aspect_ratio
x layers and N = 12 layers d_model^2 (Kaplan et al. 2020 eq. 2.1), layers = (N / (12 aspect_ratio^2))^(1/3)
and kv_heads x head_dim = kv_head_fraction x d_model, so KV bytes per token = 2 kv_head_fraction kv_bytes
aspect_ratio (N / (12 aspect_ratio^2))^(2/3), a monomial in N^(2/3). Both legs are posynomials in N and their
max is log-log convex, so the problem stays a geometric program (cvxpy: `maximum`).

Every formula is attribute arithmetic, so it also evaluates on a `tco.vector.ScenarioView` of arrays.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from ..errors import FieldError
from .fields import Count, NonNegativeCount, Positive, Utilization, _Model, rule

__all__ = ["Roofline", "Architecture", "ShapeRule", "RooflineCoefficients", "roofline_coefficients",
           "check_roofline", "decode_compute_efficiency", "decode_context_tokens", "kv_bytes_per_token",
           "memory_params_limit", "latency_params_limit", "check_roofline_fit", "PARAMS_PER_LAYER_D2"]

#: N = 12 layers d_model^2: attention (4 d^2) + MLP with d_ff = 4 d (8 d^2) per layer (Kaplan et al. 2020).
PARAMS_PER_LAYER_D2 = 12.0

_fraction = rule(lambda v: 0 < v <= 1, "must be a fraction in (0, 1] (kv_heads / query heads; 1 = no GQA)")


class Architecture(_Model):
    """Fixed architecture: the KV cache per token does not change with N (e.g. Llama 2 70B: 80, 8, 128)."""

    layers: Count = Field(description="transformer blocks")
    kv_heads: Count = Field(description="key/value heads (GQA: fewer than query heads; MQA: 1)")
    head_dim: Count = Field(description="dimension of one attention head")
    heads: Count | None = Field(
        default=None, description="query heads; optional (the KV cache depends on kv_heads only), checked to be "
        "at least kv_heads")

    @model_validator(mode="after")
    def _gqa(self):
        if self.heads is not None and self.kv_heads > self.heads:
            raise FieldError(("kv_heads",), f"{self.kv_heads:g} KV heads exceed the {self.heads:g} query heads "
                             "(grouped-query attention shares each KV head among several query heads)")
        return self


class ShapeRule(_Model):
    """Architecture derived from N (see the module docstring)."""

    aspect_ratio: Positive = Field(
        default=128.0, description="d_model / layers. Default 128: Llama 3 8B (4096 / 32) and 405B "
        "(16384 / 126 = 130); Llama 2 and 3 70B use 102 (8192 / 80); Kaplan et al. 2020 found loss flat across "
        "aspect ratios of about 20 to 200")
    kv_head_fraction: Annotated[float, AfterValidator(_fraction)] = Field(
        default=0.125, description="KV heads / query heads. Default 1/8: grouped-query attention with 8 KV heads "
        "of 64, as in Llama 2 70B and Llama 3 70B and 405B (Ainslie et al. 2023, GQA)")


class Roofline(_Model):
    """Decode cost from compute and memory time per generated token (module docstring)."""

    bandwidth_efficiency: Utilization = Field(
        default=0.8, description="achieved / peak HBM bandwidth while decoding (memory-bandwidth utilization, "
        "MBU). Default 0.8: an assumption between the 55-60% MBU Databricks measured at batch 1 (LLM Inference "
        "Performance Engineering: Best Practices, 2023) and the 90% the llm-analysis README calls an aggressive "
        "target")
    compute_efficiency: Utilization | None = Field(
        default=None, description="achieved / dense peak FLOPS when decode is compute bound (large batch). "
        "Default: serving.prefill_mfu, the compute efficiency of the same kernels on the same device")
    context_tokens: NonNegativeCount | None = Field(
        default=None, description="average tokens of context each generated token attends to (KV cache read per "
        "sequence). Default: prompt_tokens_per_request + generated_tokens_per_request / 2, the average over a "
        "generation")
    kv_bytes_per_value: Positive = Field(
        default=2.0, description="bytes per cached K or V element. Default 2: a 16-bit KV cache, vLLM's default "
        "(kv_cache_dtype 'auto' keeps the model's 16-bit activation dtype, also under weight-only quantization)")
    architecture: Architecture | None = Field(
        default=None, description="fixed layers / kv_heads / head_dim (KV per token independent of N)")
    shape: ShapeRule | None = Field(
        default=None, description="derive the architecture from N. Default when no architecture is given")

    @model_validator(mode="after")
    def _one_architecture(self):
        if self.architecture is not None and self.shape is not None:
            raise FieldError(("shape",), "give either architecture (fixed) or shape (derived from N), not both")
        return self


class RooflineCoefficients:
    """Device-seconds per generated token: t_c = compute_s x N, t_m = weights_s x N + kv_s x N^kv_exp."""

    __slots__ = ("compute_s", "weights_s", "kv_s", "kv_exp")

    def __init__(self, compute_s, weights_s, kv_s, kv_exp: float):
        self.compute_s, self.weights_s, self.kv_s, self.kv_exp = compute_s, weights_s, kv_s, kv_exp

    def compute_seconds(self, params):
        return self.compute_s * params

    def memory_seconds(self, params):
        return self.weights_s * params + self.kv_s * params**self.kv_exp

    def seconds(self, params):
        """Device-seconds per generated token: the roofline max of the two legs."""
        return np.maximum(self.compute_seconds(params), self.memory_seconds(params))

    def crossover_params(self):
        """N* where the legs meet: memory bound below it, compute bound above (array-safe).

        (compute_s - weights_s) N^(1 - kv_exp) = kv_s; inf when compute never catches up (weights alone cost
        more per token than the FLOPs: small batch), 0 when nothing but weights is read."""
        gap = np.asarray(self.compute_s - self.weights_s, dtype=float)
        kv = np.asarray(self.kv_s, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            root = (kv / gap) ** (1.0 / (1.0 - self.kv_exp))
        out = np.where(gap <= 0, np.inf, np.where(kv <= 0, 0.0, root))
        return out if out.ndim else float(out)


def kv_bytes_per_token(roofline):
    """(coefficient, exponent) of KV-cache bytes per token of context = coefficient x N^exponent."""
    kvb = roofline.kv_bytes_per_value
    arch = roofline.architecture
    if arch is not None:
        return 2.0 * arch.layers * arch.kv_heads * arch.head_dim * kvb, 0.0
    shape = roofline.shape if roofline.shape is not None else ShapeRule()
    r = shape.aspect_ratio
    return 2.0 * shape.kv_head_fraction * kvb * r * (PARAMS_PER_LAYER_D2 * r**2) ** (-2.0 / 3.0), 2.0 / 3.0


def decode_compute_efficiency(serving):
    """The roofline's compute efficiency, else the prefill MFU (the same kernels on the same device)."""
    given = serving.roofline.compute_efficiency
    return given if given is not None else serving.prefill_mfu


def decode_context_tokens(scenario):
    """Average context per generated token: the roofline's, else prompt + half the generation."""
    given = scenario.serving.roofline.context_tokens
    if given is not None:
        return given
    d = scenario.demand
    return d.prompt_tokens_per_request + d.generated_tokens_per_request / 2.0


def roofline_coefficients(scenario) -> RooflineCoefficients:
    """The per-token time coefficients of `scenario` (serving.roofline must be set)."""
    s = scenario.serving
    roof = s.roofline
    bandwidth = s.device.bandwidth_gb_per_s * 1e9 * roof.bandwidth_efficiency  # bytes/s achieved per device
    kv_coef, kv_exp = kv_bytes_per_token(roof)
    return RooflineCoefficients(
        compute_s=2.0 / (s.peak_flops * decode_compute_efficiency(s)),
        weights_s=s.weight_bytes_per_param / (s.batch_size * bandwidth),
        kv_s=decode_context_tokens(scenario) * kv_coef / bandwidth,
        kv_exp=kv_exp,
    )


def _largest_params(per_param, kv, kv_exp, budget):
    """Largest N with per_param x N + kv x N^kv_exp <= budget (array-safe); 0 where not even N = 1 fits.

    The left side increases in N, so the root is unique: closed form for a fixed architecture (kv_exp 0), else
    the exact solver's vectorized bisection on log N in [0, log(budget / per_param)]."""
    from ..solve.exact import bisect_increasing  # imported here: tco.model imports this module

    per_param, kv, budget = (np.asarray(v, dtype=float) for v in (per_param, kv, budget))
    if kv_exp == 0:
        out = np.maximum((budget - kv) / per_param, 0.0)
        return out if out.ndim else float(out)
    lo = np.zeros(np.broadcast(per_param, kv, budget).shape)
    hi = np.maximum(np.log(np.maximum(budget / per_param, 1.0)), lo)
    root = bisect_increasing(lambda x: per_param * np.exp(x) + kv * np.exp(kv_exp * x) - budget, lo, hi)
    out = np.where(per_param + kv <= budget, np.exp(root), 0.0)
    return out if out.ndim else float(out)


def memory_params_limit(scenario):
    """Largest N whose weights and KV cache fit one replica. With a roofline the KV is the full batch at the
    full prompt + generation (batch x tokens x KV bytes per token, which grows with N under a shape rule);
    else `ServingFit.memory_params_limit` with the given kv_cache_gb."""
    s = scenario.serving
    if s.roofline is None:
        return s.memory_params_limit
    kv_coef, kv_exp = kv_bytes_per_token(s.roofline)
    d = scenario.demand
    resident = s.batch_size * (d.prompt_tokens_per_request + d.generated_tokens_per_request) * kv_coef
    return _largest_params(s.weight_bytes_per_param, resident, kv_exp, s.replica_memory_gb * 1e9)


def latency_params_limit(scenario):
    """Largest N decoding a full batch within max_time_per_output_token_ms. With a roofline both legs count:
    a step of the batch takes max(compute, memory) = device-seconds per token x batch / devices_per_replica;
    else `ServingFit.latency_params_limit` (weights and kv_cache_gb read once)."""
    s = scenario.serving
    if s.roofline is None:
        return s.latency_params_limit
    times = roofline_coefficients(scenario)
    budget_s = s.max_time_per_output_token_ms / 1000.0 * s.devices_per_replica / s.batch_size  # per token
    by_memory = _largest_params(times.weights_s, times.kv_s, times.kv_exp, budget_s)
    return np.minimum(budget_s / times.compute_s, by_memory) if np.ndim(by_memory) else min(
        budget_s / times.compute_s, by_memory)


def check_roofline(serving) -> None:
    """Load-time errors: the roofline needs a bandwidth and replaces decode_mfu and kv_cache_gb (weight bytes:
    `check_serving_fit`)."""
    if serving.roofline is None:
        return
    # by value, not by "was it given": a model_dump() round trip (sweeps) passes the default explicitly
    if serving.decode_mfu != type(serving).model_fields["decode_mfu"].default:
        raise FieldError(("decode_mfu",), "decode_mfu prices decode at a fixed MFU and roofline prices it from "
                         "compute and memory time; give one of them")
    if serving.kv_cache_gb != 0:
        raise FieldError(("kv_cache_gb",), "with roofline the KV cache is derived (batch_size x context x KV bytes "
                         "per token); remove kv_cache_gb, or set the roofline's architecture or shape")
    if serving.device.bandwidth_gb_per_s is None:
        raise FieldError(("roofline",), f"{serving.device.name} has no bandwidth_gb_per_s; set "
                         "hardware.bandwidth_gb_per_s")


def check_roofline_fit(scenario) -> None:
    """Load-time errors when the roofline's KV cache alone breaks memory fit or the latency target (only a fixed
    architecture can: under a shape rule the KV shrinks with N), naming the numbers that collide."""
    s = scenario.serving
    if s.roofline is None:
        return
    kv_coef, kv_exp = kv_bytes_per_token(s.roofline)
    d = scenario.demand
    if s.memory_fit and memory_params_limit(scenario) <= 0:
        tokens = d.prompt_tokens_per_request + d.generated_tokens_per_request
        raise FieldError(("serving", "memory_fit"), (
            f"the model cannot fit any replica: the KV cache of batch_size {s.batch_size:g} x {tokens:,.0f} tokens "
            f"x {kv_coef:,.0f} bytes per token = {s.batch_size * tokens * kv_coef / 1e9:,.4g} GB fills "
            f"devices_per_replica {s.devices_per_replica:g} x {s.device.memory_gb:g} GB (lower batch_size, add "
            "devices, or shrink the KV cache: fewer KV heads, an 8-bit KV cache)"))
    if s.max_time_per_output_token_ms is not None and latency_params_limit(scenario) <= 0:
        context = decode_context_tokens(scenario)
        raise FieldError(("serving", "max_time_per_output_token_ms"), (
            f"{s.max_time_per_output_token_ms:g} ms per output token is too short even for the KV reads: a batch "
            f"of {s.batch_size:g} at {context:,.0f} tokens of context reads "
            f"{s.batch_size * context * kv_coef / 1e9:,.4g} GB per step (lower batch_size or add devices)"))
