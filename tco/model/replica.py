"""What one replica of devices_per_replica devices holds and does (primer section 4): its decode step at a batch
(`ReplicaStep`, which deployment sizing and the evaluation read), the time a prompt occupies it, and the largest
model it holds (memory fit), decodes in time (max_time_per_output_token_ms) or answers in time
(max_time_to_first_token_ms) -- the N limits the caps, the checks and the Inputs sheet state.

The step is the decode roofline's (`tco.model.decode_roofline`) plus the step model's overhead
(`tco.model.serving_step`); each limit is the unique root of a time or a memory that increases in N.
"""

from __future__ import annotations

import numpy as np

from ..numeric import bisect_increasing
from .decode_roofline import (decode_step_coefficients, nonzero_coefficient, roofline_coefficients,
                              stated_kv_bytes_per_sequence)
from .serving import (attention_flops_per_token, flops_per_token, kv_bytes_at, kv_bytes_per_token, sequence_tokens,
                      weight_bytes_per_param)
from .serving_step import first_token, step_overhead

__all__ = ["ReplicaStep", "replica_step", "prefill_seconds", "memory_params_limit", "latency_params_limit",
           "ttft_params_limit"]


class ReplicaStep:
    """One decode step of a replica (R = devices_per_replica devices) for a model of `params` parameters, at a
    batch of b sequences: compute b x t_c / R, memory (weights + b x KV read per sequence) / R, each from the
    per-token coefficients at the scenario's batch_size; and the memory the weights and each sequence's KV
    cache occupy."""

    __slots__ = ("weights_seconds", "compute_seconds_per_sequence", "kv_seconds_per_sequence", "weight_bytes",
                 "kv_bytes_per_sequence", "overhead_seconds", "overhead_seconds_per_sequence")

    def __init__(self, scenario, params):
        s = scenario.serving
        times = decode_step_coefficients(scenario)
        replica = s.devices_per_replica
        self.compute_seconds_per_sequence = times.compute_seconds(params) / replica
        self.weights_seconds = times.weights_s * s.batch_size * params / replica
        self.kv_seconds_per_sequence = times.kv_s * params**times.kv_exp / replica
        self.weight_bytes = weight_bytes_per_param(s) * params
        if s.roofline is None:
            self.kv_bytes_per_sequence = stated_kv_bytes_per_sequence(s)
        else:  # memory holds each sequence's full prompt + generation
            self.kv_bytes_per_sequence = sequence_tokens(scenario.demand) * kv_bytes_at(s.roofline, params)
        overhead = step_overhead(scenario)  # outside the max: the same monomials the decode cost prices
        self.overhead_seconds = overhead.fixed_s * params**overhead.fixed_exp
        self.overhead_seconds_per_sequence = overhead.per_sequence_s * params**overhead.per_sequence_exp

    def compute_seconds(self, batch):
        return batch * self.compute_seconds_per_sequence

    def memory_seconds(self, batch):
        return self.weights_seconds + batch * self.kv_seconds_per_sequence

    def seconds(self, batch):
        """Wall-clock seconds of one step: max(compute, memory) + per-step overhead and all-reduces."""
        return (max(self.compute_seconds(batch), self.memory_seconds(batch)) + self.overhead_seconds
                + batch * self.overhead_seconds_per_sequence)

    def bound(self, batch) -> str:
        return "compute" if self.compute_seconds(batch) >= self.memory_seconds(batch) else "memory"

    def batch_within(self, seconds):
        """Largest (real) batch whose step takes at most `seconds`; 0 when the weights alone take longer."""
        seconds = seconds - self.overhead_seconds  # b x per-sequence overhead joins both legs
        if seconds < self.weights_seconds:
            return 0.0
        per_kv = self.kv_seconds_per_sequence + self.overhead_seconds_per_sequence
        by_memory = (seconds - self.weights_seconds) / per_kv if per_kv > 0 else float("inf")
        return min(seconds / (self.compute_seconds_per_sequence + self.overhead_seconds_per_sequence), by_memory)

    def batch_in_memory(self, memory_bytes):
        """Largest (real) batch whose KV caches fit next to the weights (inf without a KV cache)."""
        if self.kv_bytes_per_sequence <= 0:
            return float("inf")
        return (memory_bytes - self.weight_bytes) / self.kv_bytes_per_sequence


