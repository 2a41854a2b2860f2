"""Result sections for real ownership and serving costs (issue 7): renting vs owning per phase, the training
cluster the optimum needs, the serving fleet for a peak load, and the time value of the demand. Each is a typed
section of `tco.results.sections`.

Serving capacity (`serving_sizing`, primer section 4), per replica of R = devices_per_replica devices, for a model
of N parameters, decoding a batch of b sequences: one decode step t(b) = max(compute, memory), with the weight
bytes W, the KV bytes k each sequence holds, and the step itself all from `tco.model.replica.replica_step` (the
decode roofline's per-token coefficients at the batch b; without `serving.roofline:` at the prefill MFU, the
peak bandwidth and k = kv_cache_gb x 1e9 / batch_size), so sizing and the decode cost agree. Throughput is
b / t(b) generated tokens per second per replica.

The batch b is the largest whole number <= batch_size with t(b) <= max_time_per_output_token_ms (when set) and
W + b k <= R x memory_gb (when the device has a memory figure). A prompt of p tokens takes
2 N p / (R x peak x prefill_mfu) seconds of the replica (prefill is compute bound). Each request therefore occupies
a replica for s = g / throughput + prefill seconds (g generated tokens per request), and

    replicas = ceil(peak_requests_per_second x s x (1 + headroom)),   GPUs = ceil(replicas x R).

Queueing simplification: the peak is treated as a steady rate, replicas are filled to the batch, and prefill and
decode of a replica time-share it; `headroom` (default 30% spare capacity) stands in for bursts and queueing delay,
which the model does not simulate. Costs per 1M generated tokens: at full load,
$/device-hour x R / 3600 / throughput x 1e6 (decode only); at the provisioned peak fleet,
replicas x R x $/device-hour / 3600 / (peak_requests_per_second x g) x 1e6 (prefill and headroom included); and the
design's own lifetime average, lifetime inference cost / lifetime generated tokens x 1e6. With a demand horizon,
the fleet's average utilization is the horizon's average rate x s / replicas and its cost GPUs x horizon hours x
the held $/device-hour (`tco.model.fleet`), whatever `serving.pricing` the inference cost used (`serving_pricing`
reports that pricing and the fleet it pays for).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from .sections import (DecodeBound, DecodeRoofline, DeploymentSizing, Ownership, OwnershipInputs,
                       OwnershipPhase, ReplicaSizing, ServingFitInputs, ServingPricing, ServingSizing, TimeValue,
                       TrainingSizing)
from ..scenario.extras import owned_cost_breakdown
from ..model.decode_roofline import decode_compute_efficiency, roofline_coefficients
from ..model.replica import prefill_seconds, replica_step
from ..model.serving import (decode_context_tokens, derived_layers, kv_bytes_at, phase_flops_per_token, shape_rule,
                             weight_bytes_per_param)
from ..model.fleet import (PRICING_LABELS, billed_usd_per_device_hour, held_usd_per_device_hour,
                           serving_utilization_in_force)
from ..units import SECONDS_PER_DAY

if TYPE_CHECKING:
    from . import DesignPoint
    from ..scenario import Scenario

__all__ = ["ownership_comparison", "training_sizing", "serving_sizing", "deployment_sizing", "time_value",
           "decode_roofline", "replica_capacity", "ownership_inputs", "serving_fit_inputs", "DEFAULT_REQUEST_NOTE",
           "serving_pricing"]

#: Which DesignPoint cost each phase's price multiplies.
_PHASE_COST = {"training": "training_cost_usd", "serving": "inference_cost_usd"}


def ownership_comparison(scenario: "Scenario", optimal: "DesignPoint") -> Ownership | None:
    """Per phase with `ownership:`: owned vs rented $/device-hour and the optimum's total cost under each
    (None when no phase owns).

    The design (N, D) is held fixed; only the phase's price changes, so its cost scales with the price."""
    out: dict[str, OwnershipPhase] = {}
    for phase_name, cost_key in _PHASE_COST.items():
        phase = getattr(scenario, phase_name)
        if phase.ownership is None:
            continue
        held = phase_name == "serving" and scenario.serving.pricing != "busy"  # the fleet counts idle hours
        owned = owned_cost_breakdown(phase.ownership, phase.device, utilization=1.0 if held else None)
        rented = phase.rental_usd_per_hour
        entry = OwnershipPhase(
            owned_usd_per_hour=owned["usd_per_hour"], capex_usd_per_hour=owned["capex_usd_per_hour"],
            power_usd_per_hour=owned["power_usd_per_hour"], other_opex_usd_per_hour=owned["other_opex_usd_per_hour"],
            power_kw=owned["power_kw"], rented_usd_per_hour=rented,
            rented_price_source=phase.device.price_source if rented is not None else None,
            owned_total_cost_usd=optimal.total_cost_usd)
        if rented is not None:
            phase_cost = getattr(optimal, cost_key)
            rented_total = optimal.total_cost_usd + phase_cost * (rented / entry.owned_usd_per_hour - 1.0)
            entry = dataclasses.replace(
                entry, rented_total_cost_usd=rented_total, owning_saves_usd=rented_total - optimal.total_cost_usd,
                cheaper="own" if rented_total > optimal.total_cost_usd else "rent")
        out[phase_name] = entry
    return Ownership(**out) if out else None


