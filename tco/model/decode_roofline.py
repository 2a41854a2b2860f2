"""The decode roofline (primer section 4): device-seconds per generated token from the per-token physics of
`tco.model.serving`, the crossover N* where its two legs meet, and the decode step deployment sizing uses.

Per generated token, in device-seconds (devices per replica cancel: R devices bring R times the FLOPS and the
bandwidth), for a model of N parameters decoding a batch of b sequences (`serving.batch_size`):

    compute   t_c = 2 N / (peak x compute_efficiency)
    memory    t_m = (bytes_per_param x N / b + context x kv_bytes_per_token) / (bandwidth x bandwidth_efficiency)

Every step reads all weights once (shared by the batch) and each sequence's KV cache of `context` tokens. With
`serving.roofline:` the efficiencies and the KV model are the roofline's (`tco.scenario.roofline`); without it the
same step prices deployment sizing at the prefill MFU, the peak bandwidth and the stated `kv_cache_gb`
(`decode_step_coefficients`). Both legs are posynomials in N and their max is log-log convex, so the problem
stays a geometric program; the step overhead of `tco.model.serving_step` is added outside the max.

Every formula is attribute arithmetic, so it also evaluates on a `tco.studies.arrays.ScenarioView` of arrays.
"""

from __future__ import annotations

import numpy as np

from .serving import (FORWARD_FLOPS_PER_PARAM, decode_context_tokens, kv_bytes_per_token, monomial_sum,
                      phase_flops_monomials, weight_bytes_per_param)
from .serving_step import step_overhead

__all__ = ["decode_compute_efficiency", "RooflineCoefficients", "roofline_coefficients", "decode_step_coefficients",
           "stated_kv_bytes_per_sequence", "nonzero_coefficient"]

def decode_compute_efficiency(serving):
    """The roofline's compute efficiency, else the prefill MFU (the same kernels on the same device)."""
    given = serving.roofline.compute_efficiency if serving.roofline is not None else None
    return given if given is not None else serving.prefill_mfu


class RooflineCoefficients:
    """Device-seconds per generated token: t_c = compute_s x N + attention_s x N^kv_exp (the weights' FLOPs and
    the attention FLOPs over the context) and t_m = weights_s x N + kv_s x N^kv_exp (weight and KV reads), and
    `overhead`: (coefficient, exponent) monomials added outside the max (`StepOverhead`; none when off).

    The attention FLOPs and the KV bytes per token of context follow the same architecture, so they share the
    exponent (0 for a fixed architecture, 2/3 under the shape rule). Only the sizing step without a roofline
    (`decode_step_coefficients`: a stated KV cache, N^0, next to the default shape rule's attention, N^(2/3))
    gives the attention its own `attention_exp`; the crossover is defined for a shared exponent."""

    __slots__ = ("compute_s", "weights_s", "kv_s", "kv_exp", "attention_s", "attention_exp", "overhead")

    def __init__(self, compute_s, weights_s, kv_s, kv_exp: float, attention_s=0.0, attention_exp: float | None = None,
                 overhead: tuple = ()):
        self.compute_s, self.weights_s, self.kv_s, self.kv_exp = compute_s, weights_s, kv_s, kv_exp
        self.attention_s = attention_s
        self.attention_exp = kv_exp if attention_exp is None else attention_exp
        self.overhead = overhead

    def overhead_seconds(self, params):
        """Device-seconds per token outside the max: per-step overhead and all-reduce time."""
        return monomial_sum(self.overhead, params)

    def compute_seconds(self, params):
        if not nonzero_coefficient(self.attention_s):
            return self.compute_s * params  # the 2N convention: exactly its one monomial
        return self.compute_s * params + self.attention_s * params**self.attention_exp

    def memory_seconds(self, params):
        return self.weights_s * params + self.kv_s * params**self.kv_exp

    def seconds(self, params):
        """Device-seconds per generated token: the roofline max of the two legs, plus the overhead."""
        peak = np.maximum(self.compute_seconds(params), self.memory_seconds(params))
        return peak + self.overhead_seconds(params) if self.overhead else peak

    def _gaps(self):
        if self.attention_exp != self.kv_exp:
            raise ValueError("the crossover needs the attention FLOPs and the KV reads on one exponent of N")
        gap = np.asarray(self.compute_s - self.weights_s, dtype=float)
        kv = np.asarray(self.kv_s - self.attention_s, dtype=float)
        return gap, kv

    def crossover_params(self):
        """N* where the legs meet (array-safe): 0 when compute bound at every size, inf when memory bound at
        every size.

        compute - memory = N^e (g N^(1-e) - k) with g = compute_s - weights_s, k = kv_s - attention_s and
        e = kv_exp < 1, so the legs meet where g N^(1-e) = k:
          g > 0, k > 0: N* = (k / g)^(1 / (1 - e)); memory bound below N*, compute bound above (the usual case);
          g > 0, k <= 0: compute bound at every size (N* = 0): attention FLOPs outrun the KV reads and the
            weights' FLOPs outrun the weight reads;
          g <= 0, k >= 0: memory bound at every size (N* = inf; with g = k = 0 the legs are equal everywhere);
          g < 0, k < 0: N* = (k / g)^(1 / (1 - e)) again, but compute bound BELOW it and memory bound above
            (`memory_above`): attention compute dominates small models, weight reads large ones."""
        gap, kv = self._gaps()
        with np.errstate(divide="ignore", invalid="ignore"):
            root = (kv / gap) ** (1.0 / (1.0 - self.kv_exp))
        out = np.where(gap > 0, np.where(kv <= 0, 0.0, root),
                       np.where(kv >= 0, np.inf, root))
        return out if out.ndim else float(out)

    def memory_above(self):
        """True where the regimes are inverted (g < 0 and k < 0): compute bound below N*, memory bound above."""
        gap, kv = self._gaps()
        out = (gap < 0) & (kv < 0)
        return out if out.ndim else bool(out)

    def regime_bounds(self):
        """{"memory": (lo, hi), "compute": (lo, hi)}: the range of N where each leg is the larger (array-safe;
        lo = hi = 0 where a regime is empty)."""
        star = np.asarray(self.crossover_params(), dtype=float)
        above = np.asarray(self.memory_above())
        zero, inf = np.zeros_like(star), np.full_like(star, np.inf)
        memory = (np.where(above, star, zero), np.where(above, inf, star))
        compute = (np.where(above, zero, star), np.where(above, star, inf))
        if star.ndim == 0:
            return {"memory": tuple(float(v) for v in memory), "compute": tuple(float(v) for v in compute)}
        return {"memory": memory, "compute": compute}

    def memory_bound(self, params):
        """True where the memory leg is at least the compute leg at N = `params`."""
        return self.memory_seconds(params) >= self.compute_seconds(params)


