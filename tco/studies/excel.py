"""Workbooks for sweeps, sensitivity (tornado) and Monte Carlo, built from their pandas frames."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series

from ..atomic import atomic_write
from ..report.reference_sheets import write_law
from ..xlsx import finish_sheet, header, put, widths

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario
    from .montecarlo import MonteCarloResult

__all__ = ["write_frame_sheet", "write_sweep_workbook", "write_sensitivity_workbook", "write_montecarlo_workbook"]

EXCEL_MAX_ROWS = 1_048_575  # one header row leaves this many


def _format_for(column: str) -> str:
    if column.endswith("_usd"):
        return "usd"
    if "fraction" in column or "change" in column or column == "swing" or column.endswith("mfu"):
        return "fraction"
    return "sci"


def write_frame_sheet(ws, frame: "pd.DataFrame") -> None:
    """A frame as a table: header row, one row per record, numbers formatted by column name."""
    columns = list(frame.columns)
    header(ws, 1, columns)
    formats = [_format_for(c) for c in columns]
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(record, start=1):
            if isinstance(value, (bool, np.bool_)):
                put(ws, r, c, "yes" if value else "")
            elif isinstance(value, str):
                put(ws, r, c, value)
            else:
                value = float(value)
                put(ws, r, c, value if np.isfinite(value) else None, formats[c - 1])
    widths(ws, [max(14, min(38, len(c) + 2)) for c in columns])
    finish_sheet(ws)


def _scatter(title: str, x_title: str, y_title: str, log_x: bool) -> ScatterChart:
    chart = ScatterChart()
    chart.title, chart.style, chart.height, chart.width = title, 13, 9, 16
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.x_axis.delete = chart.y_axis.delete = False
    if log_x:
        chart.x_axis.scaling.logBase = 10
    chart.legend.position = "b"
    return chart


def write_sweep_workbook(frame: "pd.DataFrame", axes: dict, scenario: "Scenario", path: str | Path) -> Path:
    """The workbook of `tco sweep` (the grid, charts against the first axis, the law), written atomically.

    Example:  write_sweep_workbook(grid_sweep(scenario, axes), axes, scenario, "reports/sweep.xlsx")"""
    if len(frame) > EXCEL_MAX_ROWS:
        raise ValueError(f"{len(frame):,} rows do not fit in an Excel sheet; write CSV or Parquet instead")
    wb = Workbook()
    ws = wb.active
    ws.title = "Sweep"
    write_frame_sheet(ws, frame)
    charts = wb.create_sheet("Charts")
    first = next(iter(axes))
    values = np.asarray(axes[first])
    log_x = bool(np.all(values > 0) and values.max() / values.min() > 100)
    col = {name: i for i, name in enumerate(frame.columns, start=1)}
    # One series per value of the second axis (first 8), each a run of consecutive rows.
    block = int(np.prod([len(v) for v in list(axes.values())[1:]])) if len(axes) > 1 else 1
    series_count = min(block, 8)
    for k, (column, y_title) in enumerate((("optimal_params", "optimal N"), ("savings_fraction", "savings"))):
        chart = _scatter(f"{y_title} vs {first}", first, y_title, log_x)
        for s in range(series_count):
            rows = [2 + s + i * block for i in range(len(values))]
            if rows[-1] - rows[0] != (len(values) - 1) * block:
                continue
            x = Reference(ws, min_col=col[first], min_row=rows[0], max_row=rows[-1])
            y = Reference(ws, min_col=col[column], min_row=rows[0], max_row=rows[-1])
            series = Series(y, x, title=_series_title(frame, axes, s))
            series.marker.symbol = "circle"
            chart.series.append(series)
        charts.add_chart(chart, "A1" if k == 0 else "K1")
    if block > 1:
        # Points of one series are `block` rows apart; Excel cannot stride, so note what the charts show.
        put(charts, 20, 1, "With several axes, each series above follows the first axis at one combination "
                          "of the others; the full grid is in the Sweep sheet.")
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def _series_title(frame, axes, s: int) -> str:
    others = list(axes)[1:]
    if not others:
        return "optimum"
    row = frame.iloc[s]
    return ", ".join(f"{p.split('.')[-1]}={row[p]:.3g}" for p in others)


def write_sensitivity_workbook(frame: "pd.DataFrame", scenario: "Scenario", path: str | Path) -> Path:
    """The workbook of `tco sensitivity` (the ranked table, a tornado chart, the law), written atomically.

    Example:  write_sensitivity_workbook(sensitivity(scenario), scenario, "reports/sensitivity.xlsx")"""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sensitivity"
    write_frame_sheet(ws, frame)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "clustered", 100
    chart.title = f"Tornado: change in optimal total cost for +-{frame.attrs.get('fraction', 0.2):.0%} inputs"
    chart.height, chart.width = 12, 18
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = "0%"
    col = {name: i for i, name in enumerate(frame.columns, start=1)}
    last = len(frame) + 1
    for column, title in (("cost_change_low", "input -X%"), ("cost_change_high", "input +X%")):
        chart.series.append(Series(Reference(ws, min_col=col[column], min_row=2, max_row=last), title=title))
    chart.set_categories(Reference(ws, min_col=col["input"], min_row=2, max_row=last))
    chart.x_axis.scaling.orientation = "maxMin"  # largest swing on top
    wb.create_sheet("Tornado").add_chart(chart, "A1")
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def write_montecarlo_workbook(result: "MonteCarloResult", scenario: "Scenario", path: str | Path) -> Path:
    """The workbook of `tco montecarlo` (summary, probabilities, the savings histogram when the draws were
    kept, the law), written atomically.

    Example:  write_montecarlo_workbook(monte_carlo(scenario, keep_draws=True), scenario, "reports/mc.xlsx")"""
    import pandas as pd

    wb = Workbook()
    ws = wb.active
    ws.title = "Monte Carlo"
    write_frame_sheet(ws, result.summary)
    r = len(result.summary) + 3
    header(ws, r, ["probability", "value"])
    for i, (name, value) in enumerate(result.probabilities.items(), start=1):
        put(ws, r + i, 1, name)
        put(ws, r + i, 2, value, "fraction")
    put(ws, r + len(result.probabilities) + 2, 1, f"{result.samples:,} samples, seed {result.seed}; "
        f"{result.unreachable:,} unreachable, {result.infeasible:,} infeasible")
    for j, warning in enumerate(result.warnings):
        put(ws, r + len(result.probabilities) + 3 + j, 1, f"warning: {warning}")
    if result.draws is not None:
        savings = result.draws["savings_fraction"].to_numpy()
        savings = savings[np.isfinite(savings)]
        counts, edges = np.histogram(savings, bins=20)
        hist = pd.DataFrame({"savings_fraction_from": edges[:-1], "savings_fraction_to": edges[1:],
                             "samples": counts.astype(float)})
        hs = wb.create_sheet("Savings histogram")
        write_frame_sheet(hs, hist)
        chart = BarChart()
        chart.title, chart.height, chart.width = "Distribution of savings vs Chinchilla", 9, 16
        chart.x_axis.delete = chart.y_axis.delete = False
        chart.series.append(Series(Reference(hs, min_col=3, min_row=2, max_row=len(hist) + 1), title="samples"))
        chart.set_categories(Reference(hs, min_col=1, min_row=2, max_row=len(hist) + 1))
        hs.add_chart(chart, "E2")
    write_law(wb.create_sheet("Law"), scenario)
    return atomic_write(path, lambda tmp: wb.save(tmp))
