"""`Evaluation`: one given design (N, D) priced exactly like the optimum (`tco.evaluate`), next to the optimum,
with its training time and its serving performance on one replica. Nothing here computes: the values come from
`tco.evaluate` (costs: the term registry's `design_point`; serving: `tco.model.replica`, `tco.model.serving_step`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .result import DesignPoint
from .sections import Section, optional_field as _optional, plain

__all__ = ["Evaluation", "TrainingTime", "ServingPerformance"]


@dataclass(frozen=True)
class TrainingTime(Section):
    """Training the design: device-hours at the training MFU, and wall-clock days on the deadline's cluster."""

    gpu_hours: float
    deadline_gpus: float | None = _optional()  # constraints.training_deadline.gpus, when set
    days_on_deadline_gpus: float | None = _optional()
    deadline_days: float | None = _optional()


@dataclass(frozen=True)
class ServingPerformance(Section):
    """The design on one replica of devices_per_replica devices at serving.batch_size (`tco.model.replica`)."""

    devices_per_replica: float
    batch_size: float
    context_tokens: float  # average context of a generated token: prompt + generated / 2 (or the roofline's)
    time_per_output_token_ms: float  # one decode step of the batch
    time_to_first_token_ms: float  # one prompt of prompt_tokens_per_request on an idle replica
    generated_tokens_per_second_per_device: float
    generated_tokens_per_second_per_replica: float
    memory_gb_per_replica: float  # weights + the batch's KV caches at the full prompt + generation
    replica_memory_gb: float | None  # what the replica has (None: the device has no memory figure)
    fits: bool | None
    bound: str  # what bounds the decode step: "compute" or "memory"
    first_token_bound: str  # what bounds the prefill: "compute" or "memory"
    step_model: str  # "calibrated" (serving.roofline.calibration), "pure roofline", or "no roofline"


@dataclass(frozen=True)
class Evaluation:
    """A given design priced like the optimum: `design` has the fields of the optimum (`optimal`)."""

    scenario: str
    objective: str
    target_loss: float
    meets_target: bool  # the design's loss is at most the target (relative tolerance 1e-9)
    design: DesignPoint
    optimal: DesignPoint
    excess_cost_usd: float  # design total - optimal total (>= 0 for designs that reach the target)
    excess_cost_fraction: float
    violated_constraints: tuple[str, ...]  # caps of the scenario the design breaks
    training: TrainingTime
    serving: ServingPerformance | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return plain({
            "scenario": self.scenario, "objective": self.objective, "target_loss": self.target_loss,
            "meets_target": self.meets_target, "design": self.design.to_dict(), "optimal": self.optimal.to_dict(),
            "excess_cost_usd": self.excess_cost_usd, "excess_cost_fraction": self.excess_cost_fraction,
            "violated_constraints": list(self.violated_constraints), "training": self.training,
            "serving": self.serving, "notes": list(self.notes)})
