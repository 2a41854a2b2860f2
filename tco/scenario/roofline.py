"""`serving.roofline:` price decode by the serving roofline instead of a fixed decode MFU (primer section 4): what
the user states about it. The physics (time per generated token, KV bytes per token, the largest model that
fits or decodes in time) is `tco.model.serving`'s.

A replica decoding a batch of b sequences produces b tokens per step, and a step takes the longer of its compute
(2 N FLOPs per token at `compute_efficiency` of the dense peak) and its memory traffic (all weights once per step,
shared by the batch, plus each sequence's KV cache of `context_tokens` tokens, at `bandwidth_efficiency` of the
HBM bandwidth). `peak` is the device's dense peak in serving.dtype; with weight-only quantization (int8 weights,
16-bit math) lower compute_efficiency accordingly, or serve in the compute dtype and set bytes_per_param.
KV bytes per token of context = 2 (K and V) x layers x kv_heads x head_dim x kv_bytes_per_value, from fixed
`architecture:` inputs, or from a `shape:` rule that derives the architecture from N (d_model = aspect_ratio x
layers, N = 12 layers d_model^2, kv_heads x head_dim = kv_head_fraction x d_model).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ..errors import FieldError
from .fields import Count, Positive, TokensPerRequest, Utilization, StrictModel, number, rule, within

__all__ = ["Roofline", "Architecture", "ShapeRule", "check_roofline"]

_fraction = rule(lambda v: 0 < v <= 1, "must be a fraction in (0, 1] (kv_heads / query heads; 1 = no GQA)")
#: Plausible ranges (README, "Ranges of the numeric fields"): 100x beyond the largest published architectures
#: (Llama 3 405B: 126 layers, 128 heads of 128).
Layers = Annotated[Count, within(1, 1e4, "published models have up to ~130 layers")]
Heads = Annotated[Count, within(1, 1e5, "published models have up to ~128 heads")]
HeadDim = Annotated[Count, within(1, 1e5, "published heads are 64-256 wide")]
AspectRatio = Annotated[Positive, within(1, 1e4, "published models use 20-200; Kaplan et al. 2020")]
KvFraction = Annotated[float, BeforeValidator(number), AfterValidator(_fraction),
                       within(1e-4, 1, "one KV head for 10,000 query heads at the least")]
KvBytes = Annotated[Positive, within(0.125, 8, "1-bit to fp64 cache values", "bytes")]


class Architecture(StrictModel):
    """Fixed architecture: the KV cache per token does not change with N (e.g. Llama 2 70B: 80, 8, 128)."""

    layers: Layers = Field(description="transformer blocks")
    kv_heads: Heads = Field(description="key/value heads (GQA: fewer than query heads; MQA: 1)")
    head_dim: HeadDim = Field(description="dimension of one attention head")
    heads: Heads | None = Field(
        default=None, description="query heads; optional (the KV cache depends on kv_heads only), checked to be "
        "at least kv_heads")

    @model_validator(mode="after")
    def _gqa(self):
        if self.heads is not None and self.kv_heads > self.heads:
            raise FieldError(("kv_heads",), f"{self.kv_heads:g} KV heads exceed the {self.heads:g} query heads "
                             "(grouped-query attention shares each KV head among several query heads)")
        return self


class ShapeRule(StrictModel):
    """Architecture derived from N (see the module docstring)."""

    aspect_ratio: AspectRatio = Field(
        default=128.0, description="d_model / layers. Default 128: Llama 3 8B (4096 / 32) and 405B "
        "(16384 / 126 = 130); Llama 2 and 3 70B use 102 (8192 / 80); Kaplan et al. 2020 found loss flat across "
        "aspect ratios of about 20 to 200")
    kv_head_fraction: KvFraction = Field(
        default=0.125, description="KV heads / query heads. Default 1/8: grouped-query attention with 8 KV heads "
        "of 64, as in Llama 2 70B and Llama 3 70B and 405B (Ainslie et al. 2023, GQA)")


class Roofline(StrictModel):
    """Decode cost from compute and memory time per generated token (module docstring)."""

    bandwidth_efficiency: Utilization = Field(
        default=0.8, description="achieved / peak HBM bandwidth while decoding (memory-bandwidth utilization, "
        "MBU). Default 0.8: an assumption between the 55-60% MBU Databricks measured at batch 1 (LLM Inference "
        "Performance Engineering: Best Practices, 2023) and the 90% the llm-analysis README calls an aggressive "
        "target")
    compute_efficiency: Utilization | None = Field(
        default=None, description="achieved / dense peak FLOPS when decode is compute bound (large batch). "
        "Default: serving.prefill_mfu, the compute efficiency of the same kernels on the same device")
    context_tokens: TokensPerRequest | None = Field(
        default=None, description="average tokens of context each generated token attends to (KV cache read per "
        "sequence). Default: prompt_tokens_per_request + generated_tokens_per_request / 2, the average over a "
        "generation")
    kv_bytes_per_value: KvBytes = Field(
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