def training_sizing(scenario: "Scenario", optimal: "DesignPoint",
                    chinchilla: "DesignPoint") -> TrainingSizing | None:
    """With a training deadline: for each design, the GPUs that finish it in the deadline's days and the
    wall-clock days it takes on the deadline's GPUs (training FLOPs / (gpus x peak x MFU x goodput x 86400))."""
    deadline = scenario.constraints.training_deadline
    if deadline is None:
        return None
    t = scenario.training
    per_gpu_day = t.peak_flops * t.useful_fraction * SECONDS_PER_DAY
    return TrainingSizing(
        deadline_gpus=deadline.gpus,
        deadline_days=deadline.days,
        gpus_needed=optimal.training_flops / (per_gpu_day * deadline.days),
        days_needed=optimal.training_flops / (per_gpu_day * deadline.gpus),
        chinchilla_gpus_needed=chinchilla.training_flops / (per_gpu_day * deadline.days),
        chinchilla_days_needed=chinchilla.training_flops / (per_gpu_day * deadline.gpus),
    )


DEFAULT_REQUEST_NOTE = ("demand is given as lifetime tokens, so the per-request sizes are the defaults 70 prompt / "
                        "215 generated tokens (LMSYS-Chat averages, Sardana et al. 2024); set "
                        "demand.prompt_tokens_per_request / generated_tokens_per_request to size for yours")


def deployment_sizing(scenario: "Scenario", optimal: "DesignPoint",
                      chinchilla: "DesignPoint") -> DeploymentSizing | None:
    """`Result.sizing`: the training cluster (with a deadline) and the serving fleet (with a peak request rate),
    for the optimum and, next to it, the Chinchilla design of the same loss (None with neither)."""
    training = training_sizing(scenario, optimal, chinchilla)
    serving = serving_sizing(scenario, optimal, chinchilla)
    if training is None and serving is None:
        return None
    return DeploymentSizing(training=training, serving=serving)


def serving_sizing(scenario: "Scenario", optimal: "DesignPoint",
                   chinchilla: "DesignPoint") -> ServingSizing | None:
    """With demand.peak_requests_per_second: replicas, GPUs, latency, throughput and $ per 1M generated tokens
    that serve the peak, for both designs (formulas in the module docstring)."""
    d, s = scenario.demand, scenario.serving
    rps = d.peak_requests_per_second
    if rps is None:
        return None
    notes = []
    per_request_given = d.requests is not None or d.requests_per_year is not None or bool(
        {"prompt_tokens_per_request", "generated_tokens_per_request"} & d.model_fields_set)
    if not per_request_given:
        notes.append(DEFAULT_REQUEST_NOTE)
    return ServingSizing(
        peak_requests_per_second=rps,
        prompt_tokens_per_request=d.prompt_tokens_per_request,
        generated_tokens_per_request=d.generated_tokens_per_request,
        devices_per_replica=s.devices_per_replica, max_batch_size=s.batch_size, headroom=s.headroom,
        kv_cache_gb=s.kv_cache_gb if s.roofline is None else None,  # derived per design under a roofline
        max_time_per_output_token_ms=s.max_time_per_output_token_ms,
        usd_per_device_hour=_fleet_price(s),
        notes=tuple(notes),
        optimal=replica_capacity(scenario, optimal),
        chinchilla=replica_capacity(scenario, chinchilla),
        pricing=s.pricing, utilization_priced=float(serving_utilization_in_force(scenario)),
        average_requests_per_second=d.average_requests_per_second,
    )


