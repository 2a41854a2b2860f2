"""Scenario sections for real serving and ownership costs (issue 7): owned hardware, memory fit and latency,
and a deployment horizon with growth and discounting.

Every formula here is plain arithmetic on attributes, so it also evaluates against a `tco.studies.arrays.ScenarioView`
whose fields are numpy arrays (sweeps, sensitivity, Monte Carlo).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field

from ..errors import FieldError
from ..hardware import DTYPE_BYTES
from .fields import Count, Positive, Requests, Utilization, StrictModel, number, non_negative, rule, within

__all__ = ["Ownership", "ServingFit", "DemandHorizon", "owned_usd_per_hour", "owned_cost_breakdown",
           "check_ownership", "check_serving_fit", "check_horizon", "HOURS_PER_YEAR",
           "default_memory_fit", "default_fit_hint"]

HOURS_PER_YEAR = 8760.0
MAX_HORIZON_YEARS = 100.0

_growth = rule(lambda v: v > -1, "must be above -1 (-0.2 = demand shrinks 20% a year)")
_pue = rule(lambda v: v >= 1, "must be at least 1 (facility power / IT power)")
_batch = rule(lambda v: v >= 1, "must be at least 1 sequence")
_years = rule(lambda v: 0 < v <= MAX_HORIZON_YEARS, f"must be in (0, {MAX_HORIZON_YEARS:g}] years")

NonNegative = Annotated[float, BeforeValidator(number), AfterValidator(non_negative)]
#: Plausible ranges (README, "Ranges of the numeric fields"), each with its reason.
CapexUsd = Annotated[Positive, within(1, 1e8, "per device; a whole wafer-scale system costs a few million", "$")]
LifetimeYears = Annotated[Positive, within(0.1, 30, "accelerators are depreciated over 3-6 years", "years")]
PowerKw = Annotated[Positive, within(1e-3, 1e3, "per device; a wafer-scale system draws 23 kW", "kW")]
UsdPerKwh = Annotated[Positive, within(1e-3, 10, "retail electricity costs $0.03-0.40 per kWh", "$/kWh")]
OpexUsdPerYear = Annotated[NonNegative, within(0, 1e8, "per device, as much as a costly device's price", "$")]
DevicesPerReplica = Annotated[Positive, within(0.01, 1e5, "a slice of a device to 100,000 devices per replica")]
BytesPerParam = Annotated[Positive, within(0.05, 16, "2-bit weights to fp64 with room to spare", "bytes")]
KvCacheGb = Annotated[NonNegative, within(0, 1e7, "a replica of 100,000 devices of 100 GB", "GB")]
LatencyMs = Annotated[Positive, within(1e-3, 1e6, "a microsecond to 1,000 seconds per output token", "ms")]
FirstTokenMs = Annotated[Positive, within(1e-3, 1e7, "a microsecond to almost three hours to the first token",
                                          "ms")]
Headroom = Annotated[NonNegative, within(0, 10, "10 provisions 11x the peak load")]
PeakRps = Annotated[Count, within(1e-6, 1e9, "10,000x the busiest web services' ~1e5 requests/s",
                                     "requests/s")]
Growth = Annotated[float, BeforeValidator(number), AfterValidator(_growth),
                   within(-0.99, 10, "-0.99 loses 99% a year, 10 grows 11x a year")]
Discount = Annotated[NonNegative, within(0, 1, "a cost of capital above 100% a year is not a plan")]
PueRatio = Annotated[float, BeforeValidator(number), AfterValidator(_pue),
                     within(1, 5, "the worst surveyed facilities are near 2.5")]
Batch = Annotated[float, BeforeValidator(number), AfterValidator(_batch),
                  within(1, 1e6, "sequences; serving engines batch hundreds")]
Years = Annotated[float, BeforeValidator(number), AfterValidator(_years),
                  within(1e-3, MAX_HORIZON_YEARS, "a deployment horizon", "years")]
#: The horizon's undiscounted requests share the bound of lifetime requests.
MAX_REQUESTS = 1e18


# --- owned hardware -------------------------------------------------------------------------------------
class Ownership(StrictModel):
    """Owned devices instead of rented ones: the phase's $/device-hour becomes

        capex_usd / (lifetime_years * 8760 * utilization) + power_kw * pue * usd_per_kwh
        + other_opex_usd_per_year / (8760 * utilization)

    (primer section 4): capital and fixed opex are spread over the hours the device does useful work."""

    capex_usd: CapexUsd = Field(description="purchase price per device, including its share of the server")
    lifetime_years: LifetimeYears = Field(
        default=4.0, description="straight-line depreciation life. Default 4: a common accounting life for "
        "accelerator servers (shorter than the 5-6 years hyperscalers state for general servers in their 10-K "
        "filings, because accelerators are superseded faster)")
    utilization: Utilization = Field(
        default=0.8, description="share of the lifetime's hours the device does paid work. Default 0.8: an "
        "assumption; owned fleets lose time to maintenance, failures and scheduling gaps, whereas rented hours "
        "are paid only while used")
    power_kw: PowerKw | None = Field(
        default=None, description="power drawn per device in kW. Default: the device's TDP / 1000 (excludes "
        "its share of host, network and cooling fans; set it to e.g. a DGX H100's 10.2 kW / 8 = 1.275)")
    pue: PueRatio = Field(
        default=1.2, description="power usage effectiveness of the facility. Default 1.2: a modern "
        "AI facility (Uptime Institute 2023 survey average over all data centers 1.58; Google's fleet "
        "1.10 in its 2024 environmental report)")
    usd_per_kwh: UsdPerKwh = Field(
        default=0.08, description="electricity price. Default $0.08/kWh: US industrial average retail "
        "price 2023, EIA Electric Power Monthly table 5.6.A (about 8 cents)")
    other_opex_usd_per_year: OpexUsdPerYear = Field(
        default=0.0, description="per device: space, network, staff, support contracts. Default 0")


def owned_cost_breakdown(own, device, utilization=None) -> dict:
    """$ per device-hour of owning, by component (capex, power, other opex) and in total. `utilization` (default
    the ownership's) is the share of the hours the capex and fixed opex are spread over: 1 prices a device held
    for every hour of its life (serving.pricing utilization or provisioned, whose utilization counts the idle
    hours itself)."""
    power_kw = own.power_kw if own.power_kw is not None else device.tdp_w / 1000.0
    hours_used = HOURS_PER_YEAR * (own.utilization if utilization is None else utilization)
    parts = {
        "capex_usd_per_hour": own.capex_usd / (own.lifetime_years * hours_used),
        "power_usd_per_hour": power_kw * own.pue * own.usd_per_kwh,
        "other_opex_usd_per_hour": own.other_opex_usd_per_year / hours_used,
    }
    parts["usd_per_hour"] = sum(parts.values())
    parts["power_kw"] = power_kw
    return parts


def owned_usd_per_hour(own, device):
    """The effective $ per device-hour of owned hardware (see `Ownership`)."""
    return owned_cost_breakdown(own, device)["usd_per_hour"]


def check_ownership(phase, device) -> None:
    """Ownership replaces renting: it excludes price_usd_per_hour and needs a power figure."""
    own = phase.ownership
    if own is None:
        return
    if phase.price_usd_per_hour is not None:
        raise FieldError(("ownership",), f"give either price_usd_per_hour (renting, here "
                         f"{phase.price_usd_per_hour:g} $/h) or ownership (owning), not both")
    if own.power_kw is None and device.tdp_w is None:
        raise FieldError(("ownership", "power_kw"), f"{device.name} has no TDP in the catalog to default "
                         "the power from; set ownership.power_kw")


# --- memory fit and latency -----------------------------------------------------------------------------
class ServingFit(StrictModel):
    """How one serving replica holds the model, and an optional decode latency target (primer section 4)."""

    devices_per_replica: DevicesPerReplica = Field(default=1.0, description="devices one model replica spans")
    bytes_per_param: BytesPerParam | None = Field(
        default=None, description="weight bytes per parameter. Default from the serving dtype (weights stored "
        "in the serving dtype): bf16/fp16 2, fp8/int8 1, fp4/int4 0.5, fp32 4")
    kv_cache_gb: KvCacheGb = Field(
        default=0.0, description="KV cache per replica in GB. Default 0: set it for your batch x context "
        "(2 x layers x kv_heads x head_dim x bytes x tokens in flight)")
    memory_fit: bool = Field(
        default=False, description="cap N so weights + KV fit in devices_per_replica x memory_gb. Default: true "
        "when a batch implies a KV cache (serving.roofline derives it from batch_size x prompt + generated "
        "tokens; or kv_cache_gb > 0 is stated) and the device has a memory_gb, since a batch that does not fit "
        "cannot be served at the price the model charges (issue 13); else false. memory_fit: false opts out")
    pricing: Literal["busy", "utilization", "provisioned"] = Field(
        default="busy", description="what serving costs. busy: the busy device-seconds the tokens need (a "
        "perfectly used fleet, as in Sardana et al. 2024). utilization: those seconds over "
        "average_utilization (the paid device-hours that do useful serving). provisioned: the fleet sized at "
        "demand.peak_requests_per_second x (1 + headroom), paid for every hour of the demand horizon "
        "(requests_per_year, years), i.e. busy seconds over average rate / (peak x (1 + headroom)). Default "
        "busy: today's pricing, so nothing moves unless asked")
    average_utilization: Utilization = Field(
        default=1.0, description="with pricing: utilization, the share of paid serving device-hours that do "
        "useful work; serving $ = busy $ / average_utilization. Default 1 (busy pricing); an owned fleet "
        "sized for a peak with 30% headroom averaged about 19% in issue 13's 70B case")
    max_time_per_output_token_ms: LatencyMs | None = Field(
        default=None, description="decode latency target: each output token reads all weights and the KV "
        "cache once from HBM (memory-bound at small batch)")
    max_time_to_first_token_ms: FirstTokenMs | None = Field(
        default=None, description="time-to-first-token target: one prompt of prompt_tokens_per_request on an idle "
        "replica (prefill FLOPs, at least one read of the weights, and with serving.roofline the calibration's "
        "overhead and all-reduces; `tco.model.serving_step.first_token`) caps N")
    batch_size: Batch = Field(
        default=32.0, description="sequences one replica decodes together: the decode batch that "
        "serving.roofline prices, and the most deployment sizing allows (`tco.results.deployment.serving_sizing`; its "
        "whole part); kv_cache_gb is the KV cache of this full batch. "
        "Default 32: a user assumption (a moderate continuous-batching batch); the latency target and memory "
        "can lower it")
    headroom: Headroom = Field(
        default=0.3, description="spare capacity provisioned above the peak load for deployment sizing "
        "(replicas = ceil(load x (1 + headroom))) and, with pricing: provisioned, for the fleet serving pays "
        "for. Default 0.3: a common planning margin, a user assumption "
        "(absorbs bursts above the stated peak and queueing)")

    @property
    def replica_memory_gb(self):
        """Memory of one replica as stated: devices_per_replica x the device's memory_gb."""
        return self.devices_per_replica * self.device.memory_gb

    @property
    def replica_bandwidth_gb_per_s(self):
        """HBM bandwidth of one replica as stated: devices_per_replica x the device's bandwidth_gb_per_s."""
        return self.devices_per_replica * self.device.bandwidth_gb_per_s


def check_serving_fit(serving) -> None:
    """Load-time errors for memory fit and latency that name the binding numbers. They compare stated numbers
    only (the stated KV cache against a replica's memory, and against what its bandwidth reads in the target
    time): no model fits when those leave no room for weights. The physics of a design (its weight and KV bytes:
    `tco.model.serving`; the largest N that fits: `tco.model.replica`) is the model's; the roofline's KV that
    cannot fit is checked by `tco.model.checks`."""
    device = serving.device
    if serving.pricing != "utilization" and serving.average_utilization != 1.0:  # by value: dumps state defaults
        how = ("derives the utilization from the peak and the horizon; drop average_utilization"
               if serving.pricing == "provisioned" else "set serving.pricing: utilization to price idle hours")
        raise FieldError(("average_utilization",), f"average_utilization {serving.average_utilization:g} applies "
                         f"only with pricing: utilization, and pricing is {serving.pricing}: {how}")
    if serving.bytes_per_param is None and serving.dtype.lower() not in DTYPE_BYTES:
        if serving.memory_fit or serving.max_time_per_output_token_ms is not None or serving.roofline is not None:
            raise FieldError(("bytes_per_param",), f"no default for dtype {serving.dtype!r}; set bytes_per_param")
    if serving.memory_fit:
        if device.memory_gb is None:
            raise FieldError(("memory_fit",), f"{device.name} has no memory_gb; set hardware.memory_gb")
        if serving.replica_memory_gb <= serving.kv_cache_gb:
            raise FieldError(
                ("kv_cache_gb",),
                f"the model cannot fit any replica: devices_per_replica {serving.devices_per_replica:g} x "
                f"memory_gb {device.memory_gb:g} = {serving.replica_memory_gb:g} GB leaves no room for weights "
                f"after kv_cache_gb {serving.kv_cache_gb:g} GB (add devices_per_replica or shrink the KV cache"
                f"{default_fit_hint(serving)})")
    if serving.max_time_per_output_token_ms is not None:
        if device.bandwidth_gb_per_s is None:
            raise FieldError(("max_time_per_output_token_ms",),
                             f"{device.name} has no bandwidth_gb_per_s; set hardware.bandwidth_gb_per_s")
        ms = serving.max_time_per_output_token_ms
        if ms / 1000.0 * serving.replica_bandwidth_gb_per_s <= serving.kv_cache_gb:
            raise FieldError(
                ("max_time_per_output_token_ms",),
                f"{ms:g} ms per token at {serving.replica_bandwidth_gb_per_s:g} GB/s per replica reads only "
                f"{ms / 1000 * serving.replica_bandwidth_gb_per_s:g} GB, not even the kv_cache_gb "
                f"{serving.kv_cache_gb:g} GB; no model meets it")


def default_fit_hint(serving) -> str:
    """The opt-out, named in memory-fit errors when memory_fit is on by default (not stated)."""
    stated = "memory_fit" in serving.model_fields_set
    return "" if stated else "; memory fit is on by default, memory_fit: false opts out"


def default_memory_fit(serving) -> bool:
    """memory_fit in force when the scenario does not state it: true when a batch implies a KV cache (a
    roofline derives it; or kv_cache_gb > 0) and the device has a memory figure to fit it in."""
    implied = getattr(serving, "roofline", None) is not None or serving.kv_cache_gb > 0
    return implied and serving.device.memory_gb is not None


# --- time value -----------------------------------------------------------------------------------------
class DemandHorizon(StrictModel):
    """Demand as a yearly rate over a deployment horizon. Year y (y = 0, 1, ...) serves
    requests_per_year x (1 + growth_per_year)^y requests (a fractional final year serves its fraction), and
    its tokens are discounted to training time (time zero) at (1 + discount_rate)^-(y + 0.5): mid-year
    convention, the year's traffic arrives on average half-way through it. Mixed into `Demand`, whose
    lifetime forms (requests, prompt_tokens/generated_tokens) the nominal counts also cover."""

    requests_per_year: Requests | None = Field(default=None, description="requests in the first year")
    years: Years | None = Field(default=None, description="deployment horizon")
    growth_per_year: Growth = Field(
        default=0.0, description="yearly demand growth (0.5 = +50% a year). Default 0")
    discount_rate: Discount = Field(
        default=0.0, description="yearly discount rate (cost of capital) for future serving spend. Default 0")
    if TYPE_CHECKING:  # fields of `Demand`, which mixes this in and which the nominal counts read
        prompt_tokens_per_request: float
        generated_tokens_per_request: float
        prompt_tokens: float | None
        generated_tokens: float | None
    peak_requests_per_second: PeakRps | None = Field(
        default=None, description="peak request rate to provision serving for (deployment sizing, "
        "`tco.results.deployment.serving_sizing`); does not change the lifetime demand that prices inference, "
        "but with serving.pricing: provisioned it sizes the fleet that serving pays for")

    @property
    def nominal_requests(self):
        """Requests served over the horizon, undiscounted."""
        return _horizon_sum(self.requests_per_year, self.years, self.growth_per_year, 0.0)

    @property
    def pv_requests(self):
        """Present value (at training time) of the horizon's requests: what inference is priced on."""
        return _horizon_sum(self.requests_per_year, self.years, self.growth_per_year, self.discount_rate)

    @property
    def horizon_hours(self):
        """Hours of the horizon discounted like its requests (mid-year): years x 8760 without discounting. None
        without a horizon (lifetime requests or tokens have no duration)."""
        if self.requests_per_year is None:
            return None
        return HOURS_PER_YEAR * _horizon_sum(1.0, self.years, 0.0, self.discount_rate)

    @property
    def average_requests_per_second(self):
        """The horizon's average request rate: present-value requests over the equally discounted seconds
        (nominal requests / (years x 8760 x 3600) without discounting). None without a horizon."""
        hours = self.horizon_hours
        return None if hours is None else self.pv_requests / (hours * 3600.0)

    @property
    def peak_to_average(self):
        """peak_requests_per_second / average_requests_per_second: the traffic's shape (None without both, or
        without requests)."""
        average = self.average_requests_per_second
        if average is None or self.peak_requests_per_second is None or not np.all(np.asarray(average) > 0):
            return None
        return self.peak_requests_per_second / average

    @property
    def nominal_prompt_tokens(self) -> float:
        """Prompt tokens actually served over the lifetime, undiscounted."""
        return _nominal(self, self.prompt_tokens_per_request, self.prompt_tokens)

    @property
    def nominal_generated_tokens(self) -> float:
        """Generated tokens actually served over the lifetime, undiscounted."""
        return _nominal(self, self.generated_tokens_per_request, self.generated_tokens)


def _nominal(demand, per_request, total):
    """A module function, not a method: a ScenarioView resolves only properties against its overrides."""
    if demand.requests_per_year is not None:
        return demand.nominal_requests * per_request
    if demand.requests is not None:
        return demand.requests * per_request
    return total if total is not None else 0.0


def _horizon_sum(first_year, years, growth, discount):
    """sum_y frac_y r0 (1+g)^y (1+d)^-(y + frac_y/2), frac_y = clip(years - y, 0, 1); array-safe."""
    total = 0.0
    for y in range(int(np.ceil(np.max(years)))):
        frac = np.clip(np.asarray(years, dtype=float) - y, 0.0, 1.0)
        total = total + frac * first_year * (1.0 + growth) ** y * (1.0 + discount) ** -(y + frac / 2.0)
    return total if np.ndim(total) else float(total)


def check_horizon(demand) -> None:
    """requests_per_year needs years; the horizon fields only go with requests_per_year."""
    if demand.requests_per_year is None:
        # by value, not by "was it given": a model_dump() round trip passes the defaults explicitly
        extra = [k for k, default in (("years", None), ("growth_per_year", 0.0), ("discount_rate", 0.0))
                 if getattr(demand, k) != default]
        if extra:
            raise FieldError((extra[0],), f"{extra[0]} describes a horizon and needs requests_per_year "
                             "(first-year requests)")
        return
    if demand.years is None:
        raise FieldError(("years",), "requests_per_year needs years (the deployment horizon)")
    total = demand.nominal_requests
    if not total <= MAX_REQUESTS:
        raise FieldError(("growth_per_year",), f"the horizon serves {total:.3g} requests ({demand.requests_per_year:g} "
                         f"a year growing {demand.growth_per_year:g} a year for {demand.years:g} years), above "
                         f"{MAX_REQUESTS:g} (10,000 a day from every person alive for 30 years is 9e17)")
    if demand.requests is not None or demand.prompt_tokens is not None or demand.generated_tokens is not None:
        raise ValueError("give one of requests (lifetime), requests_per_year (with years) or lifetime "
                         "prompt_tokens/generated_tokens, not several")
