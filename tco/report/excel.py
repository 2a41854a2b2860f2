"""The Excel report (openpyxl): Summary, Inputs, Costs (live formulas), Sizing, Demand sweep, Charts, Hardware, Law;
or, for several scenarios, a Comparison sheet and each scenario's sheets.

Strings from scenarios are always text, never formulas. Writes are atomic (temp file, then rename).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment

from ..atomic import atomic_write
from ..units import format_count
from .costs_sheet import BASELINE, DESIGN_ROWS, baseline_words, write_costs
from .architecture import write_architecture
from .inputs_sheet import write_inputs
from .reference_sheets import write_hardware, write_law
from .sizing_sheet import write_sizing
from .sweep_sheet import write_charts, write_sweep
from ..xlsx import (LINE_HEIGHT_POINTS, define, fit_columns, finish_sheet, header, note, put, put_formula, sheet_title,
                    text_block, widths, wrapped_lines)

if TYPE_CHECKING:
    import pandas as pd

    from ..results import Result
    from ..results.table import ColumnTable
    from ..scenario import Scenario

__all__ = ["ReportEntry", "write_report", "recommendation", "key_figures", "BASELINE", "baseline_words"]


@dataclass(frozen=True)
class ReportEntry:
    """Everything one scenario contributes to a workbook, solved beforehand (`tco.studies.prepare`)."""

    scenario: "Scenario"
    result: "Result"
    sweep: "pd.DataFrame | ColumnTable"  # `tco.studies.prepare` gives numpy columns (no pandas on optimize)


def _amount(value: float, *, flops: bool) -> str:
    return f"{value / 1e21:,.3f} ZFLOP" if flops else f"${value:,.0f}"


def recommendation(result: "Result") -> str:
    """The Summary headline as Python computes it; the sheet holds the same sentence as a formula of the Costs
    sheet (`_headline_formula`), so an edited price moves it. A FLOPs objective leads with FLOPs."""
    o, flops = result.optimal, result.objective == "flops"
    saved = result.savings.total_flops if flops else result.savings.total_cost_usd
    share = result.savings.flops_fraction if flops else result.savings.fraction
    lead = (f"Lifetime compute {_amount(o.total_flops, flops=True)}" if flops else
            f"Lifetime cost {_amount(o.total_cost_usd, flops=False)}")
    tail = f"; lifetime cost {_amount(o.total_cost_usd, flops=False)}." if flops else "."
    return (f"{_design_words(result)} {lead}, {_amount(abs(saved), flops=flops)} ({abs(share):.1%}) "
            f"{'less' if saved >= 0 else 'more'} than the {BASELINE}{tail}")


def _design_words(result: "Result") -> str:
    """The solved design in words (solved values: constant text in the formula)."""
    o = result.optimal
    return (f"Train a {format_count(o.params)}-parameter model on {format_count(o.tokens)} tokens "
            f"({o.tokens_per_param:,.0f} tokens per parameter, {result.tokens_factor:.2f}x the compute-optimal "
            f"data and {result.params_factor:.2f}x its parameters).")


def _headline_formula(result: "Result", names: dict[str, str]) -> str:
    flops = result.objective == "flops"
    fmt = '"#,##0.000,,,,,,,"' if flops else '"$#,##0"'
    unit = '&" ZFLOP"' if flops else ""
    saved = names["savings_total_flops" if flops else "savings_total_cost_usd"]
    share = names["savings_flops_fraction" if flops else "savings_fraction"]
    total = names["optimal_total_flops" if flops else "optimal_total_cost_usd"]
    lead = "Lifetime compute " if flops else "Lifetime cost "
    tail = (f'"; lifetime cost "&TEXT({names["optimal_total_cost_usd"]},"$#,##0")&"."' if flops else '"."')
    words = _design_words(result).replace('"', '""')
    return (f'="{words} {lead}"&TEXT({total},{fmt}){unit}&", "&TEXT(ABS({saved}),{fmt}){unit}&" ("'
            f'&TEXT(ABS({share}),"0.0%")&") "&IF({saved}>=0,"less","more")&" than the {BASELINE}"&{tail}')


def _resolve_command(scenario: "Scenario") -> str:
    return f"tco optimize {scenario.source or '<scenario.yaml>'}"


_OUTCOME_FIGURES = (  # label, defined name (from Costs), unit, format
    ("Total lifetime cost", "optimal_total_cost_usd", "$", "usd"),
    ("Compute-optimal design (same loss), total cost", "chinchilla_total_cost_usd", "$", "usd"),
    ("Savings vs the compute-optimal design", "savings_total_cost_usd", "$", "usd"),
    ("Savings vs the compute-optimal design", "savings_fraction", "share of cost", "fraction"),
    ("Over-training: D / D_compute-optimal", "tokens_factor", "x", "ratio"),
    ("N / N_compute-optimal", "params_factor", "x", "ratio"),
)
_FLOPS_FIGURES = (  # a FLOPs objective leads with these
    ("Total lifetime FLOPs", "optimal_total_flops", "FLOP", "flops"),
    ("Compute-optimal design (same loss), total FLOPs", "chinchilla_total_flops", "FLOP", "flops"),
    ("FLOPs saved vs the compute-optimal design", "savings_total_flops", "FLOP", "flops"),
    ("FLOPs saved vs the compute-optimal design", "savings_flops_fraction", "share of FLOPs", "fraction"),
)


def key_figures(result: "Result") -> list[tuple[str, str, str, str]]:
    """Summary rows: the design, each cost that adds up to the total (from the term registry), the outcome; a
    FLOPs objective puts its FLOPs first."""
    figures = [*DESIGN_ROWS, *(f for f in result.layout if f.total_of == "usd")]  # the Costs sheet's rows
    rows = [*((f.label, f"optimal_{f.key}", f.unit, f.fmt) for f in figures), *_OUTCOME_FIGURES]
    return [*_FLOPS_FIGURES, *rows] if result.objective == "flops" else rows


_UNIT = Alignment(indent=1)  # a unit right of a right-aligned number: a gap, not "$432,969$"
_ZFLOP = "ZFLOP (10^21 FLOP)"


def _gpu_rows(result: "Result") -> list[tuple[str, object, str, str]]:
    """Whole GPUs (label, value or text, unit, note): the training cluster a deadline needs and the serving fleet
    for the peak (else the whole-GPU fleet the serving pricing pays for)."""
    sizing = result.sizing
    training = sizing.training if sizing is not None else None
    serving = sizing.serving if sizing is not None else None
    rows: list[tuple[str, object, str, str]] = []
    if training is not None:
        rows.append(("Training cluster", math.ceil(training.gpus_needed - 1e-9), "whole GPUs",
                     f"ceil of {training.gpus_needed:,.3f} GPUs that finish in the deadline's "
                     f"{training.deadline_days:g} days (Sizing sheet)"))
    else:
        rows.append(("Training cluster", "n/a", "", "add constraints.training_deadline to size it"))
    if serving is not None and serving.optimal.gpus is not None:
        rows.append(("Serving fleet at the peak", serving.optimal.gpus, "whole GPUs",
                     f"{serving.optimal.replicas:,} replicas for {serving.peak_requests_per_second:,.4g} requests/s "
                     "with headroom (Sizing sheet)"))
    elif result.serving_pricing is not None and result.serving_pricing.whole_gpu_fleet is not None:
        rows.append(("Serving fleet", result.serving_pricing.whole_gpu_fleet, "whole GPUs",
                     "the fleet the serving pricing pays for, rounded up"))
    else:
        rows.append(("Serving fleet", "n/a", "", "add demand.peak_requests_per_second to size it"))
    return rows


def _write_summary(ws, entry: ReportEntry, results: dict[str, str], prefix: str = "") -> None:
    result, scenario = entry.result, entry.scenario
    put(ws, 1, 1, f"tco report: {result.scenario}", bold=True)
    text_block(ws, 2, scenario.description or "", 3)
    headline = text_block(ws, 3, "", 3, bold=True)
    put_formula(ws, 3, 1, _headline_formula(result, results), bold=True)
    define(ws.parent, f"{prefix}headline", ws, 3, 1)  # the tests compare LibreOffice's sentence with Python's
    headline.alignment = Alignment(wrap_text=True, vertical="top")
    header(ws, 5, ["key figure", "value", "unit"])
    r = 6
    for label, key, unit, fmt in key_figures(result):
        put(ws, r, 1, label)
        put_formula(ws, r, 2, f"={results[key]}", fmt)
        put(ws, r, 3, _ZFLOP if fmt == "flops" else unit).alignment = _UNIT
        r += 1
    for label, value, unit, explain in _gpu_rows(result):
        put(ws, r, 1, label)
        cell = put(ws, r, 2, value, "count" if not isinstance(value, str) else None)
        put(ws, r, 3, unit or explain).alignment = _UNIT
        if unit:
            note(cell, explain)
        r += 1
    shadow = put(ws, r, 2, result.loss_shadow_price_usd_per_centinat, "usd")
    put(ws, r, 1, "Shadow price of the loss target")
    put(ws, r, 3, "$ per 0.01 nats lower loss").alignment = _UNIT
    note(shadow, "Solved value: the dual of the loss constraint (marginal lifetime cost of a lower loss target).")
    rows = [
        ("Binding constraints", ", ".join(result.binding_constraints) or "none (only the loss target binds)"),
        ("Objective", "lifetime $" if result.objective == "usd" else "lifetime FLOPs"),
        ("Loss target", f"{result.target_loss:.6g} nats/token"),
        ("Law", f"{result.law}: {scenario.resolved_law.source}"),
        ("Training hardware", f"{scenario.training.device.name} ({scenario.training.device.source})"),
        ("Serving hardware", f"{scenario.serving.device.name} ({scenario.serving.device.source})"),
        ("Cross-check", f"GP vs exact solve differ by {result.cross_check.max_rel_diff:.1e} relative "
                        f"({'ok' if result.cross_check.agrees else 'FAILED'} at {result.cross_check.tolerance:.0e})"),
        *_design_notes(result),
        ("Re-solve after changing inputs", _resolve_command(scenario)),
        *[("Warning", baseline_words(w)) for w in result.warnings],
    ]
    for i, (label, text) in enumerate(rows, start=r + 1):
        put(ws, i, 1, label)
        put(ws, i, 2, text)
        ws.merge_cells(start_row=i, start_column=2, end_row=i, end_column=3)
        ws.cell(i, 2).alignment = Alignment(wrap_text=True, vertical="top")
    fit_columns(ws, last_col=3, maximum=60, at_least={1: 30, 2: 24, 3: 40}, first_row=5)
    # the headline is a formula: its height comes from the sentence Python computes for it
    width = sum(ws.column_dimensions[c].width for c in "ABC")
    ws.row_dimensions[3].height = LINE_HEIGHT_POINTS * wrapped_lines(recommendation(result), width) + 2
    finish_sheet(ws, freeze="A6", last_col=3)


def _design_notes(result: "Result") -> list[tuple[str, str]]:
    """Summary lines for repeated data (epochs), the serving pricing in force and the serving roofline (what
    bounds decode), where present."""
    rows = []
    dl = result.data_limits
    if dl is not None:
        rows.append(("Epochs over unique data", f"optimal {dl.epochs:.3f} (D' = {dl.effective_tokens:.4g} "
                     f"effective tokens), compute-optimal {dl.chinchilla_epochs:.3f}; U = {dl.unique_tokens:.4g}"))
        if dl.base_params is not None:
            rows.append(("Excess parameters (eq. 6)", f"U_N = {dl.base_params:.4g}; N' optimal "
                         f"{dl.effective_params:.4g}, compute-optimal {dl.chinchilla_effective_params:.4g}"))
    qs = result.quantization
    if qs is not None:  # serving.quantization: the penalty the served loss pays at each design
        rows.append(("Quantization penalty", f"{qs.form} at {qs.bits:g} bits: {qs.penalty_nats:.4g} nats at the "
                     f"optimum (loss before quantization {qs.pre_quantization_loss:.4f}), "
                     f"{qs.chinchilla_penalty_nats:.4g} at the compute-optimal point; the Costs loss includes it"))
    pricing = result.serving_pricing
    if pricing is not None:
        fleet = ("" if pricing.whole_gpu_fleet is None else
                 f"; the optimum's whole-GPU fleet: {pricing.whole_gpu_fleet:,} GPUs averaging "
                 f"{pricing.whole_gpu_fleet_average_utilization:.1%}, ${pricing.whole_gpu_fleet_cost_usd:,.0f} over "
                 "the horizon (reported, not optimized)")
        rows.append(("Serving pricing", f"{pricing.mode}: {pricing.summary}; ${pricing.billed_usd_per_device_hour:.4g}"
                     f" per busy device-hour (serve_price_usd_per_hour on Inputs){fleet}"))
    roof = result.decode_roofline
    if roof is not None:
        for label, d in (("optimal", roof.optimal), ("compute-optimal", roof.chinchilla)):
            rows.append((f"Decode roofline ({label})",
                         f"{d.bound} bound: {d.device_seconds_per_token * 1e3:.4g} device-ms per generated token "
                         f"(compute {d.compute_seconds_per_token * 1e3:.4g}, memory "
                         f"{d.memory_seconds_per_token * 1e3:.4g}{_overhead(d)}), effective decode MFU "
                         f"{d.effective_decode_mfu:.2%}, ${d.usd_per_million_generated_tokens:.4g} per 1M "
                         f"generated tokens, {d.time_per_output_token_ms:.3g} ms per output token at batch "
                         f"{roof.batch_size:g}"))
    return rows


def _write_scenario(wb: Workbook, entry: ReportEntry, prefix: str, sheet_prefix: str) -> dict[str, str]:
    def sheet(name: str):
        return wb.create_sheet(sheet_title(f"{sheet_prefix}{name}"))

    summary, inputs, costs, sizing = sheet("Summary"), sheet("Inputs"), sheet("Costs"), sheet("Sizing")
    sweep, charts = sheet("Demand sweep"), sheet("Charts")
    names = write_inputs(wb, inputs, entry.scenario, prefix, entry.result.term_inputs)
    results = write_costs(wb, costs, entry.result, names, entry.scenario.resolved_law.form,
                          _resolve_command(entry.scenario), prefix)
    last_row = write_sweep(sweep, entry.sweep, entry.result)
    write_charts(charts, sweep, costs, last_row, entry.result)
    write_sizing(sizing, entry.result)
    write_hardware(sheet("Hardware"), entry.scenario)
    write_law(sheet("Law"), entry.scenario)
    if entry.result.architecture_choice is not None:
        write_architecture(sheet("Architecture"), entry.result.architecture_choice)
    _write_summary(summary, entry, results, prefix)
    return results


def _write_comparison(ws, entries: Sequence[ReportEntry], results: list[dict[str, str]]) -> None:
    header(ws, 1, ["", *[f"S{i}: {e.result.scenario}" for i, e in enumerate(entries, start=1)]])
    text_rows = [
        ("law", lambda e: e.result.law), ("objective", lambda e: e.result.objective),
        ("loss target", lambda e: e.result.target_loss),
        ("binding constraints", lambda e: ", ".join(e.result.binding_constraints) or "none"),
        ("shadow price ($ per 0.01 nats)", lambda e: e.result.loss_shadow_price_usd_per_centinat),
    ]
    r = 2
    rows = list(dict.fromkeys(row for e in entries for row in key_figures(e.result)))
    for label, _key, unit, fmt in rows:
        put(ws, r, 1, f"{label} ({unit})")
        for c, res in enumerate(results, start=2):
            if _key in res:
                put_formula(ws, r, c, f"={res[_key]}", fmt)
        r += 1
    for label, get in text_rows:
        put(ws, r, 1, label)
        for c, entry in enumerate(entries, start=2):
            value = get(entry)
            put(ws, r, c, value, "usd" if label.startswith("shadow") else ("loss" if label == "loss target" else None))
        r += 1
    widths(ws, [56, *[26] * len(entries)])  # formula columns: wide enough for the largest counts and dollars
    finish_sheet(ws, last_col=len(entries) + 1)


def write_report(entries: ReportEntry | Sequence[ReportEntry], path: str | Path) -> Path:
    """Write one scenario's report, or a comparison of several, to `path` (folders created, atomic)."""
    entries = [entries] if isinstance(entries, ReportEntry) else list(entries)
    if not entries:
        raise ValueError("write_report needs at least one scenario")
    wb = Workbook()
    wb.remove(wb.active)
    if len(entries) == 1:
        _write_scenario(wb, entries[0], prefix="", sheet_prefix="")
    else:
        comparison = wb.create_sheet("Comparison")
        results = [_write_scenario(wb, e, prefix=f"s{i}_", sheet_prefix=f"S{i} ")
                   for i, e in enumerate(entries, start=1)]
        _write_comparison(comparison, entries, results)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def _overhead(bound) -> str:
    """', overhead X' when the serving step model adds time outside the roofline max."""
    extra = bound.overhead_seconds_per_token
    return f", overhead {extra * 1e3:.4g}" if extra else ""
