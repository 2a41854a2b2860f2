"""Training: 6 N D FLOPs, plus the attention FLOPs (3 x forward attention at sequence_length / 2 tokens attended,
per training token: a monomial in N^(2/3) D under the shape rule, N^0 D for a fixed architecture), at the
training device's $ per useful FLOP: dense peak x MFU x goodput per billed device-hour."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...hardware import usd_per_flop
from ...units import SECONDS_PER_HOUR
from ..serving import attention_flops_coefficients, phase_flops_monomials
from .base import CostTerm, Figure, InputRow, Monomial, given

__all__ = ["TrainingCost"]

#: Where the training defaults come from (the field descriptions in tco.scenario.schema.Training say more).
_GOODPUT_SOURCE = "default: 0.90, Llama 3 405B >90% effective training time (Dubey et al. 2024, 3.3.4)"
_SEQUENCE_SOURCE = "default: 8192, Llama 3 pre-training sequences (Dubey et al. 2024, 3.4.1)"


@dataclass(frozen=True)
class TrainingCost(CostTerm):
    """6 N D (+ attention) training FLOPs at the training device's $ per useful FLOP."""

    name = "training"
    label = "Training"
    n_exp = 1
    d_exp = 1
    flops_formula = "=6*{n}*{d}+3*{attn_flops_coef}*{n}^{attn_flops_exp}*{train_sequence_length}/2*{d}"
    usd_formula = "={col}{training_gpu_hours}*{train_price_usd_per_hour}"

    #: useful FLOPs one billed training device-hour delivers (peak x MFU x goodput x 3600): hours = FLOPs / this
    flops_per_device_hour: Any = 1.0

    def values(self, params, tokens):
        flops = self.flops(params, tokens)
        return {"training_flops": flops, "training_gpu_hours": flops / self.flops_per_device_hour,
                "training_cost_usd": self.usd(params, tokens)}

    @classmethod
    def figures(cls):
        flops, cost = super().figures()
        hours = Figure("training_gpu_hours", "Training GPU-hours", "device-hours", "count",
                       "={col}{training_flops}/({train_peak_flops}*{train_mfu}*{train_goodput}*3600)",
                       "Training GPU-hours")
        return (flops, hours, cost)

    @classmethod
    def input_rows(cls, scenario):
        t = scenario.training
        return [InputRow("train_goodput", "Training goodput (useful share of billed hours)", t.goodput, "fraction",
                         given(t, "goodput", _GOODPUT_SOURCE), "fraction"),
                InputRow("train_sequence_length", "Training sequence length", t.sequence_length, "tokens",
                         given(t, "sequence_length", _SEQUENCE_SOURCE), "count")]

    @classmethod
    def from_scenario(cls, scenario):
        t = scenario.training
        per_flop = usd_per_flop(t.usd_per_hour, t.peak_flops, t.useful_fraction)
        (weights, _), *attention = phase_flops_monomials(scenario, "training")
        extra = tuple(Monomial("training_attention", exp, 1, coef, coef * per_flop) for coef, exp in attention)
        return cls(flops_coef=weights, usd_coef=weights * per_flop, extra=extra,
                   flops_per_device_hour=t.peak_flops * t.useful_fraction * SECONDS_PER_HOUR)


def attention_input_rows(scenario) -> list[InputRow]:
    """The attention-FLOPs coefficient and exponent every phase's FLOPs formula reads (`attn_flops_coef`,
    `attn_flops_exp`): forward attention FLOPs of one token per token attended = coef x N^exp."""
    coef, exp = attention_flops_coefficients(scenario)
    if not scenario.attention_flops:
        source = "attention_flops: false (the 6 N D / 2 N convention)"
    elif scenario.serving.roofline is not None and scenario.serving.roofline.architecture is not None:
        source = "derived: 4 x layers x heads x head_dim (serving.roofline.architecture; Hoffmann et al. 2022 app. F)"
    else:
        source = ("derived: shape rule 4 x r x (12 r^2)^(-2/3), heads x head_dim = d_model = r x layers "
                  "(Kaplan et al. 2020 table 1)")
    return [InputRow("attn_flops_coef", "Attention FLOPs per token attended: coefficient", coef,
                     "FLOP x N^-exponent", source, "plain"),
            InputRow("attn_flops_exp", "Attention FLOPs per token attended: exponent of N", exp, "",
                     "0 for a fixed architecture (or attention_flops: false), 2/3 for the shape rule", "plain", False)]
