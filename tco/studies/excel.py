"""Workbooks for sweeps, sensitivity (tornado) and Monte Carlo, built from their pandas frames.

Numbers print as a finance reader expects ($36,710,000; 29,140; never 3.671E+07), every sheet prints its table
and charts on pages one wide, and the baseline is named for what it is: the law's compute-optimal design at the
same loss (frame columns and JSON keys keep "chinchilla")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series

from ..atomic import atomic_write
from ..report.reference_sheets import write_law
from ..xlsx import FORMATS, QUALITATIVE_COLOURS, finish_sheet, fit_columns, header, put, text_block

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario
    from .montecarlo import MonteCarloResult

__all__ = ["write_frame_sheet", "write_sweep_workbook", "write_sensitivity_workbook", "write_montecarlo_workbook",
           "column_label", "EXCEL_MAX_ROWS", "DEFAULT_XLSX_ROWS"]

EXCEL_MAX_ROWS = 1_048_575  # one header row leaves this many
#: Rows a sweep workbook holds unless asked for more (`tco sweep --xlsx-rows`): openpyxl spends ~1 ms and
#: ~19 KB a row, and the full table is in the CSV or Parquet file anyway.
DEFAULT_XLSX_ROWS = 10_000
_COUNTS = ("params", "tokens", "samples", "requests", "gpus", "replicas", "hours")
_SERIES_SHOWN = len(QUALITATIVE_COLOURS)


def _format_for(column: str) -> str:
    if "_usd_per" in column:  # a price: cents matter
        return "usd_precise"
    if column.endswith("_usd") or "_usd_" in column:
        return "usd"
    if column.endswith("_flops"):
        return "flops"
    if "fraction" in column or "change" in column or column == "swing" or column.endswith("mfu"):
        return "fraction"
    if any(column.endswith(c) or f"{c}_" in column for c in _COUNTS):
        return "count" if not column.endswith("per_param") else "sci"
    return "sci"


def column_label(column: str) -> str:
    """A frame column as a header: words, the unit in brackets, the baseline by its name."""
    column = column.replace("chinchilla", "compute-optimal")
    if "_usd_per_" in column:  # a price: training.price_usd_per_hour -> training.price ($ per hour)
        base, per = column.split("_usd_per_", 1)
        return f"{base.replace('_', ' ')} ($ per {per.replace('_', ' ')})"
    label = column.replace("_usd", " ($)").replace("_", " ")
    return label.replace("fraction", "(share)") if label.endswith("fraction") else label


def write_frame_sheet(ws, frame: "pd.DataFrame", *, max_rows: int | None = None, note: str | None = None) -> int:
    """A frame as a table: header row, one row per record (at most `max_rows`), numbers formatted by column
    name; `note` goes in bold under the table. Returns the last row written."""
    columns = list(frame.columns)
    header(ws, 1, [column_label(c) for c in columns])
    formats = [_format_for(c) for c in columns]
    shown = frame if max_rows is None else frame.iloc[:max_rows]
    for r, record in enumerate(shown.itertuples(index=False), start=2):
        for c, value in enumerate(record, start=1):
            if isinstance(value, (bool, np.bool_)):
                put(ws, r, c, "yes" if value else "")
            elif isinstance(value, str):
                put(ws, r, c, value)
            else:
                value = float(value)
                put(ws, r, c, value if np.isfinite(value) else None, formats[c - 1])
    last = len(shown) + 1
    fit_columns(ws, last_col=len(columns), maximum=24)
    if note:
        text_block(ws, last + 2, note, min(len(columns), 8), bold=True)
    finish_sheet(ws, last_col=len(columns))
    return last


def _scatter(title: str, x_title: str, y_title: str, log_x: bool, y_format: str) -> ScatterChart:
    chart = ScatterChart()
    chart.title, chart.style, chart.height, chart.width = title, 13, 10, 18
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = y_format
    chart.x_axis.number_format = FORMATS["axis_count"] if log_x else "General"
    if log_x:
        chart.x_axis.scaling.logBase = 10
    chart.legend.position = "b"
    return chart


def _chart_data(ws, frame: "pd.DataFrame", axes: dict, columns: tuple[str, ...]) -> dict[str, list[int]]:
    """The charted values laid out as Excel can read them: the first axis down column A, then one column per
    series (a combination of the other axes, at most `_SERIES_SHOWN`) for each charted output. In the full grid
    a series' points are `block` rows apart, which a chart reference cannot stride. Returns {output: columns}."""
    first = next(iter(axes))
    x = np.asarray(axes[first], dtype=float)
    block = int(np.prod([len(v) for v in list(axes.values())[1:]])) if len(axes) > 1 else 1
    series = min(block, _SERIES_SHOWN)
    header(ws, 1, [column_label(first)] + [f"{column_label(c)}: {_series_title(frame, axes, s)}"
                                           for c in columns for s in range(series)])
    for i, value in enumerate(x, start=2):
        put(ws, i, 1, float(value), "sci")
    out: dict[str, list[int]] = {}
    col = 2
    for c in columns:
        values = frame[c].to_numpy(dtype=float)
        out[c] = []
        for s in range(series):
            picked = values[s::block][: len(x)]
            for i, v in enumerate(picked, start=2):
                put(ws, i, col, float(v) if np.isfinite(v) else None, _format_for(c))
            out[c].append(col)
            col += 1
    fit_columns(ws, last_col=col - 1, maximum=24)
    finish_sheet(ws, last_col=col - 1)
    return out


