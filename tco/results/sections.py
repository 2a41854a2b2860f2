"""Typed sections of a `Result`: the inputs in force, own vs rent, deployment sizing, the demand's time value,
repeated data and the decode roofline.

Each section is a frozen dataclass whose field names are its JSON keys (units in the names), in JSON order; its
`to_dict()` is that section of `Result.to_dict()`. A field marked `omitted when None` leaves its key out of the
JSON when it does not apply (the rest keep their key, null when unknown or not finite). The values are computed in
`tco.results.deployment`, `tco.repeated` and `tco.optimize.resolved_inputs`; this module only holds them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "Section", "OwnershipPhase", "Ownership", "TrainingSizing", "ReplicaSizing", "ServingSizing",
    "DeploymentSizing", "ServingPricing", "TimeValue", "DataLimits", "DecodeBound", "DecodeRoofline", "TrainingInputs",
    "ServingInputs", "DemandInputs", "DataInputs", "OwnershipInputs", "ServingFitInputs", "Inputs", "plain",
    "optional_field",
]

#: field metadata: the key is left out of the JSON when the value is None (it does not apply)
_OMIT = {"omit_when_none": True}


def _optional(**kwargs: Any) -> Any:
    """A field that defaults to None and whose key is omitted from the JSON when None."""
    return field(default=None, metadata=_OMIT, **kwargs)


#: The public name of `_optional`, for sections defined in other modules of tco.results.
optional_field = _optional


def plain(value: Any) -> Any:
    """A section (or anything holding sections) as JSON-ready builtins: dicts in field order, lists for tuples,
    and None for non-finite floats (JSON has no NaN/Infinity and strict parsers reject them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(v) for f in fields(value)
                if not ((v := getattr(value, f.name)) is None and f.metadata.get("omit_when_none"))}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Section:
    """Base of the result sections: `to_dict()` gives the section's JSON (see `plain`)."""

    def to_dict(self) -> dict[str, Any]:
        out = plain(self)
        assert isinstance(out, dict)
        return out


# --- own vs rent ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OwnershipPhase(Section):
    """One phase with `ownership:`: owned $/device-hour by component, the rented price, and the optimum's total
    cost under each (the design held fixed; only the phase's price changes)."""

    owned_usd_per_hour: float
    capex_usd_per_hour: float
    power_usd_per_hour: float
    other_opex_usd_per_hour: float
    power_kw: float
    rented_usd_per_hour: float | None  # None: the device has no rental price to compare with
    rented_price_source: str | None
    owned_total_cost_usd: float
    rented_total_cost_usd: float | None = _optional()
    owning_saves_usd: float | None = _optional()
    cheaper: str | None = _optional()  # "own" or "rent"


@dataclass(frozen=True)
class Ownership(Section):
    """Own vs rent per phase that has `ownership:` (`None` for a phase that rents)."""

    training: OwnershipPhase | None = _optional()
    serving: OwnershipPhase | None = _optional()

    def phases(self) -> Iterator[tuple[str, OwnershipPhase]]:
        """(phase name, comparison) for each phase that owns, training first."""
        for name in ("training", "serving"):
            phase = getattr(self, name)
            if phase is not None:
                yield name, phase


# --- deployment sizing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingSizing(Section):
    """With a training deadline: the GPUs that finish each design in the deadline's days, and the days it takes
    on the deadline's GPUs."""

    deadline_gpus: float
    deadline_days: float
    gpus_needed: float
    days_needed: float
    chinchilla_gpus_needed: float
    chinchilla_days_needed: float


@dataclass(frozen=True)
class ReplicaSizing(Section):
    """The serving fleet of one design at the peak request rate (`tco.results.deployment.replica_capacity`).
    Fields after
    `params` and `peak_requests_per_second` are None where the design could not be sized (see `warnings`)."""

    params: float
    peak_requests_per_second: float
    fits_one_replica: bool | None = None  # None: the device has no memory figure
    meets_latency: bool | None = None  # None: no latency target
    batch_size: int | None = None
    batch_limited_by: str | None = None  # "batch_size", "memory" or "latency"
    bound: str | None = None  # "compute" or "memory"
    time_per_output_token_ms: float | None = None
    tokens_per_second_per_replica: float | None = None
    prefill_seconds_per_request: float | None = None
    replicas: int | None = None
    gpus: int | None = None
    usd_per_million_generated_tokens: float | None = None
    kv_cache_gb: float | None = None
    usd_per_million_generated_tokens_at_peak: float | None = None
    lifetime_usd_per_million_generated_tokens: float | None = None
    warnings: tuple[str, ...] = ()
    busy_replicas_at_peak: float | None = _optional()
    #: with a demand horizon: busy replica-seconds at the horizon's average rate / replicas (omitted without one)
    average_utilization: float | None = _optional()
    #: with a demand horizon: the GPUs x the horizon's hours (discounted like its requests) x the held price
    fleet_cost_usd: float | None = _optional()