def replica_step(scenario, params) -> ReplicaStep:
    """The decode step of one replica for a model of `params` (`ReplicaStep`)."""
    return ReplicaStep(scenario, params)


def prefill_seconds(scenario, params, prompt_tokens):
    """Seconds of one replica a prompt occupies: prefill is compute bound at the prefill MFU."""
    s = scenario.serving
    flops = flops_per_token(params) * prompt_tokens
    if scenario.attention_flops:  # each of the prompt's tokens attends to prompt / 2 on average (causal)
        flops = flops + attention_flops_per_token(scenario, params, prompt_tokens / 2.0) * prompt_tokens
    return flops / (s.devices_per_replica * s.peak_flops * s.prefill_mfu)


def _largest_params(per_param, kv, kv_exp, budget):
    """Largest N with per_param x N + kv x N^kv_exp <= budget (array-safe); 0 where not even N = 1 fits.

    The left side increases in N, so the root is unique: closed form for a fixed architecture (kv_exp 0), else
    the exact solver's vectorized bisection on log N in [0, log(budget / per_param)]."""
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
    """Largest N whose weights and KV cache fit one replica (serving.memory_fit). With a roofline the KV is the
    full batch at the full prompt + generation (batch x tokens x KV bytes per token, which grows with N under a
    shape rule); else the stated kv_cache_gb: (devices x memory - KV) / bytes_per_param."""
    s = scenario.serving
    if s.roofline is None:
        return (s.replica_memory_gb - s.kv_cache_gb) * 1e9 / weight_bytes_per_param(s)
    kv_coef, kv_exp = kv_bytes_per_token(s.roofline)
    resident = s.batch_size * sequence_tokens(scenario.demand) * kv_coef
    return _largest_params(weight_bytes_per_param(s), resident, kv_exp, s.replica_memory_gb * 1e9)


def latency_params_limit(scenario):
    """Largest N decoding a full batch within max_time_per_output_token_ms. With a roofline both legs count:
    a step of the batch takes max(compute, memory) + overhead = device-seconds per token x batch / devices;
    else memory-bound decode reads the weights and kv_cache_gb once per token:
    (ms / 1000 x devices x bandwidth - KV) / bytes_per_param."""
    s = scenario.serving
    if s.roofline is None:
        budget_gb = s.max_time_per_output_token_ms / 1000.0 * s.replica_bandwidth_gb_per_s
        return (budget_gb - s.kv_cache_gb) * 1e9 / weight_bytes_per_param(s)
    times = roofline_coefficients(scenario)
    budget_s = s.max_time_per_output_token_ms / 1000.0 * s.devices_per_replica / s.batch_size  # per token
    if times.overhead:  # the step's overhead grows with N too: the root of the whole step
        return _largest_within(times.seconds, budget_s)
    by_memory = _largest_params(times.weights_s, times.kv_s, times.kv_exp, budget_s)
    by_compute = (_largest_params(times.compute_s, times.attention_s, times.attention_exp, budget_s)
                  if nonzero_coefficient(times.attention_s) else budget_s / times.compute_s)
    return np.minimum(by_compute, by_memory) if np.ndim(by_memory) or np.ndim(by_compute) else min(
        by_compute, by_memory)


def _largest_within(seconds, budget):
    """Largest N in [1, 1e18] with seconds(N) <= budget, for `seconds` increasing in N (array-safe; 0 where not
    even N = 1 meets it): bisection on log N."""
    budget = np.asarray(budget, dtype=float)
    lo, hi = np.zeros(budget.shape), np.full(budget.shape, np.log(1e18))
    root = bisect_increasing(lambda x: seconds(np.exp(x)) - budget, lo, hi)
    out = np.where(seconds(1.0) <= budget, np.exp(root), 0.0)
    return out if out.ndim else float(out)


def ttft_params_limit(scenario):
    """Largest N whose time to first token meets serving.max_time_to_first_token_ms (every term grows with N,
    so the root is unique)."""
    ttft = first_token(scenario)
    return _largest_within(ttft.seconds, scenario.serving.max_time_to_first_token_ms / 1000.0)
