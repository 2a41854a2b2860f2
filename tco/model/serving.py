"""Serving physics per design (primer section 4): the one place that knows a design's FLOPs, weight bytes and KV
bytes per token, the decode roofline they give, and the largest model a replica holds or decodes in time.

The decode cost term, the memory-fit and latency caps, deployment sizing, the Inputs sheet and the load-time
checks all read these functions; none of them re-derives a formula.

Per generated token, in device-seconds (devices per replica cancel: R devices bring R times the FLOPS and the
bandwidth), for a model of N parameters decoding a batch of b sequences (`serving.batch_size`):

    compute   t_c = 2 N / (peak x compute_efficiency)
    memory    t_m = (bytes_per_param x N / b + context x kv_bytes_per_token) / (bandwidth x bandwidth_efficiency)

Every step reads all weights once (shared by the batch) and each sequence's KV cache of `context` tokens. With
`serving.roofline:` the efficiencies and the KV model are the roofline's (`tco.scenario.roofline`); without it the
same step prices deployment sizing at the prefill MFU, the peak bandwidth and the stated `kv_cache_gb`
(`decode_step_coefficients`). KV bytes per token of context = 2 (K and V) x layers x kv_heads x head_dim x
kv_bytes_per_value, from a fixed architecture, or from a shape rule that derives the architecture from N: with
d_model = aspect_ratio x layers and N = 12 layers d_model^2 (Kaplan et al. 2020 eq. 2.1),
layers = (N / (12 aspect_ratio^2))^(1/3) and kv_heads x head_dim = kv_head_fraction x d_model, so KV bytes per
token = 2 kv_head_fraction kv_bytes aspect_ratio (N / (12 aspect_ratio^2))^(2/3), a monomial in N^(2/3). Both legs
are posynomials in N and their max is log-log convex, so the problem stays a geometric program.

Every formula is attribute arithmetic, so it also evaluates on a `tco.studies.arrays.ScenarioView` of arrays.
"""

from __future__ import annotations

import numpy as np

from ..hardware import DTYPE_BYTES
from .experts import read_per_active, total_per_active
from ..scenario.roofline import ShapeRule
from ..numeric import bisect_increasing

__all__ = ["FORWARD_FLOPS_PER_PARAM", "PARAMS_PER_LAYER_D2", "flops_per_token", "weight_bytes_per_param",
           "kv_bytes_per_token", "kv_bytes_at", "shape_rule", "derived_layers", "decode_compute_efficiency",
           "decode_context_tokens", "sequence_tokens", "RooflineCoefficients", "roofline_coefficients",
           "decode_step_coefficients", "ReplicaStep", "replica_step", "prefill_seconds",
           "memory_params_limit", "latency_params_limit", "ATTENTION_FLOPS_PER_LAYER_WIDTH", "model_shape",
           "attention_flops_coefficients", "attention_flops_per_token", "TRAINING_FLOPS_PER_FORWARD",
           "training_attended_tokens", "prefill_attended_tokens", "phase_flops_monomials", "phase_flops_per_token",
           "ACTIVATION_BYTES", "serving_calibration", "layers_and_width", "StepOverhead", "step_overhead",
           "FirstToken", "first_token", "time_to_first_token_seconds", "ttft_params_limit"]

#: A forward pass costs 2 FLOPs per parameter per token (one multiply-add per weight): prefill and decode.
FORWARD_FLOPS_PER_PARAM = 2.0
#: N = 12 layers d_model^2: attention (4 d^2) + MLP with d_ff = 4 d (8 d^2) per layer (Kaplan et al. 2020).
PARAMS_PER_LAYER_D2 = 12.0


def flops_per_token(params):
    """Forward FLOPs per token (prompt or generated) of a model of `params` parameters: 2 N."""
    return FORWARD_FLOPS_PER_PARAM * params


#: Forward attention FLOPs per layer, per unit of attention width (heads x head_dim) and per token attended:
#: q.k over the context and the softmax-weighted sum of values are one multiply-add each per element
#: (Hoffmann et al. 2022, appendix F). Averaged over a causal sequence of S tokens (S/2 attended) this is
#: Kaplan et al. 2020's 2 n_layer n_ctx d_attn.
ATTENTION_FLOPS_PER_LAYER_WIDTH = 4.0