def _coefficients(serving, compute_efficiency, bandwidth_efficiency, kv_read_coef, kv_exp, attention_coef=0.0,
                  attention_exp=None):
    """Device-seconds per generated token from the device's FLOPS and bandwidth at the given efficiencies, the
    KV bytes each sequence reads per step (coefficient x N^kv_exp) and the attention FLOPs per generated token
    (coefficient x N^kv_exp)."""
    bandwidth = serving.device.bandwidth_gb_per_s * 1e9 * bandwidth_efficiency  # bytes/s achieved per device
    compute = serving.peak_flops * compute_efficiency
    return RooflineCoefficients(
        compute_s=FORWARD_FLOPS_PER_PARAM / compute,
        weights_s=weight_bytes_per_param(serving) / (serving.batch_size * bandwidth),
        kv_s=kv_read_coef / bandwidth,
        kv_exp=kv_exp,
        attention_s=attention_coef / compute if nonzero_coefficient(attention_coef) else 0.0,
        attention_exp=attention_exp,
    )


def nonzero_coefficient(coef) -> bool:
    """False for the 2N convention (a scalar 0 coefficient), so its legs stay exactly one monomial each."""
    return not (np.ndim(coef) == 0 and coef == 0)


def roofline_coefficients(scenario) -> RooflineCoefficients:
    """The per-token time coefficients of `scenario` (serving.roofline must be set)."""
    s = scenario.serving
    roof = s.roofline
    kv_coef, kv_exp = kv_bytes_per_token(roof)
    times = _coefficients(s, decode_compute_efficiency(s), roof.bandwidth_efficiency,
                          decode_context_tokens(scenario) * kv_coef, kv_exp, _decode_attention(scenario, kv_exp)[0])
    times.overhead = step_overhead(scenario).per_token(s)
    return times


def _decode_attention(scenario, kv_exp=None):
    """Attention FLOPs per generated token / N^exponent: the decode phase's second monomial ((0, 0) when off)."""
    monomials = phase_flops_monomials(scenario, "decode")
    if len(monomials) == 1:
        return 0.0, 0.0
    coef, exp = monomials[1]
    if kv_exp is not None and exp != kv_exp:  # pragma: no cover - one architecture gives both
        raise ValueError("attention FLOPs and KV bytes must follow the same architecture")
    return coef, exp


def decode_step_coefficients(scenario) -> RooflineCoefficients:
    """The decode step that sizing uses: the roofline's; without one, compute at the prefill MFU (the achievable
    compute efficiency, attention FLOPs included), the peak bandwidth, and the stated kv_cache_gb of the full
    batch read every step."""
    s = scenario.serving
    if s.roofline is not None:
        return roofline_coefficients(scenario)
    return _coefficients(s, s.prefill_mfu, 1.0, stated_kv_bytes_per_sequence(s), 0.0, *_decode_attention(scenario))


def stated_kv_bytes_per_sequence(serving):
    """Without a roofline: kv_cache_gb is the KV cache of the full batch_size, read every step and held."""
    return serving.kv_cache_gb * 1e9 / serving.batch_size
