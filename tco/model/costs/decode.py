"""Decode: 2 N FLOPs per lifetime generated token, plus attention over the decode context (the KV cache's
exponent of N), priced either at a fixed decode MFU (memory bound at small batch, so low) or, with
`serving.roofline:`, by the serving roofline: $/device-second x max(compute incl. attention, memory incl. KV
reads) per token (`tco.model.decode_roofline`). The roofline term is not a monomial but the max of two
posynomials: the GP takes it as is (`cp.maximum`); the exact solvers split N at the crossover into a
memory-bound and a compute-bound regime of monomials (`pieces`). The serving step's overhead and all-reduce time
(`tco.model.serving_step.StepOverhead`) lie outside the max: monomials in both regimes and plain monomials of the GP
(`overhead_pieces`), so the crossover is the roofline's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...hardware import usd_per_flop
from ..fleet import billed_usd_per_device_hour
from ..decode_roofline import decode_compute_efficiency, roofline_coefficients
from ..serving import decode_context_tokens, kv_bytes_per_token, phase_flops_monomials, weight_bytes_per_param
from ..serving_step import serving_calibration, step_overhead
from ...units import SECONDS_PER_HOUR
from .base import SARDANA_DEFAULT, CostTerm, InputRow, Monomial, given

__all__ = ["DecodeCost", "RooflineDecodeCost"]


@dataclass(frozen=True)
class DecodeCost(CostTerm):
    """Lifetime generated tokens at the decode MFU; with `serving.roofline:` the `RooflineDecodeCost` instead."""

    name = "decode"
    label = "Decode"
    group = "inference"
    n_exp = 1
    d_exp = 0
    per_inference_token = True
    flops_formula = ("=(2*{n}+{attn_flops_coef}*{n}^{attn_flops_exp}*{decode_context_tokens})"
                     "*{lifetime_generated_tokens}")
    usd_formula = "={col}{decode_flops}/({serve_peak_flops}*{decode_mfu}*3600)*{serve_price_usd_per_hour}"

    @classmethod
    def input_rows(cls, scenario):
        s = scenario.serving
        if s.roofline is not None:
            return RooflineDecodeCost.input_rows(scenario)
        d = scenario.demand
        per_request = d.requests is not None or d.requests_per_year is not None  # the sheet has the request rows
        return [InputRow("decode_mfu", "Decode MFU", s.decode_mfu, "fraction",
                         given(s, "decode_mfu", SARDANA_DEFAULT), "fraction"),
                InputRow("decode_context_tokens", "Decode context per generated token",
                         "={prompt_tokens_per_request}+{generated_tokens_per_request}/2" if per_request
                         else decode_context_tokens(scenario), "tokens",
                         "derived: prompt + generated / 2 tokens per request", "plain", False)]

    @classmethod
    def from_scenario(cls, scenario):
        if scenario.serving.roofline is not None:
            return RooflineDecodeCost.from_scenario(scenario)
        s = scenario.serving
        tokens = scenario.demand.lifetime_generated_tokens
        per_flop = usd_per_flop(billed_usd_per_device_hour(scenario), s.peak_flops, s.decode_mfu)
        (weights, _), *attention = phase_flops_monomials(scenario, "decode")
        flops_coef = weights * tokens  # FLOPs per parameter over the lifetime
        extra = tuple(Monomial("decode_attention", exp, 0, coef * tokens, coef * tokens * per_flop)
                      for coef, exp in attention)
        return cls(flops_coef=flops_coef, usd_coef=flops_coef * per_flop, extra=extra)


@dataclass(frozen=True)
class RooflineDecodeCost(CostTerm):
    """Lifetime generated tokens T at $/device-second x max(compute_s N + attention_s N^kv_exp,
    weights_s N + kv_s N^kv_exp). Its FLOPs: T x (2 N + attention over the context); `extra` holds the
    attention FLOPs (priced through the compute leg, so its own $ coefficient is 0)."""

    name = "decode"
    label = "Decode"
    group = "inference"
    n_exp = 1  # the FLOPs: 2N per token whatever bounds the time
    d_exp = 0
    per_inference_token = True
    #: the roofline's regimes: the exact solvers split N at `times.crossover_params()`
    regimes: ClassVar[tuple[str, str]] = ("memory", "compute")
    flops_formula = ("=(2*{n}+{attn_flops_coef}*{n}^{attn_flops_exp}*{roof_context_tokens})"
                     "*{lifetime_generated_tokens}")
    usd_formula = (
        "={lifetime_generated_tokens}*{serve_price_usd_per_hour}/3600"
        "*(MAX((2*{n}+{attn_flops_coef}*{n}^{attn_flops_exp}*{roof_context_tokens})"
        "/({serve_peak_flops}*{roof_compute_efficiency}),"
        "({roof_bytes_per_param}*{n}/{roof_batch_size}+{roof_context_tokens}*{roof_kv_coef}*{n}^{roof_kv_exp})"
        "/({roof_bandwidth_gb_per_s}*1000000000*{roof_bandwidth_efficiency}))"
        "+{roof_devices_per_replica}*({roof_step_fixed_s}*{n}^{roof_step_fixed_exp}/{roof_batch_size}"
        "+{roof_step_per_sequence_s}*{n}^{roof_step_per_sequence_exp}))")

    usd_per_second: Any = 0.0  # T x $/device-hour / 3600
    times: Any = None  # tco.model.decode_roofline.RooflineCoefficients

    def usd(self, params, tokens):
        return self.usd_per_second * self.times.seconds(params)

    def weight(self, objective: str):
        if objective == "flops":
            return self.flops_coef
        raise TypeError("the roofline decode term is not a monomial in $; use pieces('usd', regime)")

    def pieces(self, objective: str, regime: str = "single") -> tuple[Monomial, ...]:
        """The monomials this term equals in one regime ('memory' or 'compute'); FLOPs need no regimes."""
        usd, times = self.usd_per_second, self.times
        attention = self.extra  # the attention FLOPs (the compute leg's second monomial), if counted
        if objective == "flops":
            return (Monomial("decode", 1, 0, self.flops_coef, 0.0), *attention)
        if regime == "compute":
            return (Monomial("decode", 1, 0, self.flops_coef, usd * times.compute_s),
                    *(Monomial("decode_attention", times.kv_exp, 0, a.flops_coef, usd * times.attention_s)
                      for a in attention), *self.overhead_pieces())
        return (Monomial("decode", 1, 0, self.flops_coef, usd * times.weights_s),
                Monomial("decode_kv", times.kv_exp, 0, 0.0, usd * times.kv_s), *self.overhead_pieces())

    def overhead_pieces(self) -> tuple[Monomial, ...]:
        """The step overhead and all-reduce $ outside the max (`RooflineCoefficients.overhead`): the same
        monomials in every regime, and plain monomials of the GP's objective. None when the calibration is off."""
        return tuple(Monomial(f"decode_overhead_{k}", exp, 0, 0.0, self.usd_per_second * coef)
                     for k, (coef, exp) in enumerate(self.times.overhead))

    def gp_legs(self, params) -> tuple[float, float, float, float]:
        """Its GP expression, max(compute + attention, weights + KV), as the $ of each leg at N = `params` (the
        program's scale): compute, weight reads, KV reads, attention compute. The KV and attention legs grow as
        N^times.kv_exp. The overhead outside the max enters the GP as the monomials of `overhead_pieces`."""
        usd, times = self.usd_per_second, self.times
        return (usd * times.compute_s * params, usd * times.weights_s * params,
                usd * times.kv_s * params**times.kv_exp, usd * times.attention_s * params**times.kv_exp)

    @classmethod
    def input_rows(cls, scenario):
        """The inputs of the MAX(compute, memory) formula on Costs."""
        s = scenario.serving
        roof = s.roofline
        assert roof is not None  # only with serving.roofline
        kv_coef, kv_exp = kv_bytes_per_token(roof)
        kv_source = ("derived: 2 x layers x kv_heads x head_dim x kv bytes (roofline.architecture)"
                     if roof.architecture is not None else
                     "derived: shape rule 2 x kv_head_fraction x kv bytes x r x (12 r^2)^(-2/3), r = d_model/layers")
        return [
            InputRow("roof_compute_efficiency", "Decode compute efficiency (roofline)",
                     decode_compute_efficiency(s), "fraction",
                     given(roof, "compute_efficiency", "default: the prefill MFU"), "fraction"),
            InputRow("roof_bandwidth_gb_per_s", "Serving HBM bandwidth", s.device.bandwidth_gb_per_s,
                     "GB/s per device", s.device.source, "plain"),
            InputRow("roof_bandwidth_efficiency", "Decode bandwidth efficiency (MBU)", roof.bandwidth_efficiency,
                     "fraction", given(roof, "bandwidth_efficiency", "default: 0.8 (Databricks 2023 measured "
                     "55-60%; llm-analysis calls 90% aggressive)"), "fraction"),
            InputRow("roof_batch_size", "Decode batch (sequences per replica)", s.batch_size, "sequences",
                     given(s, "batch_size", "default: 32 (assumption)"), "plain"),
            InputRow("roof_context_tokens", "Decode context per generated token", decode_context_tokens(scenario),
                     "tokens", given(roof, "context_tokens", "default: prompt + generated / 2 tokens per request"),
                     "plain"),
            InputRow("roof_bytes_per_param", "Weight bytes per parameter", weight_bytes_per_param(s), "bytes",
                     given(s, "bytes_per_param", f"default: weights stored in the serving dtype ({s.dtype})"),
                     "plain"),
            InputRow("roof_kv_coef", "KV bytes per context token: coefficient", kv_coef, "bytes x N^-exponent",
                     kv_source, "plain"),
            InputRow("roof_kv_exp", "KV bytes per context token: exponent of N", kv_exp, "",
                     "0 for a fixed architecture, 2/3 for the shape rule", "plain", False),
            *_step_rows(scenario),
        ]

    @classmethod
    def from_scenario(cls, scenario):
        tokens = scenario.demand.lifetime_generated_tokens
        (weights, _), *attention = phase_flops_monomials(scenario, "decode")
        extra = tuple(Monomial("decode_attention", exp, 0, coef * tokens, 0.0) for coef, exp in attention)
        return cls(flops_coef=weights * tokens, usd_coef=0.0, extra=extra,
                   usd_per_second=tokens * billed_usd_per_device_hour(scenario) / SECONDS_PER_HOUR,
                   times=roofline_coefficients(scenario))


