"""The Demand sweep sheet (a pandas frame from `tco.sweep.demand_sweep`) and the native Excel charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.chart import BarChart, Reference, ScatterChart, Series

from .costs_sheet import ROW_OF
from .xlsx import finish_sheet, header, put, widths

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_sweep", "write_charts", "SWEEP_COLUMNS"]

# frame column -> (header with unit, number format)
SWEEP_COLUMNS = {
    "inference_tokens": ("lifetime inference tokens", "sci"),
    "params": ("optimal N (parameters)", "sci"),
    "tokens": ("optimal D (tokens)", "sci"),
    "tokens_per_param": ("tokens per parameter", "ratio"),
    "training_cost_usd": ("training cost ($)", "usd"),
    "inference_cost_usd": ("inference cost ($)", "usd"),
    "data_cost_usd": ("data cost ($)", "usd"),
    "total_cost_usd": ("total cost ($)", "usd"),
    "chinchilla_total_cost_usd": ("Chinchilla total cost ($)", "usd"),
    "savings_usd": ("savings vs Chinchilla ($)", "usd"),
    "savings_fraction": ("savings vs Chinchilla (share)", "fraction"),
    "total_flops": ("total FLOPs", "flops"),
    "savings_flops_fraction": ("FLOPs saved (share)", "fraction"),
}


def write_sweep(ws, frame: "pd.DataFrame") -> int:
    """Write the sweep table; returns the last data row."""
    columns = [c for c in SWEEP_COLUMNS if c in frame.columns]
    binds = [c for c in frame.columns if c.startswith("binds:")]
    labels = {**{c: SWEEP_COLUMNS[c][0] for c in columns},  # the demand's own label: present values with a horizon
              "inference_tokens": frame.attrs.get("inference_tokens_label", SWEEP_COLUMNS["inference_tokens"][0])}
    header(ws, 1, [labels[c] for c in columns] + [f"binding: {c.split(':', 1)[1]}" for c in binds])
    for r, record in enumerate(frame[columns + binds].itertuples(index=False), start=2):
        for c, (name, value) in enumerate(zip(columns + binds, record), start=1):
            if name in SWEEP_COLUMNS:
                put(ws, r, c, float(value), SWEEP_COLUMNS[name][1])
            else:
                put(ws, r, c, "yes" if bool(value) else "")
    widths(ws, [18] * (len(columns) + len(binds)))
    finish_sheet(ws)
    return len(frame) + 1


def _log_scatter(title: str, x_title: str, y_title: str, y_format: str, log_y: bool = True) -> ScatterChart:
    chart = ScatterChart()
    chart.title, chart.style = title, 13
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.x_axis.scaling.logBase = 10
    chart.x_axis.number_format = "0E+00"
    if log_y:
        chart.y_axis.scaling.logBase = 10
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl >= 3.1 hides axes unless told otherwise
    chart.y_axis.number_format = y_format
    chart.height, chart.width = 9, 16
    chart.legend.position = "b"
    return chart


def _series(sweep_ws, col: int, last_row: int, title: str) -> Series:
    x = Reference(sweep_ws, min_col=1, min_row=2, max_row=last_row)
    y = Reference(sweep_ws, min_col=col, min_row=1, max_row=last_row)
    series = Series(y, x, title_from_data=True)
    series.marker.symbol = "none"
    series.smooth = False
    return series


def write_charts(ws, sweep_ws, costs_ws, last_row: int) -> None:
    """Three native charts: N and tokens/param vs demand, cost breakdown bars, savings vs demand."""
    col = {name: i for i, name in enumerate(SWEEP_COLUMNS, start=1)}
    demand = sweep_ws.cell(1, col["inference_tokens"]).value or SWEEP_COLUMNS["inference_tokens"][0]
    size = _log_scatter("Optimal model size vs lifetime demand", demand, "parameters", "0E+00")
    size.series.append(_series(sweep_ws, col["params"], last_row, "optimal N"))
    ws.add_chart(size, "A1")

    ratio = _log_scatter("Tokens per parameter vs lifetime demand", demand,
                         "tokens per parameter", "#,##0")
    ratio.series.append(_series(sweep_ws, col["tokens_per_param"], last_row, "tokens per parameter"))
    ws.add_chart(ratio, "K1")

    savings = _log_scatter("Savings vs Chinchilla", demand, "share of Chinchilla cost", "0%",
                           log_y=False)
    savings.series.append(_series(sweep_ws, col["savings_fraction"], last_row, "savings"))
    ws.add_chart(savings, "A20")

    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    bars.title, bars.y_axis.title = "Lifetime cost: optimal vs Chinchilla", "$"
    bars.x_axis.delete = bars.y_axis.delete = False
    bars.height, bars.width = 9, 16
    for key, label in (("training_cost_usd", "training"), ("prefill_cost_usd", "prefill"),
                       ("decode_cost_usd", "decode"), ("data_cost_usd", "data")):
        row = ROW_OF[key]
        bars.series.append(Series(Reference(costs_ws, min_col=3, max_col=4, min_row=row, max_row=row), title=label))
    bars.set_categories(Reference(costs_ws, min_col=3, max_col=4, min_row=1, max_row=1))
    ws.add_chart(bars, "K20")
    put(ws, 39, 1, "Charts read the Demand sweep and Costs sheets; the sweep is solved by tco (exact solver).")
    finish_sheet(ws, freeze=None, last_col=20)
