"""The Sizing sheet: the training cluster (with a training deadline) and the serving fleet for the peak request
rate (with demand.peak_requests_per_second), for the optimal design and the compute-optimal design of the same
loss. Devices are whole (rounded up); the fractional GPUs of an exact division are labelled as such.

Values are solved by `tco.results.deployment.deployment_sizing` (formulas in its module docstring), written as
numbers, not
formulas: re-run `tco optimize` after changing inputs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from openpyxl.styles import Alignment

from .costs_sheet import baseline_words
from ..xlsx import finish_sheet, fit_columns, header, note, put, text_block

if TYPE_CHECKING:
    from ..results import Result

__all__ = ["write_sizing"]

# label, optimal field, chinchilla field (of TrainingSizing), unit, format
_TRAINING_ROWS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("Training GPUs to finish by the deadline", "gpus_needed", "chinchilla_gpus_needed", "whole GPUs", "whole"),
    ("  fractional GPUs (exact division, before rounding up)", "gpus_needed", "chinchilla_gpus_needed", "GPUs",
     "0.000"),
    ("Training days on the deadline's GPUs", "days_needed", "chinchilla_days_needed", "days", "ratio"),
)
_SERVING_ROWS: tuple[tuple[str, str, str, str | None], ...] = (  # label, ReplicaSizing field, unit, format
    ("Parameters N", "params", "parameters", "count"),
    ("Fits one replica", "fits_one_replica", "weights <= devices x memory", None),
    ("Meets the latency target", "meets_latency", "", None),
    ("Batch per replica", "batch_size", "sequences", "count"),
    ("KV cache of the batch", "kv_cache_gb", "GB per replica", "ratio"),
    ("Batch limited by", "batch_limited_by", "", None),
    ("Decode bound", "bound", "", None),
    ("Time per output token", "time_per_output_token_ms", "ms", "0.000"),
    ("Throughput per replica", "tokens_per_second_per_replica", "generated tokens/s", "count"),
    ("Prefill per request", "prefill_seconds_per_request", "replica-seconds", "0.000000"),
    ("Busy replicas at the peak (no headroom)", "busy_replicas_at_peak", "replicas", "ratio"),
    ("Replicas to serve the peak", "replicas", "replicas", "count"),
    ("Serving GPUs", "gpus", "GPUs", "count"),
    ("$ per 1M generated tokens, full load (decode)", "usd_per_million_generated_tokens", "$", "usd_precise"),
    ("$ per 1M generated tokens, peak fleet", "usd_per_million_generated_tokens_at_peak", "$", "usd_precise"),
    ("$ per 1M generated tokens, lifetime average", "lifetime_usd_per_million_generated_tokens", "$",
     "usd_precise"),
    ("Fleet average utilization (horizon's average rate)", "average_utilization", "fraction", "fraction"),
    ("Fleet cost over the horizon (GPUs x hours x held price)", "fleet_cost_usd", "$", "usd"),
)
_SERVING_INPUTS: tuple[tuple[str, str, str, str | None], ...] = (  # label, ServingSizing field, unit, format
    ("Peak requests per second", "peak_requests_per_second", "requests/s", "ratio"),
    ("Prompt tokens per request", "prompt_tokens_per_request", "tokens", "count"),
    ("Generated tokens per request", "generated_tokens_per_request", "tokens", "count"),
    ("Devices per replica", "devices_per_replica", "devices", "ratio"),
    ("Largest batch (serving.batch_size)", "max_batch_size", "sequences", "count"),
    ("Headroom (serving.headroom)", "headroom", "spare capacity", "fraction"),
    ("KV cache of the full batch (serving.kv_cache_gb)", "kv_cache_gb", "GB", "ratio"),
    ("Latency target", "max_time_per_output_token_ms", "ms per output token", "ratio"),
    ("Serving price", "usd_per_device_hour", "$ per device-hour", "usd_precise"),
    ("Serving pricing (serving.pricing)", "pricing", "", None),
    ("Utilization the serving cost assumes", "utilization_priced", "fraction", "fraction"),
    ("Average requests per second (horizon)", "average_requests_per_second", "requests/s", "ratio"),
)


def _value(value):
    """Booleans and None as text, so every numeric cell carries a number format and empty means 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def write_sizing(ws, result: "Result") -> None:
    put(ws, 1, 1, "Deployment sizing", bold=True)
    text_block(ws, 2, "Solved values (tco.results.deployment.deployment_sizing), not formulas: re-run tco optimize "
                      "after changing inputs. GPU and replica counts are whole devices.", 4)
    header(ws, 4, ["", "Optimal", "Compute-optimal (same loss)", "unit"])
    r = 5
    training = result.sizing.training if result.sizing is not None else None
    put(ws, r, 1, "Training cluster", bold=True)
    r += 1
    if training is not None:
        for label, key, chin_key, unit, fmt in _TRAINING_ROWS:
            put(ws, r, 1, label)
            for col, field in ((2, key), (3, chin_key)):
                value = getattr(training, field)
                put(ws, r, col, math.ceil(value - 1e-9) if fmt == "whole" else value,
                    "count" if fmt == "whole" else fmt)
            put(ws, r, 4, unit)
            r += 1
        put(ws, r, 1, "Deadline")
        put(ws, r, 2, f"{training.deadline_gpus:,.0f} GPUs x {training.deadline_days:g} days")
        r += 1
    else:
        text_block(ws, r, "No constraints.training_deadline in the scenario: add one to size the training cluster.", 4)
        r += 1
    r += 1
    serving = result.sizing.serving if result.sizing is not None else None
    put(ws, r, 1, "Serving fleet at the peak", bold=True)
    r += 1
    if serving is None:
        text_block(ws, r, "No demand.peak_requests_per_second in the scenario: add one to size the serving fleet.", 4)
        r += 1
    else:
        for label, key, unit, fmt in _SERVING_INPUTS:
            put(ws, r, 1, label)
            value = _value(getattr(serving, key))
            put(ws, r, 2, value, fmt if not isinstance(value, str) else None)
            put(ws, r, 4, unit)
            r += 1
        for label, key, unit, fmt in _SERVING_ROWS:
            put(ws, r, 1, label)
            for col, design in ((2, serving.optimal), (3, serving.chinchilla)):
                value = _value(getattr(design, key))
                cell = put(ws, r, col, value, fmt if not isinstance(value, str) else None)
                if key == "replicas" and not isinstance(value, str):
                    note(cell, "ceil(peak requests/s x (generated tokens / throughput + prefill seconds) x "
                               "(1 + headroom)); see tco/results/deployment.py")
            put(ws, r, 4, unit)
            r += 1
        texts = [*((f"Warning ({name})", w) for name, design in (("optimal", serving.optimal),
                                                                    ("compute-optimal", serving.chinchilla))
                   for w in map(baseline_words, design.warnings)),
                 *(("Note", baseline_words(n)) for n in serving.notes)]
        for label, text in texts:  # a paragraph across the value columns, wrapped
            put(ws, r, 1, label)
            put(ws, r, 2, text)
            ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=4)
            ws.cell(r, 2).alignment = Alignment(wrap_text=True, vertical="top")
            r += 1
    fit_columns(ws, last_col=4, maximum=60, first_row=4)
    for row in ws.iter_rows(min_row=5, min_col=4, max_col=4):  # a unit right of a right-aligned number: a gap
        for cell in row:
            if cell.value is not None:
                cell.alignment = Alignment(indent=1)
    finish_sheet(ws, freeze="A5", last_col=4)