def write_sweep_workbook(frame: "pd.DataFrame", axes: dict, scenario: "Scenario", path: str | Path, *,
                         max_rows: int = DEFAULT_XLSX_ROWS, table: str | Path | None = None) -> Path:
    """The workbook of `tco sweep`, written atomically: the Sweep table (its first `max_rows` rows, with a note
    saying so when the grid is longer), charts of the optimal N and the savings along the first axis, the Law sheet.

    Example:  write_sweep_workbook(grid_sweep(scenario, axes), axes, scenario, "reports/sweep.xlsx")"""
    if max_rows > EXCEL_MAX_ROWS:
        raise ValueError(f"{max_rows:,} rows do not fit in an Excel sheet (at most {EXCEL_MAX_ROWS:,})")
    note = None
    if len(frame) > max_rows:
        where = f" in {table}" if table else " in the CSV or Parquet table"
        note = (f"The workbook holds the first {max_rows:,} of {len(frame):,} rows; the full table is{where}. "
                "Ask for more with tco sweep --xlsx-rows N.")
    wb = Workbook()
    ws = wb.active
    ws.title = "Sweep"
    write_frame_sheet(ws, frame, max_rows=max_rows, note=note)
    charts, data = wb.create_sheet("Charts"), wb.create_sheet("Chart data")
    first = next(iter(axes))
    values = np.asarray(axes[first], dtype=float)
    log_x = bool(np.all(values > 0) and values.max() / values.min() > 100)
    outputs = (("optimal_params", "optimal N (parameters)", FORMATS["axis_count"]),
               ("savings_fraction", "savings (% of the compute-optimal cost)", "0%"))
    cols = _chart_data(data, frame, axes, tuple(c for c, *_ in outputs))
    x = Reference(data, min_col=1, min_row=2, max_row=len(values) + 1)
    for k, (column, y_title, y_format) in enumerate(outputs):
        chart = _scatter(f"{y_title} vs {first}", column_label(first), y_title, log_x, y_format)
        for s, col in enumerate(cols[column]):
            y = Reference(data, min_col=col, min_row=2, max_row=len(values) + 1)
            series = Series(y, x, title=_series_title(frame, axes, s))
            colour = QUALITATIVE_COLOURS[s % len(QUALITATIVE_COLOURS)]
            series.marker.symbol = "circle"
            series.marker.graphicalProperties.solidFill = colour
            series.marker.graphicalProperties.line.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
            chart.series.append(series)
        charts.add_chart(chart, "A1" if k == 0 else "A22")  # one above the other: each prints page-wide
    block = len(frame) // max(len(values), 1)
    if block > 1:
        text_block(charts, 43, f"Each series follows {first} at one combination of the other axes (the first "
                   f"{min(block, _SERIES_SHOWN)} of {block:,}); the Chart data sheet lists the values charted and "
                   "the Sweep sheet the whole grid.", 11)
    if note:
        text_block(charts, 45, note, 11, bold=True)
    finish_sheet(charts, freeze=None, last_col=11)
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def _series_title(frame, axes, s: int) -> str:
    others = list(axes)[1:]
    if not others:
        return "optimum"
    row = frame.iloc[s]
    return ", ".join(f"{p.split('.')[-1]}={row[p]:.3g}" for p in others)


def write_sensitivity_workbook(frame: "pd.DataFrame", scenario: "Scenario", path: str | Path) -> Path:
    """The workbook of `tco sensitivity`, written atomically: the ranked table and a tornado (labels left of the
    axis, clear of the bars, a legend below it), the law.

    Example:  write_sensitivity_workbook(sensitivity(scenario), scenario, "reports/sensitivity.xlsx")"""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sensitivity"
    write_frame_sheet(ws, frame)
    fraction = frame.attrs.get("fraction", 0.2)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap, chart.gapWidth = "bar", "clustered", 100, 40
    # the unit rides in the title: LibreOffice clips a horizontal bar chart's value-axis title
    chart.title = f"Tornado: change in the optimal lifetime cost (%), each input moved by +-{fraction:.0%}"
    chart.height, chart.width = max(10.0, 1.0 + 0.8 * len(frame)), 24
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = "0%"
    chart.x_axis.tickLblPos = "low"  # input names at the left edge, not on top of the bars around zero
    chart.legend.position = "b"
    col = {name: i for i, name in enumerate(frame.columns, start=1)}
    last = len(frame) + 1
    for k, (column, title) in enumerate((("cost_change_low", f"input -{fraction:.0%}"),
                                         ("cost_change_high", f"input +{fraction:.0%}"))):
        series = Series(Reference(ws, min_col=col[column], min_row=2, max_row=last), title=title)
        series.graphicalProperties.solidFill = QUALITATIVE_COLOURS[k]
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=col["input"], min_row=2, max_row=last))
    chart.x_axis.scaling.orientation = "maxMin"  # largest swing on top
    tornado = wb.create_sheet("Tornado")
    tornado.add_chart(chart, "A1")
    finish_sheet(tornado, freeze=None)
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def write_montecarlo_workbook(result: "MonteCarloResult", scenario: "Scenario", path: str | Path) -> Path:
    """The workbook of `tco montecarlo`, written atomically: the summary led by the median and P10/P90 (a heavy
    tail flagged in words), the probabilities, the histogram of savings when the draws were kept, the Law sheet.

    Example:  write_montecarlo_workbook(monte_carlo(scenario, keep_draws=True), scenario, "reports/mc.xlsx")"""
    from .montecarlo_sheet import write_histogram, write_summary

    unc = scenario.uncertainty
    drivers = [*unc.inputs, *(["law constants"] if unc.law is not None else [])] if unc is not None else []
    wb = Workbook()
    write_summary(wb.active, result, drivers)
    if result.draws is not None:
        write_histogram(wb.create_sheet("Savings histogram"), result)
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))
