"""Prefill: 2 N FLOPs per lifetime prompt token, plus attention at prompt / 2 tokens attended (causal), at the
serving device's $ per useful FLOP at the prefill MFU (prompt processing is compute bound)."""

from __future__ import annotations

from dataclasses import dataclass

from ...hardware import usd_per_flop
from ..fleet import billed_usd_per_device_hour
from ..serving import phase_flops_monomials, prefill_attended_tokens
from .base import SARDANA_DEFAULT, CostTerm, InputRow, Monomial, given

__all__ = ["PrefillCost"]


@dataclass(frozen=True)
class PrefillCost(CostTerm):
    """Lifetime prompt tokens x (2 N + attention) FLOPs at the prefill MFU (compute bound)."""

    name = "prefill"
    label = "Prefill"
    group = "inference"
    n_exp = 1
    d_exp = 0
    per_inference_token = True
    flops_formula = "=(2*{n}+{attn_flops_coef}*{n}^{attn_flops_exp}*{prefill_attended_tokens})*{lifetime_prompt_tokens}"
    usd_formula = "={col}{prefill_flops}/({serve_peak_flops}*{prefill_mfu}*3600)*{serve_price_usd_per_hour}"

    @classmethod
    def input_rows(cls, scenario):
        s, d = scenario.serving, scenario.demand
        per_request = d.requests is not None or d.requests_per_year is not None  # the sheet has the request rows
        return [InputRow("prefill_mfu", "Prefill MFU", s.prefill_mfu, "fraction",
                         given(s, "prefill_mfu", SARDANA_DEFAULT), "fraction"),
                InputRow("prefill_attended_tokens", "Prefill: tokens each prompt token attends to",
                         "={prompt_tokens_per_request}/2" if per_request else prefill_attended_tokens(d), "tokens",
                         "derived: prompt_tokens_per_request / 2 (causal)", "plain", False)]

    @classmethod
    def from_scenario(cls, scenario):
        s = scenario.serving
        tokens = scenario.demand.lifetime_prompt_tokens
        price = billed_usd_per_device_hour(scenario)  # $ per busy device-hour (serving.pricing)
        per_flop = usd_per_flop(price, s.peak_flops, s.prefill_mfu)
        (weights, _), *attention = phase_flops_monomials(scenario, "prefill")
        flops_coef = weights * tokens  # FLOPs per parameter over the lifetime
        extra = tuple(Monomial("prefill_attention", exp, 0, coef * tokens, coef * tokens * per_flop)
                      for coef, exp in attention)
        return cls(flops_coef=flops_coef, usd_coef=flops_coef * per_flop, extra=extra)
