"""What the serving fleet costs (`serving.pricing`): the one place the $ per busy serving device-hour that
prefill and decode price their device-seconds at is decided (`tco.results.deployment.serving_pricing` reports the
fleet that price pays for).

    busy:         billed = the phase's price (renting, or owning at ownership.utilization): perfectly busy
                  device-seconds, as in Sardana et al. 2024
    utilization:  billed = held / average_utilization
    provisioned:  billed = held / u,  u = average request rate / (peak_requests_per_second x (1 + headroom))

The held price pays a device for every hour, busy or idle: the rented price, or owning with capex and fixed opex
spread over every hour of its life (the serving utilization counts the idle hours in place of
ownership.utilization; power is charged every hour, an upper bound since idle devices draw less). Under
provisioned pricing busy device-seconds x billed = the fleet sized at peak x (1 + headroom) x busy device-seconds
per request, paid for every hour of the demand horizon at the held price. u is a constant of the scenario, so the
problem stays a geometric program (the whole-GPU rounding of that fleet is reported, not optimized).

The average rate is the horizon's present-value requests over its equally discounted seconds (mid-year
convention; `DemandHorizon.average_requests_per_second` and `horizon_hours` in `tco.scenario.extras`): nominal
requests / (years x 8760 x 3600) without discounting, and what makes the present value of the fleet's hours equal
u^-1 x the present value of the busy seconds.

Every function is attribute arithmetic, so it also evaluates on a `tco.studies.arrays.ScenarioView` of arrays.
"""

from __future__ import annotations

import numpy as np

from ..scenario.extras import HOURS_PER_YEAR, owned_cost_breakdown
from ..units import SECONDS_PER_HOUR

__all__ = ["held_usd_per_device_hour", "busiest_requests_per_second", "serving_utilization_in_force",
           "billed_usd_per_device_hour", "PRICING_LABELS"]

#: How each pricing mode reads in reports.
PRICING_LABELS = {
    "busy": "busy device-seconds (a perfectly used fleet)",
    "utilization": "busy device-seconds over the stated average utilization",
    "provisioned": "the fleet provisioned for the peak x (1 + headroom), paid for every hour of the horizon",
}


def held_usd_per_device_hour(serving):
    """$ per device-hour of a serving device paid for every hour, busy or idle: the rented price, or owning
    at utilization 1 (`owned_cost_breakdown`)."""
    if serving.ownership is None:
        return serving.usd_per_hour
    return owned_cost_breakdown(serving.ownership, serving.device, utilization=1.0)["usd_per_hour"]


def busiest_requests_per_second(demand):
    """The average request rate of the horizon's busiest year (the first, or the last when demand grows): what
    a fleet sized at the peak must at least serve. None without a horizon."""
    if demand.requests_per_year is None:
        return None
    last = np.ceil(np.asarray(demand.years, dtype=float)) - 1.0
    growth = np.maximum(1.0 + np.asarray(demand.growth_per_year, dtype=float), 1.0) ** last
    out = demand.requests_per_year * growth / (HOURS_PER_YEAR * SECONDS_PER_HOUR)
    return out if np.ndim(out) else float(out)


def serving_utilization_in_force(scenario):
    """The share of paid serving device-hours that do useful work, as priced: 1 (busy), the stated
    average_utilization, or (provisioned) average rate / (peak x (1 + headroom))."""
    s = scenario.serving
    if s.pricing == "busy":
        return 1.0
    if s.pricing == "utilization":
        return s.average_utilization
    # by the peak-to-average ratio, which demand sweeps keep (tco.studies.arrays.demand_overrides)
    return 1.0 / (scenario.demand.peak_to_average * (1.0 + s.headroom))


def billed_usd_per_device_hour(scenario):
    """$ per busy serving device-hour in force: what prefill and decode price their device-seconds at."""
    s = scenario.serving
    if s.pricing == "busy":
        return s.usd_per_hour
    return held_usd_per_device_hour(s) / serving_utilization_in_force(scenario)

