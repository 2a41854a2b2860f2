"""Prefill: 2 N FLOPs per lifetime prompt token at the serving device's $ per useful FLOP at the prefill MFU
(prompt processing is compute bound)."""

from __future__ import annotations

from dataclasses import dataclass

from ...hardware import usd_per_flop
from ..fleet import billed_usd_per_device_hour
from ..serving import FORWARD_FLOPS_PER_PARAM
from .base import SARDANA_DEFAULT, CostTerm, InputRow, given

__all__ = ["PrefillCost"]


@dataclass(frozen=True)
class PrefillCost(CostTerm):
    """Lifetime prompt tokens x 2 N FLOPs at the prefill MFU (compute bound)."""

    name = "prefill"
    label = "Prefill"
    group = "inference"
    n_exp = 1
    d_exp = 0
    per_inference_token = True
    flops_formula = "=2*{n}*{lifetime_prompt_tokens}"
    usd_formula = "={col}{prefill_flops}/({serve_peak_flops}*{prefill_mfu}*3600)*{serve_price_usd_per_hour}"

    @classmethod
    def input_rows(cls, scenario):
        s = scenario.serving
        return [InputRow("prefill_mfu", "Prefill MFU", s.prefill_mfu, "fraction",
                         given(s, "prefill_mfu", SARDANA_DEFAULT), "fraction")]

    @classmethod
    def from_scenario(cls, scenario):
        s = scenario.serving
        tokens = scenario.demand.lifetime_prompt_tokens
        flops_coef = FORWARD_FLOPS_PER_PARAM * tokens  # FLOPs per parameter over the lifetime
        price = billed_usd_per_device_hour(scenario)  # $ per busy device-hour (serving.pricing)
        return cls(flops_coef=flops_coef, usd_coef=flops_coef * usd_per_flop(price, s.peak_flops, s.prefill_mfu))
