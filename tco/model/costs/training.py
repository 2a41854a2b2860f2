"""Training: 6 N D FLOPs at the training device's $ per useful FLOP (dense peak x MFU, $/device-hour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...hardware import usd_per_flop
from ...units import SECONDS_PER_HOUR
from .base import CostTerm, Figure

__all__ = ["TrainingCost"]


@dataclass(frozen=True)
class TrainingCost(CostTerm):
    """6 N D training FLOPs at the training device's $ per useful FLOP."""

    name = "training"
    label = "Training"
    n_exp = 1
    d_exp = 1
    flops_formula = "=6*{n}*{d}"
    usd_formula = "={col}{training_gpu_hours}*{train_price_usd_per_hour}"

    #: useful FLOPs one training device delivers per hour (dense peak x MFU x 3600): GPU-hours = FLOPs / this
    flops_per_device_hour: Any = 1.0

    def values(self, params, tokens):
        flops = self.flops(params, tokens)
        return {"training_flops": flops, "training_gpu_hours": flops / self.flops_per_device_hour,
                "training_cost_usd": self.usd(params, tokens)}

    @classmethod
    def figures(cls):
        flops, cost = super().figures()
        hours = Figure("training_gpu_hours", "Training GPU-hours", "device-hours", "count",
                       "={col}{training_flops}/({train_peak_flops}*{train_mfu}*3600)", "Training GPU-hours")
        return (flops, hours, cost)

    @classmethod
    def from_scenario(cls, scenario):
        t = scenario.training
        return cls(flops_coef=6.0, usd_coef=6.0 * usd_per_flop(t.usd_per_hour, t.peak_flops, t.mfu),
                   flops_per_device_hour=t.peak_flops * t.mfu * SECONDS_PER_HOUR)
