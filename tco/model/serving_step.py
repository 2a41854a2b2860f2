"""The serving step model beyond the roofline (scenario: `tco.scenario.roofline.ServingCalibration`): what a
serving engine spends per decode step besides max(compute, memory) -- per-layer overhead, tensor-parallel
all-reduces, attention time per context token -- and the time to first token of one prompt on an idle replica.

Both are sums of monomials in N built on the per-token physics of `tco.model.serving`; the decode roofline
(`tco.model.decode_roofline`) adds the step overhead outside its max, and `tco.model.replica` finds the largest
N whose time to first token meets its cap. Without a calibration the overhead is zero and the first token is
prefill at serving.prefill_mfu.
"""

from __future__ import annotations

import numpy as np

from .serving import (FORWARD_FLOPS_PER_PARAM, attention_flops_coefficients, decode_context_tokens, layers_and_width,
                      monomial_sum, weight_bytes_per_param)

__all__ = ["ACTIVATION_BYTES", "serving_calibration", "StepOverhead", "step_overhead", "FirstToken", "first_token",
           "time_to_first_token_seconds"]

#: Bytes per activation value a tensor-parallel all-reduce moves: 16-bit (vLLM and TensorRT-LLM all-reduce in the
#: model's 16-bit dtype, also under fp8 weights).
ACTIVATION_BYTES = 2.0


def serving_calibration(serving):
    """The calibration in force: the roofline's (None: the pure roofline, and always without a roofline)."""
    return serving.roofline.calibration if serving.roofline is not None else None


def _split(devices):
    """1 where a replica spans more than one device (tensor parallel: it all-reduces), else 0 (array-safe)."""
    out = np.asarray(np.asarray(devices, dtype=float) > 1, dtype=float)
    return out if out.ndim else float(out)


def _allreduce_seconds_per_value(serving):
    """Ring all-reduce seconds per activation value of one all-reduce: 2 (R - 1) / R x bytes / interconnect
    (each device sends and receives 2 (R - 1) / R of the buffer); 0 on one device."""
    link = serving.device.interconnect_gb_per_s
    if link is None:  # one device per replica (the load checks refuse a split replica without a link)
        return 0.0
    r = serving.devices_per_replica
    return _split(r) * 2.0 * (r - 1.0) / r * ACTIVATION_BYTES / (link * 1e9)


def _per_layer_seconds(calibration, devices):
    """Seconds per layer of one forward pass that neither FLOPs nor bytes explain: the launch overhead, split
    over the R devices, and on a split replica the latency of its two tensor-parallel all-reduces per layer.
    A decode step and a prompt's prefill both pay it."""
    return (calibration.overhead_per_layer_us * 1e-6 / devices
            + _split(devices) * 2.0 * calibration.allreduce_latency_us * 1e-6)


class StepOverhead:
    """Seconds of one decode step of a replica beyond max(compute, memory), for a batch of b sequences:
    fixed_s x N^fixed_exp + b x per_sequence_s x N^per_sequence_exp (`ServingCalibration` has the formula).

    fixed: layers x (overhead_per_layer / R + [R > 1] 2 all-reduce latencies + context x attention per layer and
    context token); per sequence: [R > 1] 2 x layers x d_model x the ring all-reduce's seconds per value."""

    __slots__ = ("fixed_s", "fixed_exp", "per_sequence_s", "per_sequence_exp")

    def __init__(self, fixed_s, fixed_exp, per_sequence_s, per_sequence_exp):
        self.fixed_s, self.fixed_exp = fixed_s, fixed_exp
        self.per_sequence_s, self.per_sequence_exp = per_sequence_s, per_sequence_exp

    def seconds(self, params, batch):
        return self.fixed_s * params**self.fixed_exp + batch * self.per_sequence_s * params**self.per_sequence_exp

    def per_token(self, serving) -> tuple:
        """The same as device-seconds per generated token (x R / b): the monomials the decode cost adds outside
        its max; terms that are zero for one scenario are left out, so a calibration turned off changes nothing."""
        r, b = serving.devices_per_replica, serving.batch_size
        terms = ((self.fixed_s * r / b, self.fixed_exp), (self.per_sequence_s * r, self.per_sequence_exp))
        return tuple((c, e) for c, e in terms if np.ndim(c) or c > 0)


def step_overhead(scenario) -> StepOverhead:
    """The decode step's overhead of `scenario` (zero without a calibration)."""
    s = scenario.serving
    cal = serving_calibration(s)
    (layers, layer_exp), (width, width_exp) = layers_and_width(scenario)
    if cal is None:
        return StepOverhead(0.0, layer_exp, 0.0, layer_exp + width_exp)
    r = s.devices_per_replica
    per_layer = (_per_layer_seconds(cal, r)
                 + decode_context_tokens(scenario) * cal.attention_ns_per_layer_context_token * 1e-9)
    return StepOverhead(layers * per_layer, layer_exp, 2.0 * layers * width * _allreduce_seconds_per_value(s),
                        layer_exp + width_exp)


class FirstToken:
    """Time to first token of one prompt of p tokens on an idle replica, as monomials c x N^e (seconds):
    max(sum of `compute`, sum of `weights`) + sum of `overhead` (`ServingCalibration` has the formula; without a
    calibration: prefill at serving.prefill_mfu and no overhead)."""

    __slots__ = ("compute", "weights", "overhead")

    def __init__(self, compute, weights, overhead):
        self.compute, self.weights, self.overhead = compute, weights, overhead

    def seconds(self, params):
        return (np.maximum(monomial_sum(self.compute, params), monomial_sum(self.weights, params))
                + monomial_sum(self.overhead, params))

    def bound(self, params) -> str:
        return "compute" if monomial_sum(self.compute, params) >= monomial_sum(self.weights, params) else "memory"


def first_token(scenario) -> FirstToken:
    """`FirstToken` of `scenario`: the prompt's FLOPs (2 N per token plus attention over p / 2 tokens on average,
    causal) at the calibration's prefill efficiency, at least one read of the weights, then the per-layer
    overhead, the all-reduces of p x d_model activations and the per-prompt-token time."""
    s = scenario.serving
    cal = serving_calibration(s)
    p, r = scenario.demand.prompt_tokens_per_request, s.devices_per_replica
    efficiency = cal.prefill_compute_efficiency if cal is not None else s.prefill_mfu
    flops_per_s = r * s.peak_flops * efficiency
    attn_coef, attn_exp = attention_flops_coefficients(scenario)
    compute = ((FORWARD_FLOPS_PER_PARAM * p / flops_per_s, 1.0), (attn_coef * p * p / 2.0 / flops_per_s, attn_exp))
    bandwidth = s.device.bandwidth_gb_per_s
    weights = (() if bandwidth is None else (
        (weight_bytes_per_param(s) / (r * bandwidth * 1e9 * (s.roofline.bandwidth_efficiency if s.roofline else 1.0)),
         1.0),))
    overhead: tuple = ()
    if cal is not None:
        (layers, layer_exp), (width, width_exp) = layers_and_width(scenario)
        fixed = (layers * _per_layer_seconds(cal, r), layer_exp)
        activations = (2.0 * layers * width * p * _allreduce_seconds_per_value(s), layer_exp + width_exp)
        overhead = (fixed, activations, (p * cal.prefill_us_per_prompt_token * 1e-6, 0.0))
    return FirstToken(compute, weights, overhead)


def time_to_first_token_seconds(scenario, params):
    """Seconds from a prompt's arrival at an idle replica to its first generated token (`first_token`)."""
    return first_token(scenario).seconds(params)
