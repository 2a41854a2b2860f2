"""The Demand sweep sheet (a pandas frame from `tco.studies.sweep.demand_sweep`) and the native Excel charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.chart import BarChart, Reference, ScatterChart, Series

from .costs_sheet import row_of
from ..xlsx import FORMATS, QUALITATIVE_COLOURS, finish_sheet, fit_columns, header, put

if TYPE_CHECKING:
    import pandas as pd

    from ..results import Result
    from ..results.table import ColumnTable

__all__ = ["write_sweep", "write_charts", "sweep_columns"]

_DESIGN_COLUMNS = {  # frame column -> (header with unit, number format)
    "inference_tokens": ("lifetime inference tokens", "count"),
    "params": ("optimal N (parameters)", "count"),
    "tokens": ("optimal D (tokens)", "count"),
    "tokens_per_param": ("tokens per parameter", "ratio"),
}
_OUTCOME_COLUMNS = {
    "total_cost_usd": ("total cost ($)", "usd"),
    "chinchilla_total_cost_usd": ("compute-optimal (same loss) total cost ($)", "usd"),
    "savings_usd": ("savings vs compute-optimal ($)", "usd"),
    "savings_fraction": ("savings vs compute-optimal (share)", "fraction"),
    "total_flops": ("total FLOPs", "flops"),
    "savings_flops_fraction": ("FLOPs saved (share)", "fraction"),
}


def sweep_columns(result: "Result") -> dict[str, tuple[str, str]]:
    """The sweep table's columns: the design, each cost that adds up to the total (from the term registry,
    e.g. training, inference, data), then totals and savings."""
    costs = {f.key: (f"{f.label.lower()} ($)", "usd") for f in result.layout if f.total_of == "usd"}
    return {**_DESIGN_COLUMNS, **costs, **_OUTCOME_COLUMNS}


def write_sweep(ws, frame: "pd.DataFrame | ColumnTable", result: "Result") -> int:
    """Write the sweep table; returns the last data row."""
    spec = sweep_columns(result)
    columns = [c for c in spec if c in frame.columns]
    binds = [c for c in frame.columns if c.startswith("binds:")]
    labels = {**{c: spec[c][0] for c in columns},  # the demand's own label: present values with a horizon
              "inference_tokens": frame.attrs.get("inference_tokens_label", spec["inference_tokens"][0])}
    header(ws, 1, [labels[c] for c in columns] + [f"binding: {c.split(':', 1)[1]}" for c in binds])
    for r, record in enumerate(frame[columns + binds].itertuples(index=False), start=2):
        for c, (name, value) in enumerate(zip(columns + binds, record), start=1):
            if name in spec:
                put(ws, r, c, float(value), spec[name][1])
            else:
                put(ws, r, c, "yes" if bool(value) else "")
    fit_columns(ws, last_col=len(columns) + len(binds), maximum=22)
    finish_sheet(ws)
    return len(frame) + 1


def _log_scatter(title: str, x_title: str, y_title: str, y_format: str, log_y: bool = True) -> ScatterChart:
    chart = ScatterChart()
    chart.title, chart.style = title, 13
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.x_axis.scaling.logBase = 10
    chart.x_axis.number_format = FORMATS["axis_count"]
    if log_y:
        chart.y_axis.scaling.logBase = 10
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl >= 3.1 hides axes unless told otherwise
    chart.y_axis.number_format = y_format
    chart.height, chart.width = 10, 16
    chart.legend.position = "b"
    return chart


def _series(sweep_ws, col: int, last_row: int, title: str, colour: str = QUALITATIVE_COLOURS[0]) -> Series:
    x = Reference(sweep_ws, min_col=1, min_row=2, max_row=last_row)
    y = Reference(sweep_ws, min_col=col, min_row=1, max_row=last_row)
    series = Series(y, x, title_from_data=True)
    series.marker.symbol = "none"
    series.smooth = False
    series.graphicalProperties.line.solidFill = colour
    series.graphicalProperties.line.width = 28575  # 2.25 pt in EMU
    return series


def write_charts(ws, sweep_ws, costs_ws, last_row: int, result: "Result") -> None:
    """Four native charts: N and tokens/param vs demand, savings vs demand, and the cost breakdown by term."""
    col = {name: i for i, name in enumerate(sweep_columns(result), start=1)}
    # the swept demand's own label, with its unit (present values with a horizon)
    demand = sweep_ws.cell(1, col["inference_tokens"]).value or _DESIGN_COLUMNS["inference_tokens"][0]
    size = _log_scatter("Optimal model size vs lifetime demand", demand, "optimal N (parameters)",
                        FORMATS["axis_count"])
    size.series.append(_series(sweep_ws, col["params"], last_row, "optimal N"))
    ws.add_chart(size, "A1")

    ratio = _log_scatter("Tokens per parameter vs lifetime demand", demand,
                         "tokens per parameter", "#,##0")
    ratio.series.append(_series(sweep_ws, col["tokens_per_param"], last_row, "tokens per parameter"))
    ws.add_chart(ratio, "K1")

    savings = _log_scatter("Savings vs the compute-optimal design (same loss)", demand,
                           "savings (% of the compute-optimal cost)", "0%", log_y=False)
    savings.series.append(_series(sweep_ws, col["savings_fraction"], last_row, "savings"))
    ws.add_chart(savings, "A22")

    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    bars.title, bars.y_axis.title = "Lifetime cost: optimal vs compute-optimal", "lifetime cost ($)"
    bars.y_axis.number_format = "$#,##0"
    bars.x_axis.delete = bars.y_axis.delete = False
    bars.legend.position = "b"
    bars.height, bars.width = 10, 16
    rows = row_of(result)
    for i, name in enumerate(result.optimal.breakdown):  # one stacked series per cost term
        row, label = rows[f"{name}_cost_usd"], name.replace("_", " ")
        series = Series(Reference(costs_ws, min_col=3, max_col=4, min_row=row, max_row=row), title=label)
        series.graphicalProperties.solidFill = QUALITATIVE_COLOURS[i % len(QUALITATIVE_COLOURS)]
        bars.series.append(series)
    bars.set_categories(Reference(costs_ws, min_col=3, max_col=4, min_row=1, max_row=1))
    ws.add_chart(bars, "K22")
    put(ws, 43, 1, "Charts read the Demand sweep and Costs sheets; the sweep is solved by tco (exact solver).")
    finish_sheet(ws, freeze=None, last_col=20)
