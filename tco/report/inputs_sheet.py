"""The Inputs sheet: every input in force, with unit and source, each in a named cell (yellow = editable).

Formulas elsewhere in the workbook refer to these names (e.g. `train_price_usd_per_hour`), so changing a price
or an MFU here recomputes every cost in Excel or LibreOffice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model.costs import TERMS, InputRow, attention_input_rows, given
from ..model.fleet import PRICING_LABELS
from ..model.quantization import quantization_input_rows
from ..model.replica import latency_params_limit, memory_params_limit
from ..model.serving import weight_bytes_per_param
from ..xlsx import INPUT_FILL, define, finish_sheet, fit_columns, header, put, put_formula, text_block

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["InputRow", "input_rows", "write_inputs"]

_LMSYS_DEFAULT = "default: LMSYS-Chat average (Sardana et al. 2024)"
_TRAIN_MFU_DEFAULT = "default: 0.40, Llama 3 405B 38-43% BF16 MFU (Dubey et al. 2024, table 4)"


def input_rows(scenario: "Scenario", term_rows: Sequence[InputRow] | None = None) -> list[InputRow]:
    """Every input in force. `term_rows` are the inputs only one cost term reads (a result's `term_inputs`);
    by default those of the registered terms."""
    if term_rows is None:
        term_rows = [row for term in TERMS for row in term.input_rows(scenario)]
    t, s, d = scenario.training, scenario.serving, scenario.demand
    law = scenario.resolved_law
    rows = [
        InputRow("train_hardware", "Training device", t.device.name, "", t.device.source, "plain", False),
        InputRow("train_dtype", "Training dtype", t.dtype, "", given(t, "dtype", "default: bf16"), "plain", False),
        InputRow("train_peak_flops", "Training dense peak", t.peak_flops, "FLOP/s per device", t.device.source),
        InputRow("train_mfu", "Training MFU", t.mfu, "fraction", given(t, "mfu", _TRAIN_MFU_DEFAULT), "fraction"),
        *_ownership_rows("train", t),
        InputRow("train_price_usd_per_hour", "Training price", _price_value("train", t), "$ per device-hour",
                 t.price_source, "usd_precise"),
        InputRow("serve_hardware", "Serving device", s.device.name, "", s.device.source, "plain", False),
        InputRow("serve_dtype", "Serving dtype", s.dtype, "", given(s, "dtype", "default: bf16"), "plain", False),
        InputRow("serve_peak_flops", "Serving dense peak", s.peak_flops, "FLOP/s per device", s.device.source),
        *attention_input_rows(scenario),
        *term_rows,
        *_ownership_rows("serve", s),
        *([InputRow("serve_price_usd_per_hour", "Serving price", _price_value("serve", s), "$ per device-hour",
                    s.price_source, "usd_precise")] if s.pricing == "busy" else []),
        *_serving_fit_rows(scenario),
        *quantization_input_rows(scenario),
    ]
    if d.requests_per_year is not None:
        rows += _horizon_rows(d)
    elif d.requests is not None:
        rows += [
            InputRow("requests", "Lifetime requests", d.requests, "requests", "scenario", "count"),
            InputRow("prompt_tokens_per_request", "Prompt tokens per request", d.prompt_tokens_per_request,
                     "tokens", given(d, "prompt_tokens_per_request", _LMSYS_DEFAULT), "count"),
            InputRow("generated_tokens_per_request", "Generated tokens per request",
                     d.generated_tokens_per_request, "tokens",
                     given(d, "generated_tokens_per_request", _LMSYS_DEFAULT), "count"),
            *_reasoning_rows(d),
            InputRow("lifetime_prompt_tokens", "Lifetime prompt tokens", "={requests}*{prompt_tokens_per_request}",
                     "tokens", "derived", "sci", False),
            InputRow("lifetime_generated_tokens", "Lifetime generated tokens",
                     _generated_formula(d), "tokens", "derived", "sci", False),
        ]
    else:
        rows += [
            InputRow("lifetime_prompt_tokens", "Lifetime prompt tokens", d.lifetime_prompt_tokens,
                     "tokens", "scenario"),
            InputRow("lifetime_generated_tokens", "Lifetime generated tokens", d.lifetime_generated_tokens,
                     "tokens", "scenario"),
        ]
    rows += _pricing_rows(scenario)
    rows.append(InputRow("target_loss", "Loss target", scenario.target_loss, "nats/token",
                         _target_source(scenario), "loss", False))
    for key, value in law.constants().items():
        rows.append(InputRow(f"law_{key}", f"Law constant {key}", value, "", law.source, "plain", False))
    c = scenario.constraints
    if c.max_params is not None:
        rows.append(InputRow("max_params", "Max parameters", c.max_params, "parameters", "scenario", "sci", False))
    if c.max_tokens is not None:
        rows.append(InputRow("max_tokens", "Max training tokens", c.max_tokens, "tokens", "scenario", "sci", False))
    if c.training_deadline is not None:
        rows += [
            InputRow("deadline_gpus", "Deadline: GPUs", c.training_deadline.gpus, "devices", "scenario", "count",
                     False),
            InputRow("deadline_days", "Deadline: days", c.training_deadline.days, "days", "scenario", "plain", False),
        ]
    return rows


_OWNERSHIP_FIELDS = (  # field, label, unit, format, source of the default
    ("capex_usd", "capex per device", "$", "usd", "required"),
    ("lifetime_years", "lifetime", "years", "plain", "default: 4, a common accounting life for accelerators"),
    ("utilization", "utilization", "fraction", "fraction", "default: 0.8 (assumption: maintenance, failures, gaps)"),
    ("power_kw", "power per device", "kW", "plain", "default: device TDP / 1000"),
    ("pue", "PUE", "", "plain", "default: 1.2, a modern AI facility (Uptime Institute 2023 average: 1.58)"),
    ("usd_per_kwh", "electricity", "$ per kWh", "usd_precise", "default: US industrial average 2023 (EIA)"),
    ("other_opex_usd_per_year", "other opex per device", "$ per year", "usd", "default: 0"),
)


def _ownership_rows(prefix: str, phase) -> list[InputRow]:
    """Owned hardware: its inputs are editable, and the phase's price row is a formula of them."""
    own = phase.ownership
    if own is None:
        return []
    power_kw = own.power_kw if own.power_kw is not None else phase.device.tdp_w / 1000.0
    # serving.pricing utilization / provisioned: the serving utilization replaces ownership.utilization
    unused = {"utilization"} if prefix == "serve" and phase.pricing != "busy" else set()
    return [
        InputRow(f"{prefix}_own_{field}", f"Owned ({prefix}): {label}",
                 power_kw if field == "power_kw" else getattr(own, field), unit,
                 f"not used: serving.pricing {phase.pricing} prices idle hours by the serving utilization"
                 if field in unused else given(own, field, default), fmt, field not in unused)
        for field, label, unit, fmt, default in _OWNERSHIP_FIELDS
    ]


def _price_value(prefix: str, phase, held: bool = False):
    """Owned hardware: the effective $/device-hour as a live formula of the ownership rows (`held`: paid for
    every hour, capex and opex spread at utilization 1)."""
    if phase.ownership is None:
        return phase.usd_per_hour
    o = {field: "{" + f"{prefix}_own_{field}" + "}" for field, *_rest in _OWNERSHIP_FIELDS}
    used = "" if held else f"*{o['utilization']}"
    return (f"={o['capex_usd']}/({o['lifetime_years']}*8760{used})"
            f"+{o['power_kw']}*{o['pue']}*{o['usd_per_kwh']}"
            f"+{o['other_opex_usd_per_year']}/(8760{used})")


def _pricing_rows(scenario: "Scenario") -> list[InputRow]:
    """serving.pricing (`tco.model.fleet`): the utilization in force and, unless busy, the billed price per busy
    device-hour as a live formula of the held price and that utilization (what prefill and decode multiply)."""
    s, d = scenario.serving, scenario.demand
    mode = InputRow("serve_pricing", "Serving pricing", s.pricing, "", f"{given(s, 'pricing', 'default: busy')}: "
                    f"{PRICING_LABELS[s.pricing]}", "plain", False)
    if s.pricing == "busy":
        return [mode, InputRow("serve_utilization", "Serving utilization priced", 1.0, "fraction",
                               "busy pricing: every paid device-hour serves (see the Deployment sizing sheet for "
                               "the sized fleet's average)", "fraction", False)]
    rows = [mode, InputRow("serve_held_price_usd_per_hour", "Serving price per held device-hour",
                           _price_value("serve", s, held=True), "$ per device-hour",
                           s.price_source if s.ownership is None else "owned, paid every hour: capex / (lifetime x "
                           "8760 h) + power x PUE x $/kWh + opex / 8760 h (the serving utilization replaces "
                           "ownership.utilization)", "usd_precise")]
    if s.pricing == "utilization":
        rows.append(InputRow("serve_utilization", "Serving average utilization", s.average_utilization,
                             "fraction", "scenario (serving.average_utilization)", "fraction"))
    else:
        rows += [
            InputRow("serve_peak_requests_per_second", "Peak requests per second", d.peak_requests_per_second,
                     "requests/s", "scenario (demand.peak_requests_per_second)", "plain"),
            InputRow("serve_headroom", "Serving headroom", s.headroom, "spare capacity",
                     given(s, "headroom", "default: 0.3, a common planning margin"), "fraction"),
            InputRow("hours_per_year", "Hours per year", 8760, "hours", "calendar: 365 x 24", "count", False),
            InputRow("horizon_hours", "Horizon hours (discounted like the requests)",
                     d.horizon_hours if d.years is None else
                     "={hours_per_year}*(" + _horizon_sum_formula(d.years, "0", "{discount_rate}") + ")", "hours",
                     "derived: 8760 x sum over years of (1 + rate)^-(year + 0.5)", "count", False),
            InputRow("serve_average_requests_per_second", "Average requests per second",
                     "={requests}/({horizon_hours}*3600)", "requests/s",
                     f"derived: lifetime requests / horizon seconds = {d.average_requests_per_second:.6g}", "plain",
                     False),
            InputRow("serve_utilization", "Serving utilization (provisioned fleet)",
                     "={serve_average_requests_per_second}/({serve_peak_requests_per_second}*(1+{serve_headroom}))",
                     "fraction", "derived: average rate / (peak x (1 + headroom))", "fraction", False),
        ]
    rows.append(InputRow("serve_price_usd_per_hour", "Serving price per busy device-hour (billed)",
                         "={serve_held_price_usd_per_hour}/{serve_utilization}", "$ per device-hour",
                         "derived: held price / utilization", "usd_precise", False))
    return rows


def _serving_fit_rows(scenario: "Scenario") -> list[InputRow]:
    """Memory fit and latency inputs: they set caps that tco solves with, so they are shown, not live."""
    s = scenario.serving
    roof = s.roofline is not None
    if not s.memory_fit and s.max_time_per_output_token_ms is None:
        return []
    rows = [
        InputRow("devices_per_replica", "Devices per serving replica", s.devices_per_replica, "devices",
                 given(s, "devices_per_replica", "default: 1"), "plain", False),
        InputRow("bytes_per_param", "Weight bytes per parameter", weight_bytes_per_param(s), "bytes",
                 given(s, "bytes_per_param", f"default: weights stored in the serving dtype ({s.dtype})"),
                 "plain", False),
    ]
    if not roof:  # with a roofline the KV cache is derived from its architecture or shape rule
        rows.append(InputRow("kv_cache_gb", "KV cache per replica", s.kv_cache_gb, "GB",
                             given(s, "kv_cache_gb", "default: 0"), "plain", False))
    if s.memory_fit:
        rows.append(InputRow("memory_params_limit", "Memory fit: max parameters", memory_params_limit(scenario),
                             "parameters", "derived: largest N with bytes per parameter x N + KV of the batch at "
                             "prompt + generated tokens <= devices x memory_gb" if roof else
                             "derived: (devices x memory_gb - KV) / bytes per parameter", "sci", False))
    if s.max_time_per_output_token_ms is not None:
        rows += [
            InputRow("max_time_per_output_token_ms", "Latency target per output token",
                     s.max_time_per_output_token_ms, "ms", "scenario", "plain", False),
            InputRow("latency_params_limit", "Latency: max parameters", latency_params_limit(scenario), "parameters",
                     "derived: largest N whose roofline step of the full batch (max of compute and memory) fits "
                     "the target" if roof else "derived: (ms/1000 x devices x bandwidth - KV) / bytes per parameter",
                     "sci", False),
        ]
    return rows


def _reasoning_rows(d) -> list[InputRow]:
    """Samples and hidden reasoning per request (`tco.scenario.reasoning`), only when the scenario states them:
    a plain chat scenario's sheet keeps its layout."""
    if not d.reasons:
        return []
    return [InputRow("samples_per_request", "Samples per request", d.samples_per_request, "samples",
                     given(d, "samples_per_request", "default: 1"), "plain"),
            InputRow("reasoning_tokens_per_request", "Reasoning tokens per sample", d.reasoning_tokens_per_request,
                     "tokens", given(d, "reasoning_tokens_per_request", "default: 0"), "count")]


def _generated_formula(d) -> str:
    """Lifetime generated tokens: every sample's reasoning and answer (the prompt is prefilled once)."""
    if not d.reasons:
        return "={requests}*{generated_tokens_per_request}"
    return "={requests}*{samples_per_request}*({reasoning_tokens_per_request}+{generated_tokens_per_request})"


def _horizon_rows(d) -> list[InputRow]:
    """A demand horizon: inference is priced on the present value of its requests (mid-year discounting)."""
    return [
        InputRow("requests_per_year", "Requests in the first year", d.requests_per_year, "requests", "scenario",
                 "count", False),
        InputRow("horizon_years", "Deployment horizon", d.years, "years", "scenario", "plain", False),
        InputRow("growth_per_year", "Demand growth", d.growth_per_year, "per year",
                 given(d, "growth_per_year", "default: 0"), "fraction"),
        InputRow("discount_rate", "Discount rate", d.discount_rate, "per year",
                 given(d, "discount_rate", "default: 0"), "fraction"),
        InputRow("nominal_requests", "Lifetime requests (nominal)",
                 "={requests_per_year}*(" + _horizon_sum_formula(d.years, "{growth_per_year}", "0") + ")", "requests",
                 "derived: sum of first-year requests x (1 + growth)^year", "count", False),
        InputRow("requests", "Lifetime requests (present value)",
                 "={requests_per_year}*(" + _horizon_sum_formula(d.years, "{growth_per_year}", "{discount_rate}")
                 + ")", "requests",
                 "derived: each year discounted by (1 + rate)^-(year + 0.5), mid-year", "count", False),
        InputRow("prompt_tokens_per_request", "Prompt tokens per request", d.prompt_tokens_per_request,
                 "tokens", given(d, "prompt_tokens_per_request", _LMSYS_DEFAULT), "count"),
        InputRow("generated_tokens_per_request", "Generated tokens per request", d.generated_tokens_per_request,
                 "tokens", given(d, "generated_tokens_per_request", _LMSYS_DEFAULT), "count"),
        *_reasoning_rows(d),
        InputRow("lifetime_prompt_tokens", "Lifetime prompt tokens (present value)",
                 "={requests}*{prompt_tokens_per_request}", "tokens", "derived", "sci", False),
        InputRow("lifetime_generated_tokens", "Lifetime generated tokens (present value)",
                 _generated_formula(d), "tokens", "derived", "sci", False),
    ]


def _horizon_sum_formula(years: float, growth: str, discount: str) -> str:
    """The sum of `tco.scenario.extras._horizon_sum` over first-year units, sum over y < ceil(years) of
    f_y (1+g)^y (1+d)^-(y + f_y/2) with f_y = clip(years - y, 0, 1): growth, discount rate and (within the
    stated whole years) the horizon stay live inputs."""
    terms = []
    for y in range(math.ceil(years)):
        frac = f"MEDIAN(0,1,{{horizon_years}}-{y})"
        terms.append(f"{frac}*(1+{growth})^{y}*(1+{discount})^(-({y}+{frac}/2))")
    return "+".join(terms) or "0"


def _target_source(scenario: "Scenario") -> str:
    target = scenario.target
    if target.quality_of is not None:
        q = target.quality_of
        return f"loss of N={q.params:.4g}, D={q.tokens:.4g} under the law"
    if target.chinchilla_optimal_params is not None:
        return f"loss of the compute-optimal {target.chinchilla_optimal_params:.4g}-parameter model"
    return "scenario"


def write_inputs(wb, ws, scenario: "Scenario", prefix: str = "", term_rows: Sequence[InputRow] | None = None
                 ) -> dict[str, str]:
    """Fill `ws`; returns {key: defined name}. Solved values (N, D) are not inputs: they live on Costs."""
    rows = input_rows(scenario, term_rows)
    header(ws, 1, ["name", "input", "value", "unit", "source"])
    # every name first: a derived row may refer to a row below it (a term's row to the demand rows)
    names = {row.key: define(wb, f"{prefix}{row.key}", ws, r, 3) for r, row in enumerate(rows, start=2)}
    for r, row in enumerate(rows, start=2):
        put(ws, r, 1, names[row.key])
        put(ws, r, 2, row.label)
        if isinstance(row.value, str) and row.value.startswith("={"):
            put_formula(ws, r, 3, row.value.format(**names), row.fmt)
        else:
            cell = put(ws, r, 3, row.value, row.fmt if not isinstance(row.value, str) else None)
            if row.editable:
                cell.fill = INPUT_FILL
        put(ws, r, 4, row.unit)
        put(ws, r, 5, row.source)
    # values of formula rows are not known here: wide enough for the largest lifetime token counts
    fit_columns(ws, last_col=5, maximum=70, at_least={3: 22})
    text_block(ws, len(rows) + 3, "Yellow cells are inputs: change them and the Costs sheet and the Summary "
               "recompute. The optimum (N, D) itself is solved by tco; re-run tco to re-optimize.", 5)
    finish_sheet(ws, last_col=5)
    return names
