"""What a design costs per token (primer section 4): the one place that knows a model's FLOPs, weight bytes and
KV bytes per token, with the attention FLOPs over the context, and the architecture (layers, width) they follow.

Every serving and training cost term, the decode roofline (`tco.model.decode_roofline`), the step model beyond it
(`tco.model.serving_step`), what one replica holds and decodes in time (`tco.model.replica`), the Inputs sheet
and the load-time checks read these functions; none of them re-derives a formula.

Per token, for a model of N parameters: a forward pass costs 2 N FLOPs (prefill and decode; training 3 x that,
forward + backward), plus, with `attention_flops`, 4 x layers x heads x head_dim FLOPs per token of context
attended. Weights take bytes_per_param x N bytes. KV bytes per token of context = 2 (K and V) x layers x
kv_heads x head_dim x kv_bytes_per_value, from a fixed architecture, or from a shape rule that derives the
architecture from N: with d_model = aspect_ratio x layers and N = 12 layers d_model^2 (Kaplan et al. 2020
eq. 2.1), layers = (N / (12 aspect_ratio^2))^(1/3) and kv_heads x head_dim = kv_head_fraction x d_model, so KV
bytes per token = 2 kv_head_fraction kv_bytes aspect_ratio (N / (12 aspect_ratio^2))^(2/3), a monomial in
N^(2/3). Every quantity is a monomial (or a sum of monomials) in N, so the costs built on them stay posynomials
and the problem a geometric program.

Every formula is attribute arithmetic, so it also evaluates on a `tco.studies.arrays.ScenarioView` of arrays.
"""

from __future__ import annotations

from ..hardware import DTYPE_BYTES
from ..scenario.roofline import ShapeRule

__all__ = ["FORWARD_FLOPS_PER_PARAM", "PARAMS_PER_LAYER_D2", "flops_per_token", "ATTENTION_FLOPS_PER_LAYER_WIDTH",
           "model_shape", "attention_flops_coefficients", "attention_flops_per_token", "TRAINING_FLOPS_PER_FORWARD",
           "training_attended_tokens", "prefill_attended_tokens", "phase_flops_monomials", "phase_flops_per_token",
           "weight_bytes_per_param", "shape_rule", "kv_bytes_per_token", "kv_bytes_at", "derived_layers",
           "layers_and_width", "monomial_sum", "sequence_tokens", "decode_context_tokens"]

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


def monomial_sum(terms, params):
    """Sum of c x params^e over `terms` ((c, e), ...); 0 x params when there are none, so an array of params
    gives an array of zeros, not a scalar 0."""
    return sum((c * params**e for c, e in terms), 0.0 * params)


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
