"""Data acquisition: $ per training token; no FLOPs, so it does not enter a FLOPs objective."""

from __future__ import annotations

from dataclasses import dataclass

from .base import CostTerm, InputRow, given

__all__ = ["DataCost"]


@dataclass(frozen=True)
class DataCost(CostTerm):
    """$ per training token acquired (no FLOPs)."""

    name = "data"
    label = "Data"
    n_exp = 0
    d_exp = 1
    has_flops = False
    optional = True
    usd_formula = "={d}*{data_cost_usd_per_token}"

    @classmethod
    def input_rows(cls, scenario):
        return [InputRow("data_cost_usd_per_token", "Data acquisition cost", scenario.data.cost_usd_per_token,
                         "$ per training token", given(scenario.data, "cost_usd_per_token", "default: 0"))]

    @classmethod
    def from_scenario(cls, scenario):
        return cls(flops_coef=0.0, usd_coef=scenario.data.cost_usd_per_token)