def model_shape(scenario):
    """The architecture the FLOPs and KV bytes follow: the roofline's fixed `architecture`, else its shape rule,
    else (no roofline) the default shape rule. Returns (architecture or None, shape rule or None)."""
    roof = scenario.serving.roofline
    if roof is None:
        return None, ShapeRule()
    return roof.architecture, shape_rule(roof)


def attention_flops_coefficients(scenario):
    """(coefficient, exponent): forward attention FLOPs of one token per token of context it attends to =
    coefficient x N^exponent = 4 x layers x heads x head_dim. A fixed architecture gives exponent 0; the shape
    rule (heads x head_dim = d_model = aspect_ratio x layers) gives 4 r (N / (12 r^2))^(2/3), exponent 2/3, the
    KV cache's exponent. (0, 0) when `attention_flops` is off (the 6N / 2N convention)."""
    if not scenario.attention_flops:
        return 0.0, 0.0
    arch, shape = model_shape(scenario)
    if arch is not None:
        return ATTENTION_FLOPS_PER_LAYER_WIDTH * arch.layers * arch.heads * arch.head_dim, 0.0
    r = shape.aspect_ratio
    return ATTENTION_FLOPS_PER_LAYER_WIDTH * r * (PARAMS_PER_LAYER_D2 * r**2) ** (-2.0 / 3.0), 2.0 / 3.0


def attention_flops_per_token(scenario, params, context_tokens):
    """Forward attention FLOPs of one token attending to `context_tokens` tokens, for a model of `params`."""
    coef, exp = attention_flops_coefficients(scenario)
    return coef * params**exp * context_tokens


#: Training FLOPs per forward FLOP: forward + backward (the backward pass costs twice the forward: gradients
#: with respect to activations and to weights), so 6 N per token for the weights (Kaplan et al. 2020).
TRAINING_FLOPS_PER_FORWARD = 3.0


def training_attended_tokens(training):
    """Average tokens a training token attends to: sequence_length / 2 (causal masking over the sequence)."""
    return training.sequence_length / 2.0


def prefill_attended_tokens(demand):
    """Average tokens a prompt token attends to while its prompt is processed: prompt_tokens_per_request / 2."""
    return demand.prompt_tokens_per_request / 2.0


def phase_flops_monomials(scenario, phase: str):
    """FLOPs per token of one phase as monomials ((coefficient, exponent of N), ...): the weights' term, then
    the attention term (absent when `attention_flops` is off, so the 6N / 2N convention is exactly itself).

    training: 3 x (2 N + attention at sequence_length / 2 tokens attended), per training token;
    prefill: 2 N + attention at prompt / 2, per prompt token; decode: 2 N + attention at the decode context
    (`decode_context_tokens`), per generated token."""
    weights = FORWARD_FLOPS_PER_PARAM * (TRAINING_FLOPS_PER_FORWARD if phase == "training" else 1.0)
    coef, exp = attention_flops_coefficients(scenario)
    if not scenario.attention_flops:
        return ((weights, 1.0),)
    if phase == "training":
        attended = TRAINING_FLOPS_PER_FORWARD * training_attended_tokens(scenario.training)
    elif phase == "prefill":
        attended = prefill_attended_tokens(scenario.demand)
    elif phase == "decode":
        attended = decode_context_tokens(scenario)
    else:
        raise ValueError(f"phase must be training, prefill or decode, got {phase!r}")
    return ((weights, 1.0), (coef * attended, exp))


def phase_flops_per_token(scenario, phase: str, params):
    """FLOPs per token of `phase` ('training', 'prefill' or 'decode') for a model of `params` (floats or arrays)."""
    return sum(c * params**e for c, e in phase_flops_monomials(scenario, phase))


def weight_bytes_per_param(serving):
    """Bytes per weight: serving.bytes_per_param, else the serving dtype's width (weights stored in the serving
    dtype); None when neither says (the scenario rejects that wherever the bytes price or cap something)."""
    if serving.bytes_per_param is not None:
        return serving.bytes_per_param
    return DTYPE_BYTES.get(serving.dtype.lower())


def resident_bytes_per_param(serving):
    """Weight bytes a replica holds per (active) parameter N: every expert, N_total / N_act of them
    (`tco.model.experts`; the width alone for a dense model)."""
    arch = serving.architecture
    return weight_bytes_per_param(serving) * total_per_active(arch.experts_in_force, arch.top_k)