def replica_capacity(scenario: "Scenario", design: "DesignPoint") -> ReplicaSizing:
    """The serving sizing of one design at the scenario's peak (see the module docstring)."""
    d, s = scenario.demand, scenario.serving
    rps, n = d.peak_requests_per_second, design.params
    assert rps is not None  # the load needs the peak rate (serving_sizing sizes only with one)
    prompt, generated = d.prompt_tokens_per_request, d.generated_tokens_per_request
    unsized = ReplicaSizing(
        params=n, peak_requests_per_second=rps,
        lifetime_usd_per_million_generated_tokens=(design.inference_cost_usd / d.lifetime_generated_tokens * 1e6
                                                   if d.lifetime_generated_tokens else None))
    warnings: list[str] = []
    if weight_bytes_per_param(s) is None or s.device.bandwidth_gb_per_s is None:
        missing = "bytes_per_param" if weight_bytes_per_param(s) is None else "hardware.bandwidth_gb_per_s"
        warnings.append(f"serving sizing needs {missing} for {s.device.name} / dtype {s.dtype}; set it")
        return dataclasses.replace(unsized, warnings=tuple(warnings))
    step = replica_step(scenario, n)
    weights = step.weight_bytes

    limits: dict[str, float] = {"batch_size": math.floor(s.batch_size)}
    fits: bool | None = None  # None: the device has no memory figure
    if s.device.memory_gb is not None:
        memory = s.replica_memory_gb * 1e9
        fits = weights <= memory
        if not fits:
            warnings.append(
                f"the {n / 1e9:,.1f}B-parameter model does not fit one replica: {weights / 1e9:,.1f} GB of "
                f"weights > {s.devices_per_replica:g} x {s.device.memory_gb:g} GB; raise devices_per_replica "
                "(or use a smaller dtype) to size its serving")
            return dataclasses.replace(unsized, fits_one_replica=fits, warnings=tuple(warnings))
        if step.kv_bytes_per_sequence > 0:
            limits["memory"] = _whole(step.batch_in_memory(memory))
    if s.max_time_per_output_token_ms is not None:
        limits["latency"] = _whole(step.batch_within(s.max_time_per_output_token_ms / 1000.0))
    limited_by = min(limits, key=lambda k: limits[k])
    batch = limits[limited_by]
    if batch < 1:
        what = ("the latency target" if limited_by == "latency" else "memory (weights leave no room for one "
                "sequence's KV cache)")
        warnings.append(f"even batch 1 exceeds {what}; sized at batch 1")
        batch = 1
    meets_latency = None  # None: no latency target
    if s.max_time_per_output_token_ms is not None:
        meets_latency = step.seconds(batch) * 1000.0 <= s.max_time_per_output_token_ms * (1 + 1e-12)
    t = step.seconds(batch)
    throughput = batch / t
    prefill = prefill_seconds(scenario, n, prompt)
    load = rps * (generated / throughput + prefill)  # busy replicas at the peak
    replicas = max(1, math.ceil(load * (1.0 + s.headroom) * (1 - 1e-12)))
    gpus = math.ceil(replicas * s.devices_per_replica * (1 - 1e-12))
    price = _fleet_price(s)
    average, hours = d.average_requests_per_second, d.horizon_hours
    return dataclasses.replace(
        unsized, fits_one_replica=fits, meets_latency=meets_latency,
        batch_size=int(batch), batch_limited_by=limited_by,
        bound=step.bound(batch),
        time_per_output_token_ms=t * 1000.0, tokens_per_second_per_replica=throughput,
        kv_cache_gb=batch * step.kv_bytes_per_sequence / 1e9,
        prefill_seconds_per_request=prefill, busy_replicas_at_peak=load, replicas=replicas, gpus=gpus,
        usd_per_million_generated_tokens=price * s.devices_per_replica / 3600.0 / throughput * 1e6,
        usd_per_million_generated_tokens_at_peak=(gpus * price / 3600.0 / (rps * generated) * 1e6
                                                  if generated else None),
        warnings=tuple(warnings),
        average_utilization=None if average is None else average * load / rps / replicas,
        fleet_cost_usd=None if hours is None else gpus * held_usd_per_device_hour(s) * hours,
    )


