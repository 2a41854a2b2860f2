"""Load-time checks that need the model's physics (`tco.model.serving`, `tco.model.serving_step`,
`tco.model.replica`): a scenario no design can serve is an error naming the numbers that collide, with the field
path and message of any other scenario error.

They run when a scenario is validated (`Scenario(...)`, `scenario_from_dict`, `load_scenario`, and the sweeps'
validation of their extremes), because that is where a user meets every other input error. The scenario layer
may not import the model, so this module registers its checks with `tco.scenario.schema.SCENARIO_CHECKS` when
it is imported: `tco.model` imports it, and `import tco` imports `tco.model`, so no scenario is validated before.
"""

from __future__ import annotations

from ..errors import FieldError
from ..scenario.fields import PARAMS_RANGE
from ..scenario.extras import default_fit_hint
from ..scenario.schema import SCENARIO_CHECKS
from .fleet import busiest_requests_per_second
from .replica import latency_params_limit, memory_params_limit, ttft_params_limit
from .serving import decode_context_tokens, kv_bytes_per_token, sequence_tokens
from .serving_step import time_to_first_token_seconds

__all__ = ["check_roofline_fit", "check_first_token", "check_serving_pricing", "CHECKS"]


def check_roofline_fit(scenario) -> None:
    """Errors when the roofline's KV cache alone breaks memory fit or the latency target (only a fixed
    architecture can: under a shape rule the KV shrinks with N), naming the numbers that collide."""
    s = scenario.serving
    if s.roofline is None:
        return
    arch = s.roofline.architecture
    if scenario.attention_flops and arch is not None and arch.heads is None:
        raise FieldError(("serving", "roofline", "architecture", "heads"), (
            "attention FLOPs need the query heads (4 x layers x heads x head_dim per token attended): give heads, "
            "or set attention_flops: false for the 6 N D / 2 N convention"))
    kv_coef, _ = kv_bytes_per_token(s.roofline)
    if s.memory_fit and memory_params_limit(scenario) <= 0:
        tokens = sequence_tokens(scenario.demand)
        raise FieldError(("serving", "memory_fit"), (
            f"the model cannot fit any replica: the KV cache of batch_size {s.batch_size:g} x {tokens:,.0f} tokens "
            f"x {kv_coef:,.0f} bytes per token = {s.batch_size * tokens * kv_coef / 1e9:,.4g} GB fills "
            f"devices_per_replica {s.devices_per_replica:g} x {s.device.memory_gb:g} GB (lower batch_size, add "
            f"devices, or shrink the KV cache: fewer KV heads, an 8-bit KV cache{default_fit_hint(s)})"))
    if s.max_time_per_output_token_ms is not None and latency_params_limit(scenario) <= 0:
        context = decode_context_tokens(scenario)
        raise FieldError(("serving", "max_time_per_output_token_ms"), (
            f"{s.max_time_per_output_token_ms:g} ms per output token is too short even for the KV reads: a batch "
            f"of {s.batch_size:g} at {context:,.0f} tokens of context reads "
            f"{s.batch_size * context * kv_coef / 1e9:,.4g} GB per step (lower batch_size or add devices)"))


def check_first_token(scenario) -> None:
    """serving.max_time_to_first_token_ms that not even the smallest model tco prices (1e6 parameters) meets is
    an error naming that model's time to first token."""
    s = scenario.serving
    if s.max_time_to_first_token_ms is None:
        return
    tiny = PARAMS_RANGE[0]
    if ttft_params_limit(scenario) < tiny:
        ms = time_to_first_token_seconds(scenario, tiny) * 1000.0
        raise FieldError(("serving", "max_time_to_first_token_ms"), (
            f"{s.max_time_to_first_token_ms:g} ms to the first token is too short even for a {tiny:,.0f}-parameter "
            f"model, whose prompt of {scenario.demand.prompt_tokens_per_request:,.0f} tokens takes {ms:.4g} ms "
            "(per-token and per-layer overheads of serving.roofline.calibration included); raise it, or shorten "
            "the prompt"))


def check_serving_pricing(scenario) -> None:
    """serving.pricing: provisioned needs the peak it sizes the fleet at and the horizon it pays the fleet for,
    and a peak that serves the horizon's busiest year (`tco.model.fleet`)."""
    s, d = scenario.serving, scenario.demand
    if s.pricing != "provisioned":
        return
    if d.peak_requests_per_second is None:
        raise FieldError(("demand", "peak_requests_per_second"), (
            "serving.pricing: provisioned sizes the fleet at the peak request rate: set "
            "demand.peak_requests_per_second (or use pricing: utilization with an average_utilization)"))
    if d.requests_per_year is None:
        raise FieldError(("demand", "requests_per_year"), (
            "serving.pricing: provisioned pays the fleet for every hour of the demand horizon, and lifetime "
            "requests or tokens have no duration: give demand.requests_per_year with years"))
    if not d.requests_per_year > 0:
        raise FieldError(("demand", "requests_per_year"), (
            "serving.pricing: provisioned prices busy seconds by the fleet's average utilization, and a horizon "
            "of 0 requests has none: give requests_per_year > 0 (or pricing: busy)"))
    busiest = busiest_requests_per_second(d)
    if d.peak_requests_per_second < busiest * (1 - 1e-12):
        raise FieldError(("demand", "peak_requests_per_second"), (
            f"the peak {d.peak_requests_per_second:.6g} requests/s is below the average rate "
            f"{busiest:.6g} requests/s of the horizon's busiest year ({d.requests_per_year:.6g} requests/year "
            f"growing {d.growth_per_year:g}/year over {d.years:g} years): a fleet sized at the peak cannot serve "
            "it (raise the peak)"))


#: The checks run on every validated scenario, in order.
CHECKS = (check_roofline_fit, check_first_token, check_serving_pricing)
for _check in CHECKS:
    if _check not in SCENARIO_CHECKS:
        SCENARIO_CHECKS.append(_check)
