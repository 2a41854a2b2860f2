"""The Excel workbook (openpyxl): the inputs in force and the optimum vs the Chinchilla baseline.

Every string that comes from a scenario is written as text, never as a formula (a scenario name starting
with "=" must not execute in a spreadsheet). Writes are atomic.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..atomic import atomic_write
from ..result import Result

__all__ = ["write_workbook", "flatten_inputs"]

_FORMULA_START = ("=", "+", "-", "@")


def _set(ws, row: int, col: int, value) -> None:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = value
        if value.startswith(_FORMULA_START):
            cell.data_type = TYPE_STRING  # stays text: openpyxl would otherwise store "=..." as a formula
    else:
        cell.value = value


def flatten_inputs(inputs: dict, prefix: str = "") -> list[tuple[str, object]]:
    """{'training': {'mfu': 0.5}} -> [('training.mfu', 0.5)]."""
    rows: list[tuple[str, object]] = []
    for key, value in inputs.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten_inputs(value, f"{path}."))
        else:
            rows.append((path, value))
    return rows


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list], widths: list[int]):
    ws = wb.create_sheet(title)
    for col, name in enumerate(header, start=1):
        _set(ws, 1, col, name)
        ws.cell(row=1, column=col).font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            _set(ws, r, c, value)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    return ws


def write_workbook(result: Result, path: str | Path) -> Path:
    """Write `result` to an .xlsx at `path` (folders created, atomic replace)."""
    wb = Workbook()
    wb.remove(wb.active)
    opt, chin = result.optimal.to_dict(), result.chinchilla.to_dict()
    results = _sheet(
        wb, "Results", ["metric", "optimal", "chinchilla", "optimal / chinchilla"],
        [[name, opt[name], chin[name], opt[name] / chin[name] if chin[name] else None] for name in opt],
        [24, 18, 18, 20],
    )
    for row in results.iter_rows(min_row=2, min_col=2, max_col=3):
        for cell in row:
            cell.number_format = "$#,##0" if str(results.cell(cell.row, 1).value).endswith("_usd") else "0.000E+00"
    summary_rows = [
        ["scenario", result.scenario], ["objective", result.objective], ["law", result.law],
        ["target_loss", result.target_loss],
        ["savings_total_cost_usd", result.savings.total_cost_usd], ["savings_fraction", result.savings.fraction],
        ["tokens_factor", result.tokens_factor], ["params_factor", result.params_factor],
        ["loss_shadow_price_usd_per_nat", result.loss_shadow_price_usd_per_nat],
        ["binding_constraints", ", ".join(result.binding_constraints) or "none"],
        *[["warning", w] for w in result.warnings],
    ]
    _sheet(wb, "Summary", ["item", "value"], summary_rows, [32, 60])
    _sheet(wb, "Inputs", ["input", "value"], [list(r) for r in flatten_inputs(result.inputs)], [40, 60])
    wb.move_sheet("Summary", offset=-1)
    return atomic_write(path, lambda tmp: wb.save(tmp))
