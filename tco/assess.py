"""`tco.evaluate`: price a design someone proposes, (N, D), exactly like the optimum, and say how it serves.

The costs are the term registry's (`tco.assemble.design_point` on the scenario's model, as the optimum's), so the
design and the optimum differ only in (N, D). Serving figures are the model's: the decode step of one replica
(devices_per_replica devices) at serving.batch_size and the average context (`tco.model.replica`), and the time
to first token of one prompt on an idle replica (`tco.model.serving_step`); with `serving.roofline:` both include
the calibration's overhead and all-reduces (`ServingCalibration`), without it the step is
`decode_step_coefficients`' (`tco.model.decode_roofline`: prefill MFU, peak bandwidth, the stated kv_cache_gb)
and the first token is the prefill at serving.prefill_mfu.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .assemble import design_point, extrapolation_note, hardware_notes
from .errors import FieldError
from .model.build import build_model
from .model.replica import replica_step
from .model.serving import decode_context_tokens, weight_bytes_per_param
from .model.serving_step import first_token, serving_calibration
from .pipeline import optimize
from .results.evaluation import Evaluation, ServingPerformance, TrainingTime
from .scenario.fields import PARAMS_RANGE, PARAMS_WHY, TOKENS_RANGE, TOKENS_WHY, range_message

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["evaluate", "serving_performance"]


def _check(name: str, value: float, bounds: tuple[float, float], why: str, unit: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and bounds[0] <= value <= bounds[1]):
        raise FieldError((name,), f"{range_message(*bounds, why, unit)}, got {value:g}")
    return value


def evaluate(scenario: "Scenario", *, params: float, tokens: float) -> Evaluation:
    """The design of `params` parameters trained on `tokens` tokens, priced like `tco.optimize(scenario)`'s
    optimum (`Evaluation`): its loss, costs, excess over the optimum, training time and serving performance."""
    n = _check("params", params, PARAMS_RANGE, PARAMS_WHY, "parameters")
    d = _check("tokens", tokens, TOKENS_RANGE, TOKENS_WHY, "tokens")
    from .choice import chosen_scenario, is_choice, precision_of

    result = optimize(scenario)
    listed = is_choice(scenario)
    scenario = chosen_scenario(scenario, result)  # candidate architectures: the design has the winner's
    model = build_model(scenario)
    design = design_point(scenario, model, n, d)
    optimal = result.optimal
    excess = design.total_cost_usd - optimal.total_cost_usd
    violated = tuple(cap.name for cap in model.caps if cap.relative_slack(n, d) < -1e-9)
    notes = [*hardware_notes(scenario)]
    notes += [note for note in (extrapolation_note(design.tokens_per_param, "the design"),) if note]
    if listed:  # the loss and costs depend on the architecture: say which one priced the design
        notes.append(f"the scenario lists candidate architectures; the design is priced with the optimum's: "
                     f"{scenario.model.experts_in_force:g} experts (top_k {scenario.model.top_k:g}), serving "
                     f"{precision_of(scenario)}")
    meets = design.loss <= result.target_loss * (1 + 1e-9)
    if not meets:
        notes.append(f"the design's loss {design.loss:.6g} misses the target {result.target_loss:.6g}: it is "
                     "cheaper or dearer than the optimum at a different quality")
    serving = serving_performance(scenario, n)
    if serving is None:
        notes.append("serving performance needs the serving device's bandwidth_gb_per_s and the weight bytes "
                     "(bytes_per_param or a dtype with a known width)")
    return Evaluation(
        scenario=scenario.name, objective=model.objective, target_loss=result.target_loss, meets_target=meets,
        design=design, optimal=optimal, excess_cost_usd=excess,
        excess_cost_fraction=excess / optimal.total_cost_usd, violated_constraints=violated,
        training=training_time(scenario, design), serving=serving, notes=tuple(notes))


def training_time(scenario: "Scenario", design) -> TrainingTime:
    """The design's training device-hours (the training term's own figure) and, with a deadline, its days on
    the deadline's GPUs."""
    hours = design.training_gpu_hours
    deadline = scenario.constraints.training_deadline
    if deadline is None:
        return TrainingTime(gpu_hours=hours)
    return TrainingTime(gpu_hours=hours, deadline_gpus=deadline.gpus, days_on_deadline_gpus=hours / deadline.gpus / 24,
                        deadline_days=deadline.days)


def serving_performance(scenario: "Scenario", params: float) -> ServingPerformance | None:
    """A replica serving the model of `params` at serving.batch_size (None when the device or dtype lacks the
    bandwidth or weight bytes the step needs)."""
    s = scenario.serving
    if s.device.bandwidth_gb_per_s is None or weight_bytes_per_param(s) is None:
        return None
    step = replica_step(scenario, params)
    b = s.batch_size
    seconds = step.seconds(b)
    ttft = first_token(scenario)
    memory = (step.weight_bytes + b * step.kv_bytes_per_sequence) / 1e9
    replica_memory = s.replica_memory_gb if s.device.memory_gb is not None else None
    if s.roofline is None:
        model_name = "no roofline"
    else:
        model_name = "calibrated" if serving_calibration(s) is not None else "pure roofline"
    context = (decode_context_tokens(scenario) if s.roofline is not None else
               scenario.demand.decode_context_per_token)
    return ServingPerformance(
        devices_per_replica=s.devices_per_replica, batch_size=b, context_tokens=context,
        time_per_output_token_ms=seconds * 1000.0,
        time_to_first_token_ms=float(ttft.seconds(params)) * 1000.0,
        generated_tokens_per_second_per_device=b / seconds / s.devices_per_replica,
        generated_tokens_per_second_per_replica=b / seconds,
        memory_gb_per_replica=memory, replica_memory_gb=replica_memory,
        fits=None if replica_memory is None else memory <= replica_memory,
        bound=step.bound(b), first_token_bound=ttft.bound(params), step_model=model_name)