@dataclass(frozen=True)
class ServingSizing(Section):
    """With demand.peak_requests_per_second: the sizing inputs in force and the fleet of each design."""

    peak_requests_per_second: float
    prompt_tokens_per_request: float
    generated_tokens_per_request: float
    devices_per_replica: float
    max_batch_size: float
    headroom: float
    kv_cache_gb: float | None  # None under a serving roofline: derived per design
    max_time_per_output_token_ms: float | None
    usd_per_device_hour: float
    notes: tuple[str, ...]
    optimal: ReplicaSizing
    chinchilla: ReplicaSizing
    pricing: str = "busy"  # serving.pricing in force (tco.model.fleet)
    utilization_priced: float = 1.0  # the utilization the serving cost assumes
    average_requests_per_second: float | None = _optional()  # with a demand horizon


@dataclass(frozen=True)
class DeploymentSizing(Section):
    """`Result.sizing`: the training cluster (with a deadline) and the serving fleet (with a peak request rate)."""

    training: TrainingSizing | None = _optional()
    serving: ServingSizing | None = _optional()


# --- what the serving fleet costs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ServingPricing(Section):
    """`Result.serving_pricing`: how serving is priced (`serving.pricing`, `tco.model.fleet`) and the fleet the
    optimum's serving cost pays for. Device counts are real numbers (the GP prices a continuous fleet); the
    whole-GPU fleet rounds the peak fleet (else the priced one) up and is reported, not optimized."""

    mode: str  # "busy", "utilization" or "provisioned"
    description: str
    utilization_in_force: float
    held_usd_per_device_hour: float  # a device paid for every hour (owned: capex over every hour)
    billed_usd_per_device_hour: float  # per busy device-hour: what prefill and decode are priced at
    average_requests_per_second: float | None  # None without a demand horizon
    peak_requests_per_second: float | None
    headroom: float
    horizon_hours: float | None  # discounted like the requests (mid-year); None without a horizon
    busy_devices: float | None  # the optimum's busy device-hours / horizon hours
    fleet_devices: float | None  # devices the priced serving cost pays for every hour: busy / utilization
    peak_fleet_devices: float | None  # busy x peak x (1 + headroom) / average rate (with a peak and a horizon)
    peak_fleet_average_utilization: float | None  # average rate / (peak x (1 + headroom))
    whole_gpu_fleet: int | None  # ceil(peak fleet, else priced fleet)
    whole_gpu_fleet_average_utilization: float | None
    whole_gpu_fleet_cost_usd: float | None  # whole GPUs x held price x horizon hours
    summary: str


# --- demand horizon ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeValue(Section):
    """With a demand horizon: nominal lifetime requests and tokens next to their present values."""

    requests_per_year: float
    years: float
    growth_per_year: float
    discount_rate: float
    convention: str
    nominal_requests: float
    pv_requests: float
    nominal_prompt_tokens: float
    pv_prompt_tokens: float
    nominal_generated_tokens: float
    pv_generated_tokens: float


# --- repeated data -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataLimits(Section):
    """With `data: {max_unique_tokens}` and repetition: the unique tokens U, each design's epochs D/U and its
    effective data D' (Muennighoff et al. 2023)."""

    unique_tokens: float
    repetition: str
    r_star_d: float
    max_effective_tokens: float
    epochs: float
    effective_tokens: float
    chinchilla_epochs: float
    chinchilla_effective_tokens: float
    #: the parameter half (eq. 6, `data.excess_parameters`): "muennighoff2023" or "none"; with it the base size
    #: U_N = N_opt(U), R*_N, and each design's effective parameters N' (None without it)
    excess_parameters: str = "none"
    base_params: float | None = None
    r_star_n: float | None = None
    effective_params: float | None = None
    chinchilla_effective_params: float | None = None


# --- decode roofline -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecodeBound(Section):
    """What bounds decode at one design under the serving roofline, and what a generated token costs."""

    params: float
    bound: str  # "compute", "memory" or "balanced"
    compute_seconds_per_token: float
    memory_seconds_per_token: float
    device_seconds_per_token: float
    time_per_output_token_ms: float
    effective_decode_mfu: float
    kv_bytes_per_token: float
    usd_per_million_generated_tokens: float
    derived_layers: float | None = _optional()  # with a shape rule (no explicit architecture)
    derived_d_model: float | None = _optional()
    #: per-step overhead and all-reduce time outside the max (serving.roofline.calibration), in device_seconds
    overhead_seconds_per_token: float | None = _optional()