def read_bytes_per_param(serving, tokens):
    """Weight bytes one forward step of `tokens` tokens reads per (active) parameter N: the shared weights and
    the experts those tokens touch (`tco.model.experts.read_per_active`; the width alone for a dense model)."""
    arch = serving.architecture
    return weight_bytes_per_param(serving) * read_per_active(arch.experts_in_force, arch.top_k, tokens)


def shape_rule(roofline):
    """The roofline's shape rule in force (its default when neither an architecture nor a shape is given), or
    None under a fixed architecture."""
    if roofline.architecture is not None:
        return None
    return roofline.shape if roofline.shape is not None else ShapeRule()


def kv_bytes_per_token(roofline):
    """(coefficient, exponent) of KV-cache bytes per token of context = coefficient x N^exponent."""
    kvb = roofline.kv_bytes_per_value
    arch = roofline.architecture
    if arch is not None:
        return 2.0 * arch.layers * arch.kv_heads * arch.head_dim * kvb, 0.0
    shape = shape_rule(roofline)
    r = shape.aspect_ratio
    return 2.0 * shape.kv_head_fraction * kvb * r * (PARAMS_PER_LAYER_D2 * r**2) ** (-2.0 / 3.0), 2.0 / 3.0


def kv_bytes_at(roofline, params):
    """KV-cache bytes per token of context of a model of `params` parameters (`kv_bytes_per_token` at N)."""
    kv_coef, kv_exp = kv_bytes_per_token(roofline)
    return kv_coef * params**kv_exp


def derived_layers(shape, params):
    """Layers of a model of `params` under a shape rule: (N / (12 aspect_ratio^2))^(1/3); d_model is
    aspect_ratio times this."""
    return (params / (PARAMS_PER_LAYER_D2 * shape.aspect_ratio**2)) ** (1.0 / 3.0)


def decode_compute_efficiency(serving):
    """The roofline's compute efficiency, else the prefill MFU (the same kernels on the same device)."""
    given = serving.roofline.compute_efficiency if serving.roofline is not None else None
    return given if given is not None else serving.prefill_mfu


def sequence_tokens(demand):
    """Tokens one sequence holds at its end: prompt + generated tokens per request."""
    return demand.prompt_tokens_per_request + demand.generated_tokens_per_request


def decode_context_tokens(scenario):
    """Average context per generated token: the roofline's, else prompt + half the generation."""
    roof = scenario.serving.roofline
    given = roof.context_tokens if roof is not None else None
    if given is not None:
        return given
    d = scenario.demand
    return d.prompt_tokens_per_request + d.generated_tokens_per_request / 2.0


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
        return sum((coef * params**exp for coef, exp in self.overhead), 0.0 * params)

    def compute_seconds(self, params):
        if np.ndim(self.attention_s) == 0 and self.attention_s == 0:
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
        weights_s=read_bytes_per_param(serving, serving.batch_size) / (serving.batch_size * bandwidth),
        kv_s=kv_read_coef / bandwidth,
        kv_exp=kv_exp,
        attention_s=attention_coef / compute if _nonzero(attention_coef) else 0.0,
        attention_exp=attention_exp,
    )


def _nonzero(coef) -> bool:
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
    return _coefficients(s, s.prefill_mfu, 1.0, _stated_kv_bytes_per_sequence(s), 0.0, *_decode_attention(scenario))


def _stated_kv_bytes_per_sequence(serving):
    """Without a roofline: kv_cache_gb is the KV cache of the full batch_size, read every step and held."""
    return serving.kv_cache_gb * 1e9 / serving.batch_size


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
        self.weight_bytes = resident_bytes_per_param(s) * params
        if s.roofline is None:
            self.kv_bytes_per_sequence = _stated_kv_bytes_per_sequence(s)
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
        return (s.replica_memory_gb - s.kv_cache_gb) * 1e9 / resident_bytes_per_param(s)
    kv_coef, kv_exp = kv_bytes_per_token(s.roofline)
    resident = s.batch_size * sequence_tokens(scenario.demand) * kv_coef
    return _largest_params(resident_bytes_per_param(s), resident, kv_exp, s.replica_memory_gb * 1e9)