def _step_rows(scenario):
    """The Inputs rows of the step overhead outside the max: one decode step of a replica spends
    fixed x N^exp + batch x per_sequence x N^exp seconds (`tco.model.serving_step.StepOverhead`)."""
    s = scenario.serving
    step = step_overhead(scenario)
    source = ("derived: layers x (overhead_per_layer / R + [R > 1] 2 all-reduce latencies + context x attention "
              "per layer and context token), serving.roofline.calibration" if serving_calibration(s) is not None
              else "serving.roofline.calibration: null (pure roofline)")
    return [
        InputRow("roof_devices_per_replica", "Devices per replica (tensor parallel)", s.devices_per_replica,
                 "devices", given(s, "devices_per_replica", "default: 1"), "plain"),
        InputRow("roof_step_fixed_s", "Decode step overhead: coefficient", step.fixed_s, "s x N^-exponent",
                 source, "sci", False),
        InputRow("roof_step_fixed_exp", "Decode step overhead: exponent of N", step.fixed_exp, "",
                 "0 for a fixed architecture, 1/3 (layers) for the shape rule", "plain", False),
        InputRow("roof_step_per_sequence_s", "Decode all-reduce bytes per sequence: coefficient",
                 step.per_sequence_s, "s x N^-exponent", "derived: [R > 1] 2 layers x d_model x 2 (R-1)/R x 2 "
                 "bytes / hardware interconnect_gb_per_s", "sci", False),
        InputRow("roof_step_per_sequence_exp", "Decode all-reduce bytes per sequence: exponent of N",
                 step.per_sequence_exp, "", "0 for a fixed architecture, 2/3 (layers x d_model) for the shape rule",
                 "plain", False),
    ]