@dataclass(frozen=True)
class DecodeRoofline(Section):
    """With `serving.roofline:`: the roofline inputs in force and each design's decode bound."""

    compute_efficiency: float
    bandwidth_efficiency: float
    batch_size: float
    context_tokens: float
    kv_bytes_per_value: float
    bytes_per_param: float
    bandwidth_gb_per_s: float | None
    kv: str  # the KV-cache model in force, in words
    crossover_params: float  # inf: memory bound at every size; 0: compute bound at every size
    optimal: DecodeBound
    chinchilla: DecodeBound
    #: the serving step model in force (serving.roofline.calibration's fields); omitted for the pure roofline
    calibration: dict[str, float] | None = _optional()
    devices_per_replica: float | None = _optional()
    #: True when attention FLOPs outrun the KV reads and weight reads outrun the weights' FLOPs: compute bound
    #: below the crossover and memory bound above it (`RooflineCoefficients.crossover_params`)
    memory_bound_above: bool = False


# --- inputs in force -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingInputs(Section):
    """The training hardware and price in force."""

    hardware: str
    dtype: str
    peak_flops: float
    mfu: float
    price_usd_per_hour: float
    price_source: str
    source: str
    goodput: float = 1.0  # useful share of billed hours: GPU-hours = FLOPs / (peak x mfu x goodput x 3600)
    sequence_length: float = 8192.0  # tokens per training sequence (attention FLOPs at half of it)
    attention_flops: bool = True  # attention FLOPs counted in training, prefill and decode


@dataclass(frozen=True)
class ServingInputs(Section):
    """The serving hardware, efficiencies and price in force."""

    hardware: str
    dtype: str
    peak_flops: float
    prefill_mfu: float
    decode_mfu: float | None  # None under a serving roofline
    decode_model: str  # "roofline" or "decode_mfu"
    price_usd_per_hour: float
    price_source: str
    source: str


@dataclass(frozen=True)
class DemandInputs(Section):
    """The demand in force: per-request sizes (None when demand is given as lifetime tokens), the lifetime tokens
    the costs use (present values under a horizon) and the nominal ones."""

    requests: float | None
    prompt_tokens_per_request: float | None
    generated_tokens_per_request: float | None
    lifetime_prompt_tokens: float
    lifetime_generated_tokens: float
    requests_per_year: float | None
    years: float | None
    growth_per_year: float
    discount_rate: float
    nominal_lifetime_prompt_tokens: float
    nominal_lifetime_generated_tokens: float
    #: samples per request and hidden reasoning tokens per sample (tco.scenario.reasoning); None without requests
    samples_per_request: float | None = None
    reasoning_tokens_per_request: float | None = None


@dataclass(frozen=True)
class DataInputs(Section):
    """Training-data price and, with capped unique data, the cap and the repetition model."""

    cost_usd_per_token: float
    max_unique_tokens: float | None = _optional()
    repetition: str | None = _optional()


@dataclass(frozen=True)
class OwnershipInputs(Section):
    """A phase's `ownership:` inputs in force (power_kw resolved from the device's TDP when not given)."""

    capex_usd: float
    lifetime_years: float
    utilization: float
    power_kw: float
    pue: float
    usd_per_kwh: float
    other_opex_usd_per_year: float


@dataclass(frozen=True)
class ServingFitInputs(Section):
    """With serving.memory_fit or a latency target: the replica-fit inputs in force."""

    devices_per_replica: float
    bytes_per_param: float | None
    kv_cache_gb: float
    memory_fit: bool
    max_time_per_output_token_ms: float | None


@dataclass(frozen=True)
class Inputs(Section):
    """The inputs in force after defaults and catalog look-ups: what every export records.

    `law` is the law's own `to_dict()` (its constants depend on its form) and `constraints` maps each cap's short
    name to its limit in the cap's N^i D^j unit (caps vary by scenario): both stay mappings."""

    law: dict[str, Any]
    target_loss: float
    objective: str
    training: TrainingInputs
    serving: ServingInputs
    demand: DemandInputs
    constraints: dict[str, float]
    data: DataInputs
    training_ownership: OwnershipInputs | None = _optional()
    serving_ownership: OwnershipInputs | None = _optional()
    serving_fit: ServingFitInputs | None = _optional()
