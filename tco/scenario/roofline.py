"""`serving.roofline:` price decode by the serving roofline instead of a fixed decode MFU (primer section 4): what
the user states about it. The physics is the model's: KV bytes per token `tco.model.serving`'s, time per generated token
`tco.model.decode_roofline`'s, the largest model that fits or decodes in time `tco.model.replica`'s.

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

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from ..errors import FieldError, ScenarioError
from .law import resolve_law_path  # the one resolver of scenario-relative paths
from .yaml import read_yaml
from .fields import (Count, Positive, TokensPerRequest, Utilization, StrictModel, non_negative, number, rule,
                     within)

__all__ = ["Roofline", "Architecture", "ShapeRule", "ServingCalibration", "FITTED_FIELDS", "check_roofline",
           "MEASUREMENTS"]

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
_NonNegative = Annotated[float, BeforeValidator(number), AfterValidator(non_negative)]
#: Per-step and per-token overheads: 0 (off) up to a tenth of a second per layer, far beyond any serving engine.
OverheadUs = Annotated[_NonNegative, within(0, 1e5, "0 turns it off; serving engines spend ~10-100 us", "us")]
AttentionNs = Annotated[_NonNegative, within(0, 1e6, "0 turns it off; measured ~20 ns", "ns")]

#: Where the calibration defaults come from (tests/test_serving_measurements.py refits and checks them).
MEASUREMENTS = ("fitted by least squares on log residuals to tests/data/serving_measurements.csv (vLLM on H100 "
                "SXM at batch 1, Llama-2-7B at TP 1/2/4, CodeLlama-34B TP 2, Llama-2-70B TP 4; TensorRT-LLM "
                "LLaMA-7B A100 batch 60)")


#: The fields `tco calibrate` fits (every ServingCalibration field but `source_file`).
FITTED_FIELDS = ("overhead_per_layer_us", "allreduce_latency_us", "attention_ns_per_layer_context_token",
                 "prefill_compute_efficiency", "prefill_us_per_prompt_token")


class ServingCalibration(StrictModel):
    """What a serving engine spends beyond the roofline (`tco.model.serving_step`, "step model"): per decode step of a
    replica of R devices (the tensor-parallel degree) decoding b sequences at a context of c tokens,

        step = max(compute, memory) / R + layers x (overhead_per_layer / R + c x attention_per_layer_context_token)
               + [R > 1] 2 layers x (allreduce_latency + 2 (R - 1) / R x b x d_model x 2 bytes / interconnect)

    and the time to first token of one prompt of p tokens on an idle replica,

        ttft = max(prefill FLOPs / (R x peak x prefill_compute_efficiency), weight bytes / (R x bandwidth))
               + layers x overhead_per_layer / R + [R > 1] 2 layers x (allreduce_latency + 2 (R - 1) / R x p x
               d_model x 2 bytes / interconnect) + p x prefill_per_prompt_token.

    Every term is a monomial in N (layers and d_model follow N under the shape rule), so decode stays a GP.
    These are exactly the fields `tco calibrate` fits; set `serving.roofline.calibration: null` for the pure
    roofline (no overhead, no all-reduce, prefill at serving.prefill_mfu)."""

    overhead_per_layer_us: OverheadUs = Field(
        default=32.0, description="host and kernel-launch time per layer per step, divided by the "
        "tensor-parallel degree (the inference-sim validation study, hypothesis H2b, found ~100 us per layer per "
        "step / TP for its vLLM setup). Default 32 us: " + MEASUREMENTS)
    allreduce_latency_us: OverheadUs = Field(
        default=19.0, description="latency of one tensor-parallel all-reduce (two per layer per step), on top of "
        "its bytes at the device's interconnect_gb_per_s (ring: 2 (R - 1) / R x bytes). Default 19 us: "
        + MEASUREMENTS + "; nccl-tests' small-message all_reduce_perf on NVLink reports latencies of this order")
    attention_ns_per_layer_context_token: AttentionNs = Field(
        default=20.0, description="decode attention time per layer per token of context beyond its KV bytes, per "
        "step (at batch 1 a paged-attention kernel walks each sequence's cache block by block; with a batch the "
        "sequences run in parallel). Default 20 ns: " + MEASUREMENTS + " (7B at 2,062 vs 461 tokens of "
        "context decodes 1.0-1.6 ms slower, 3-5x what the extra KV bytes cost)")
    prefill_compute_efficiency: Utilization = Field(
        default=0.84, description="achieved / dense peak FLOPS of a prefill on an idle replica (time to first "
        "token; the prefill cost term keeps serving.prefill_mfu). Default 0.84: " + MEASUREMENTS + "; large "
        "BF16 GEMMs on H100 reach 70-85% of dense peak")
    prefill_us_per_prompt_token: OverheadUs = Field(
        default=16.0, description="time to first token per prompt token beyond the prefill's FLOPs, not divided "
        "by the tensor-parallel degree (input processing, activation traffic). Default 16 us: " + MEASUREMENTS)
    source_file: str | None = Field(
        default=None, description="the calibration file these values were read from (set by tco when "
        "serving.roofline.calibration names a file; outputs never overwrite it)")


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


def _calibration_file(value: object, info: ValidationInfo) -> object:
    """`calibration: calibration.yaml`: the `calibration:` mapping of a file `tco calibrate` writes (a relative
    path is resolved against the scenario's folder, as law files are)."""
    if not isinstance(value, str):
        return value
    path = resolve_law_path(value, (info.context or {}).get("base_dir"))
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise ValueError(f"calibration file {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("calibration"), dict):
        raise ValueError(f"calibration file {path}: needs a top-level `calibration:` mapping of the "
                         f"ServingCalibration fields ({', '.join(FITTED_FIELDS)})")
    unknown = sorted(set(data) - {"calibration", "fit"})
    if unknown:  # as everywhere else, a misspelt key is an error, not silently ignored
        raise ValueError(f"calibration file {path}: unknown top-level key {unknown[0]!r} (a calibration file holds "
                         "`calibration:` and the `fit:` record tco calibrate writes)")
    if "source_file" in data["calibration"]:
        raise ValueError(f"calibration file {path}: calibration.source_file is set by tco, not in the file")
    return {**data["calibration"], "source_file": str(path)}


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
    calibration: Annotated[ServingCalibration | None, BeforeValidator(_calibration_file)] = Field(
        default_factory=ServingCalibration, description="per-step overhead, all-reduce and prefill figures of the "
        "serving engine beyond the roofline (`ServingCalibration`), inline or a file `tco calibrate` wrote "
        "(calibration: calibration.yaml). Default: fitted to tests/data/serving_measurements.csv; null for the "
        "pure roofline")

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
    roof = serving.roofline
    if roof.calibration is None or not serving.devices_per_replica > 1:
        return  # one device per replica: no tensor-parallel all-reduce
    if serving.device.interconnect_gb_per_s is None:
        raise FieldError(("devices_per_replica",), (
            f"a replica of {serving.devices_per_replica:g} devices all-reduces its activations every layer, and "
            f"{serving.device.name} has no interconnect_gb_per_s; set hardware.interconnect_gb_per_s, or "
            "serving.roofline.calibration: null for the pure roofline"))
    if roof.architecture is not None and roof.architecture.heads is None:
        raise FieldError(("roofline", "architecture", "heads"), (
            "the tensor-parallel all-reduce moves d_model = heads x head_dim values per token: give heads, or "
            "serving.roofline.calibration: null for the pure roofline"))
