"""The post-training quantization penalty as numbers: what `serving.quantization` adds to the loss, and the loss
constraint it makes.

The target constrains the served (quantized) model's loss, L(N, D) + delta(N, D) <= target:

- kumar2024: delta = k D^gd / N^gn with k = C_T exp(-P / gamma_post + b). For the Chinchilla form the target is
  A N^-alpha + B D^-beta + k D^gd N^-gn <= target - E, a posynomial inequality; divided by r = target - E it is
  the three-term ``a N^-p + b D^-q + c D^gd N^-gn <= 1`` of `tco.laws.LossConstraint` (c = k / r), so the GP
  takes it as it is and d log r / d loss (the shadow price's factor) is unchanged.
- constant: delta is a number, so the target on the law's own loss is simply target - delta: the two-term
  constraint at a lower loss.

Kaplan's form (no irreducible term, the target is a power of the posynomial) is refused with the kumar2024 form:
its constraint with a third monomial is no longer of the normalized form the solvers take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FieldError
from ..hardware import DTYPE_BYTES
from ..laws import ChinchillaLaw, Law, LossConstraint
from .serving import weight_bytes_per_param

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["QuantizationPenalty", "penalty_of", "penalty_caveat", "penalized_constraint", "check_quantization",
           "quantization_input_rows", "penalty_formula"]

_FIELD = ("serving", "quantization")


@dataclass(frozen=True)
class QuantizationPenalty:
    """delta(N, D) = constant + coefficient D^gamma_d / N^gamma_n (one of the two is zero), in nats/token."""

    form: str
    bits: float
    coefficient: float  # k = C_T exp(-P / gamma_post + b) of kumar2024; 0 for the constant form
    gamma_d: float
    gamma_n: float
    constant: float  # penalty_nats of the constant form; 0 for kumar2024
    source: str
    c_t: float = 0.0
    gamma_post: float = 0.0
    bias: float = 0.0  # b of e^(-P/gamma_post + b)
    published: bool = False  # the constants are Kumar et al. 2024's own fit (Appendix K, Table 2)

    def delta(self, params, tokens):
        """The loss the quantization adds at (params, tokens), floats or arrays."""
        if self.form == "constant":
            return self.constant + 0.0 * np.asarray(tokens, dtype=float) if np.ndim(tokens) else self.constant
        value = self.coefficient * np.asarray(tokens, dtype=float) ** self.gamma_d / np.asarray(
            params, dtype=float) ** self.gamma_n
        return float(value) if np.ndim(value) == 0 else value


def serving_bits(scenario: "Scenario") -> float:
    """P, the precision of the served weights: the stated bits, else 8 x the bytes a served weight takes
    (`serving.bytes_per_param`, else the serving dtype's width: `tco.model.serving.weight_bytes_per_param`), so
    weight-only int4 on fp8 compute (bytes_per_param 0.5) is 4 bits."""
    quant = scenario.serving.quantization
    if quant is not None and quant.bits is not None:
        return float(quant.bits)
    width = weight_bytes_per_param(scenario.serving)
    if width is None:
        raise FieldError((*_FIELD, "bits"), f"no width is known for serving dtype {scenario.serving.dtype!r}: state "
                         "bits (or serving.bytes_per_param)")
    return 8.0 * float(width)


def training_bits(scenario: "Scenario") -> float:
    return 8.0 * DTYPE_BYTES.get(scenario.training.dtype, 2.0)


def penalty_of(scenario: "Scenario") -> QuantizationPenalty | None:
    """The penalty in force, or None: no `serving.quantization`, or serving at least at the training precision
    (nothing is quantized) without `apply_at_training_precision`."""
    quant = scenario.serving.quantization
    if quant is None:
        return None
    bits = serving_bits(scenario)
    if bits >= training_bits(scenario) and not quant.apply_at_training_precision:
        return None
    if quant.form == "constant":
        assert quant.penalty_nats is not None  # the schema requires it for this form
        if quant.penalty_nats == 0:
            return None
        return QuantizationPenalty("constant", bits, 0.0, 0.0, 0.0, float(quant.penalty_nats),
                                   quant.constants_source)
    k = quant.constants
    coefficient = k.c_t * math.exp(-bits / k.gamma_post + k.bias)
    return QuantizationPenalty("kumar2024", bits, coefficient, k.gamma_d, k.gamma_n, 0.0, k.source, k.c_t,
                               k.gamma_post, k.bias, k.published)


def penalty_caveat(penalty: QuantizationPenalty | None) -> str | None:
    """The warning every output carries while the paper's own fit prices the penalty: where it was measured."""
    if penalty is None or not penalty.published:
        return None
    return (f"serving.quantization uses Kumar et al. 2024's published fit (C_T {penalty.c_t:g}, gamma_post "
            f"{penalty.gamma_post:g}, b {penalty.bias:g}): GPTQ on 30M-220M-parameter models trained on Dolma, "
            "validated to 1.7B and fitted with their own law; the authors warn the values may not transfer, so "
            "treat the penalty as indicative and fit C_T on your own quantized checkpoints")


def penalized_constraint(law: Law, loss: Any, penalty: QuantizationPenalty | None) -> LossConstraint:
    """The target `loss` on the served model as the solvers' loss constraint (module docstring)."""
    if penalty is None:
        return law.constraint(loss)
    if penalty.form == "constant":
        return law.constraint(loss - penalty.constant)  # a float or an array of targets alike
    base = law.constraint(loss)
    return LossConstraint(base.a, base.p, base.b, base.q, base.dlog_rhs_dloss,
                          c=penalty.coefficient / law._rhs(loss), gn=penalty.gamma_n, gd=penalty.gamma_d)


def quantization_input_rows(scenario: "Scenario") -> list:
    """The Inputs-sheet rows of the penalty in force (none without one): its constants with their sources, and
    k = C_T exp(-P / gamma_post) as a live formula of them, so editing a constant or the bits moves the loss."""
    from .costs.base import InputRow

    penalty = penalty_of(scenario)
    if penalty is None:
        return []
    quant = scenario.serving.quantization
    assert quant is not None
    source = penalty.source
    bits_source = "scenario" if quant.bits is not None else "default: 8 x bytes per served weight"
    if penalty.coefficient == 0:
        return [InputRow("quant_penalty_nats", "Quantization penalty (constant)", penalty.constant, "nats/token",
                         source, "loss")]
    return [
        InputRow("quant_bits", "Quantization: served weight bits P", penalty.bits, "bits", bits_source, "plain"),
        InputRow("quant_c_t", "Quantization: C_T", penalty.c_t, "nats/token", source, "plain"),
        InputRow("quant_gamma_post", "Quantization: gamma_post", penalty.gamma_post, "bits", source, "plain"),
        InputRow("quant_bias", "Quantization: exponent bias b", penalty.bias, "", source, "plain"),
        InputRow("quant_gamma_d", "Quantization: gamma_D (tokens exponent)", penalty.gamma_d, "", source, "plain"),
        InputRow("quant_gamma_n", "Quantization: gamma_N (parameters exponent)", penalty.gamma_n, "", source,
                 "plain"),
        InputRow("quant_coefficient", "Quantization: C_T exp(-P / gamma_post + b)",
                 "={quant_c_t}*EXP(-{quant_bits}/{quant_gamma_post}+{quant_bias})", "nats/token", "derived", "sci",
                 False),
    ]


def penalty_formula(form: str, n: str, d: str, names: dict[str, str]) -> str:
    """The penalty as an Excel expression of the named inputs (`quantization_input_rows`) and the cells n, d."""
    if form == "constant":
        return f"+{names['quant_penalty_nats']}"
    return f"+{names['quant_coefficient']}*{d}^{names['quant_gamma_d']}/{n}^{names['quant_gamma_n']}"


def check_quantization(scenario: "Scenario") -> None:
    """Refuse, naming the field, a penalty the solvers cannot take: kumar2024 under Kaplan's form, and a constant
    penalty that leaves the law's own loss a target at or below its irreducible loss."""
    penalty = penalty_of(scenario)
    if penalty is None:
        return
    law = scenario.resolved_law
    target = scenario.target_loss
    if penalty.coefficient > 0 and not isinstance(law, ChinchillaLaw):
        raise FieldError((*_FIELD, "form"), f"form kumar2024 needs a Chinchilla-form law (E + A/N^alpha + "
                         f"B/D^beta); law {law.name} has form {law.form}: use form constant")
    if penalty.coefficient == 0 and not np.all(np.asarray(target) - penalty.constant > law.min_loss):
        raise FieldError((*_FIELD, "penalty_nats"), f"a penalty of {penalty.constant:g} nats leaves the target "
                         f"{float(np.min(target)):g} unreachable: the best served loss of any model is above "
                         f"E + penalty = {law.min_loss + penalty.constant:g} under law {law.name}; lower the "
                         "penalty or raise the target")


# Registered like tco.model.checks: the scenario layer may not import the model, so the model adds its check.
from ..scenario.schema import SCENARIO_CHECKS  # noqa: E402  (after the function it registers)

if check_quantization not in SCENARIO_CHECKS:
    SCENARIO_CHECKS.append(check_quantization)