def serving_pricing(scenario: "Scenario", optimal: "DesignPoint") -> ServingPricing:
    """How serving is priced and the fleet the optimum's serving cost pays for (`tco.model.fleet`): busy
    devices = inference $ / (billed $ per busy device-hour x horizon hours), the priced fleet = busy /
    utilization in force, and with a peak the fleet sized at peak x (1 + headroom)."""
    s, d = scenario.serving, scenario.demand
    u, billed, held = (float(serving_utilization_in_force(scenario)), float(billed_usd_per_device_hour(scenario)),
                       float(held_usd_per_device_hour(s)))
    average, hours, peak = d.average_requests_per_second, d.horizon_hours, d.peak_requests_per_second
    busy = fleet = peak_fleet = peak_u = whole = whole_u = whole_cost = None
    if hours is not None:
        busy = optimal.inference_cost_usd / (billed * hours)
        fleet = busy / u
        if peak is not None and average:
            peak_u = average / (peak * (1.0 + s.headroom))
            peak_fleet = busy / peak_u
        sized = peak_fleet if peak_fleet is not None else fleet
        whole = max(1, math.ceil(sized * (1 - 1e-12)))
        whole_u, whole_cost = busy / whole, whole * held * hours
    priced = {"busy": "priced at 100% busy device-seconds",
              "utilization": f"priced at {u:.0%} average utilization (serving.average_utilization)",
              "provisioned": f"priced as the fleet provisioned for the peak, averaging {u:.0%}"}[s.pricing]
    if peak_u is not None and s.pricing != "provisioned":
        priced += f"; the fleet sized at the peak x (1 + headroom) averages {peak_u:.0%}"
    elif hours is None:
        priced += "; no demand horizon, so the fleet's average utilization is unknown"
    return ServingPricing(
        mode=s.pricing, description=PRICING_LABELS[s.pricing], utilization_in_force=u,
        held_usd_per_device_hour=held, billed_usd_per_device_hour=billed, average_requests_per_second=average,
        peak_requests_per_second=peak, headroom=s.headroom, horizon_hours=hours, busy_devices=busy,
        fleet_devices=fleet, peak_fleet_devices=peak_fleet, peak_fleet_average_utilization=peak_u,
        whole_gpu_fleet=whole, whole_gpu_fleet_average_utilization=whole_u, whole_gpu_fleet_cost_usd=whole_cost,
        summary=priced)


def _fleet_price(serving) -> float:
    """$ per device-hour of the sized fleet: the phase's price under busy pricing (as sizing always reported),
    the held price (every hour paid) when serving.pricing counts idle hours."""
    return serving.usd_per_hour if serving.pricing == "busy" else held_usd_per_device_hour(serving)


def _whole(x: float) -> int | float:
    """floor, forgiving rounding error: a design solved exactly onto a cap keeps the batch the cap was set for."""
    return math.floor(x * (1 + 1e-9)) if math.isfinite(x) else x


