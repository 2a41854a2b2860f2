"""Result sections for real ownership and serving costs (issue 7): renting vs owning per phase, the training
cluster the optimum needs, and the time value of the demand. Each is a plain dict in `Result.to_dict()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .scenario.extras import owned_cost_breakdown
from .units import SECONDS_PER_DAY

if TYPE_CHECKING:
    from .result import DesignPoint
    from .scenario import Scenario

__all__ = ["ownership_comparison", "training_sizing", "time_value", "extra_inputs"]

#: Which DesignPoint cost each phase's price multiplies.
_PHASE_COST = {"training": "training_cost_usd", "serving": "inference_cost_usd"}


def ownership_comparison(scenario: "Scenario", optimal: "DesignPoint") -> dict:
    """Per phase with `ownership:`: owned vs rented $/device-hour and the optimum's total cost under each.

    The design (N, D) is held fixed; only the phase's price changes, so its cost scales with the price."""
    out = {}
    for phase_name, cost_key in _PHASE_COST.items():
        phase = getattr(scenario, phase_name)
        if phase.ownership is None:
            continue
        owned = owned_cost_breakdown(phase.ownership, phase.device)
        rented = phase.rental_usd_per_hour
        entry = {"owned_usd_per_hour": owned.pop("usd_per_hour"), **owned, "rented_usd_per_hour": rented,
                 "rented_price_source": phase.device.price_source if rented is not None else None,
                 "owned_total_cost_usd": optimal.total_cost_usd}
        if rented is not None:
            phase_cost = getattr(optimal, cost_key)
            rented_total = optimal.total_cost_usd + phase_cost * (rented / entry["owned_usd_per_hour"] - 1.0)
            entry.update(rented_total_cost_usd=rented_total, owning_saves_usd=rented_total - optimal.total_cost_usd,
                         cheaper="own" if rented_total > optimal.total_cost_usd else "rent")
        out[phase_name] = entry
    return out


def training_sizing(scenario: "Scenario", optimal: "DesignPoint") -> dict:
    """With a training deadline: the GPUs that finish the optimum in the deadline's days, and the wall-clock days
    it takes on the deadline's GPUs (training FLOPs / (gpus x peak x MFU x 86400))."""
    deadline = scenario.constraints.training_deadline
    if deadline is None:
        return {}
    t = scenario.training
    per_gpu_day = t.peak_flops * t.mfu * SECONDS_PER_DAY
    return {"training": {
        "deadline_gpus": deadline.gpus,
        "deadline_days": deadline.days,
        "gpus_needed": optimal.training_flops / (per_gpu_day * deadline.days),
        "days_needed": optimal.training_flops / (per_gpu_day * deadline.gpus),
    }}


def time_value(scenario: "Scenario") -> dict:
    """With a demand horizon: nominal lifetime requests and tokens next to their present values."""
    d = scenario.demand
    if d.requests_per_year is None:
        return {}
    return {
        "requests_per_year": d.requests_per_year, "years": d.years, "growth_per_year": d.growth_per_year,
        "discount_rate": d.discount_rate, "convention": "mid-year: year y discounted by (1+r)^-(y+0.5)",
        "nominal_requests": d.nominal_requests, "pv_requests": d.pv_requests,
        "nominal_prompt_tokens": d.nominal_prompt_tokens, "pv_prompt_tokens": d.lifetime_prompt_tokens,
        "nominal_generated_tokens": d.nominal_generated_tokens, "pv_generated_tokens": d.lifetime_generated_tokens,
    }


def extra_inputs(scenario: "Scenario") -> dict:
    """Ownership, memory-fit and horizon inputs in force, for `Result.inputs` (keys only where they apply)."""
    out: dict = {}
    for phase_name in ("training", "serving"):
        own = getattr(scenario, phase_name).ownership
        if own is not None:
            power_kw = owned_cost_breakdown(own, getattr(scenario, phase_name).device)["power_kw"]
            out[f"{phase_name}_ownership"] = {**own.model_dump(), "power_kw": power_kw}
    s = scenario.serving
    if s.memory_fit or s.max_time_per_output_token_ms is not None:
        out["serving_fit"] = {
            "devices_per_replica": s.devices_per_replica, "bytes_per_param": s.weight_bytes_per_param,
            "kv_cache_gb": s.kv_cache_gb, "memory_fit": s.memory_fit,
            "max_time_per_output_token_ms": s.max_time_per_output_token_ms}
    return out