def latency_params_limit(scenario):
    """Largest N decoding a full batch within max_time_per_output_token_ms. With a roofline both legs count:
    a step of the batch takes max(compute, memory) + overhead = device-seconds per token x batch / devices;
    else memory-bound decode reads the weights and kv_cache_gb once per token:
    (ms / 1000 x devices x bandwidth - KV) / bytes_per_param."""
    s = scenario.serving
    if s.roofline is None:
        budget_gb = s.max_time_per_output_token_ms / 1000.0 * s.replica_bandwidth_gb_per_s
        return (budget_gb - s.kv_cache_gb) * 1e9 / read_bytes_per_param(s, s.batch_size)
    times = roofline_coefficients(scenario)
    budget_s = s.max_time_per_output_token_ms / 1000.0 * s.devices_per_replica / s.batch_size  # per token
    if times.overhead:  # the step's overhead grows with N too: the root of the whole step
        return _largest_within(times.seconds, budget_s)
    by_memory = _largest_params(times.weights_s, times.kv_s, times.kv_exp, budget_s)
    by_compute = (_largest_params(times.compute_s, times.attention_s, times.attention_exp, budget_s)
                  if _nonzero(times.attention_s) else budget_s / times.compute_s)
    return np.minimum(by_compute, by_memory) if np.ndim(by_memory) or np.ndim(by_compute) else min(
        by_compute, by_memory)


# --- the serving step model beyond the roofline (scenario: `tco.scenario.roofline.ServingCalibration`) ---------
#: Bytes per activation value a tensor-parallel all-reduce moves: 16-bit (vLLM and TensorRT-LLM all-reduce in the
#: model's 16-bit dtype, also under fp8 weights).
ACTIVATION_BYTES = 2.0


def serving_calibration(serving):
    """The calibration in force: the roofline's (None: the pure roofline, and always without a roofline)."""
    return serving.roofline.calibration if serving.roofline is not None else None


def layers_and_width(scenario):
    """((c_L, e), (c_d, e)): layers = c_L N^e and d_model = c_d N^e. A fixed architecture gives e = 0 and
    d_model = heads x head_dim (0 when heads is not given: the load checks require it wherever it counts); the
    shape rule gives layers = (N / (12 r^2))^(1/3) and d_model = r x layers, e = 1/3."""
    arch, shape = model_shape(scenario)
    if arch is not None:
        return (arch.layers, 0.0), ((arch.heads or 0.0) * arch.head_dim, 0.0)
    r = shape.aspect_ratio
    layers = (PARAMS_PER_LAYER_D2 * r**2) ** (-1.0 / 3.0)
    return (layers, 1.0 / 3.0), (r * layers, 1.0 / 3.0)


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
    per_layer = (cal.overhead_per_layer_us * 1e-6 / r + _split(r) * 2.0 * cal.allreduce_latency_us * 1e-6
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

    @staticmethod
    def _sum(terms, params):
        return sum((c * params**e for c, e in terms), 0.0 * params)

    def seconds(self, params):
        return (np.maximum(self._sum(self.compute, params), self._sum(self.weights, params))
                + self._sum(self.overhead, params))

    def bound(self, params) -> str:
        return "compute" if self._sum(self.compute, params) >= self._sum(self.weights, params) else "memory"


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
        (read_bytes_per_param(s, p) / (r * bandwidth * 1e9 * (s.roofline.bandwidth_efficiency if s.roofline else 1.0)),
         1.0),))
    overhead: tuple = ()
    if cal is not None:
        (layers, layer_exp), (width, width_exp) = layers_and_width(scenario)
        fixed = (layers * (cal.overhead_per_layer_us * 1e-6 / r + _split(r) * 2.0 * cal.allreduce_latency_us * 1e-6),
                 layer_exp)
        activations = (2.0 * layers * width * p * _allreduce_seconds_per_value(s), layer_exp + width_exp)
        overhead = (fixed, activations, (p * cal.prefill_us_per_prompt_token * 1e-6, 0.0))
    return FirstToken(compute, weights, overhead)


def time_to_first_token_seconds(scenario, params):
    """Seconds from a prompt's arrival at an idle replica to its first generated token (`first_token`)."""
    return first_token(scenario).seconds(params)


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