def decode_roofline(scenario: "Scenario", optimal: "DesignPoint",
                    chinchilla: "DesignPoint") -> DecodeRoofline | None:
    """With `serving.roofline:`: the inputs in force and, per design, what bounds decode and what a generated
    token costs (`tco.model.decode_roofline`); None without a roofline."""
    s = scenario.serving
    roof = s.roofline
    if roof is None:
        return None
    times = roofline_coefficients(scenario)
    arch, shape = roof.architecture, shape_rule(roof)  # the shape rule in force, if any

    def point(design: "DesignPoint") -> DecodeBound:
        n = design.params
        compute, memory = float(times.compute_seconds(n)), float(times.memory_seconds(n))
        overhead = float(times.overhead_seconds(n))
        seconds = max(compute, memory) + overhead
        layers = d_model = None  # derived only under a shape rule
        if shape is not None:
            layers = derived_layers(shape, n)
            d_model = shape.aspect_ratio * layers
        return DecodeBound(
            params=n, bound=("balanced" if abs(compute / memory - 1) < 1e-6 else
                             "compute" if compute > memory else "memory"),
            compute_seconds_per_token=compute, memory_seconds_per_token=memory,
            device_seconds_per_token=seconds,
            time_per_output_token_ms=seconds * s.batch_size / s.devices_per_replica * 1000.0,
            effective_decode_mfu=phase_flops_per_token(scenario, "decode", n) / (s.peak_flops * seconds),
            kv_bytes_per_token=kv_bytes_at(roof, n),
            usd_per_million_generated_tokens=billed_usd_per_device_hour(scenario) / 3600.0 * seconds * 1e6,
            derived_layers=layers, derived_d_model=d_model, overhead_seconds_per_token=overhead or None)

    return DecodeRoofline(
        compute_efficiency=decode_compute_efficiency(s),
        bandwidth_efficiency=roof.bandwidth_efficiency, batch_size=s.batch_size,
        context_tokens=decode_context_tokens(scenario), kv_bytes_per_value=roof.kv_bytes_per_value,
        bytes_per_param=weight_bytes_per_param(s), bandwidth_gb_per_s=s.device.bandwidth_gb_per_s,
        kv=(f"architecture: {arch.layers:g} layers x {arch.kv_heads:g} KV heads x "
            f"{arch.head_dim:g} head dim" if arch is not None else
            f"shape rule: d_model = {shape.aspect_ratio:g} x layers, KV heads = {shape.kv_head_fraction:g} "
            "x query heads, N = 12 layers d_model^2"),
        crossover_params=float(times.crossover_params()),
        optimal=point(optimal), chinchilla=point(chinchilla), memory_bound_above=bool(times.memory_above()),
        calibration=roof.calibration.model_dump() if roof.calibration is not None else None,
        devices_per_replica=s.devices_per_replica,
    )


def time_value(scenario: "Scenario") -> TimeValue | None:
    """With a demand horizon: nominal lifetime requests and tokens next to their present values."""
    d = scenario.demand
    if d.requests_per_year is None:
        return None
    assert d.years is not None  # a horizon has both (the schema checks)
    return TimeValue(
        requests_per_year=d.requests_per_year, years=d.years, growth_per_year=d.growth_per_year,
        discount_rate=d.discount_rate, convention="mid-year: year y discounted by (1+r)^-(y+0.5)",
        nominal_requests=d.nominal_requests, pv_requests=d.pv_requests,
        nominal_prompt_tokens=d.nominal_prompt_tokens, pv_prompt_tokens=d.lifetime_prompt_tokens,
        nominal_generated_tokens=d.nominal_generated_tokens, pv_generated_tokens=d.lifetime_generated_tokens,
    )


def ownership_inputs(scenario: "Scenario", phase_name: str) -> OwnershipInputs | None:
    """A phase's `ownership:` inputs in force (power_kw resolved from the device), for `Result.inputs`."""
    phase = getattr(scenario, phase_name)
    if phase.ownership is None:
        return None
    power_kw = owned_cost_breakdown(phase.ownership, phase.device)["power_kw"]
    return OwnershipInputs(**{**phase.ownership.model_dump(), "power_kw": power_kw})


def serving_fit_inputs(scenario: "Scenario") -> ServingFitInputs | None:
    """With serving.memory_fit or a latency target: the replica-fit inputs in force, for `Result.inputs`."""
    s = scenario.serving
    if not (s.memory_fit or s.max_time_per_output_token_ms is not None):
        return None
    return ServingFitInputs(
        devices_per_replica=s.devices_per_replica, bytes_per_param=weight_bytes_per_param(s),
        kv_cache_gb=s.kv_cache_gb, memory_fit=s.memory_fit,
        max_time_per_output_token_ms=s.max_time_per_output_token_ms)
