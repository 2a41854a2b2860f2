"""Small openpyxl helpers shared by every sheet (the report's, the Monte Carlo sheets, `tco fit`'s workbook): safe
text, headers, formats, names, layout. Core: it knows cells, not costs."""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

__all__ = [
    "FORMATS", "put", "put_formula", "header", "widths", "define", "absolute", "finish_sheet", "note",
    "sheet_title", "INPUT_FILL", "cell_text", "EXCEL_CELL_MAX_CHARS",
]

#: Number formats by kind; every cell that holds a number gets one.
FORMATS = {
    "usd": "$#,##0",
    "usd_precise": "$#,##0.00",
    "flops": "0.000E+00",
    "count": "#,##0",
    "sci": "0.000E+00",
    "fraction": "0.0%",
    "ratio": "0.000",
    "loss": "0.00000",
    "plain": "General",
    "per_flop": "0.000E+00",
}
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # the usual "you may edit this" yellow
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_FORMULA_START = ("=", "+", "-", "@")
_EXCEL_SHEET_TITLE_MAX = 31
#: Excel's limit on the characters in one cell: a longer text opens as a broken file.
EXCEL_CELL_MAX_CHARS = 32_767


def cell_text(text: str) -> str:
    """Text as a cell may hold it, the last line of defence after the scenario's own checks: without the
    control characters openpyxl refuses, and at most 32,767 characters, a longer one cut with a visible note
    ("… truncated, N characters", N the full length)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if len(text) > EXCEL_CELL_MAX_CHARS:
        mark = f" … truncated, {len(text):,} characters"
        text = text[: EXCEL_CELL_MAX_CHARS - len(mark)] + mark
    return text


def sheet_title(title: str) -> str:
    """A legal sheet title: no []:*?/\\ nor control characters, at most 31 characters, no ' at either end."""
    title = ILLEGAL_CHARACTERS_RE.sub("", title)
    for ch in "[]:*?/\\":
        title = title.replace(ch, "-")
    title = title[:_EXCEL_SHEET_TITLE_MAX]
    return title.strip("'") or "-"


def put(ws, row: int, col: int, value, fmt: str | None = None, *, bold: bool = False):
    """Write a value. Strings are always text, never formulas, even when they start with = + - @, and pass
    through `cell_text` (no characters openpyxl refuses, at most Excel's 32,767)."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        value = cell_text(value)
    cell.value = value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = TYPE_STRING
    if fmt:
        cell.number_format = FORMATS.get(fmt, fmt)
    if bold:
        cell.font = Font(bold=True)
    return cell


def put_formula(ws, row: int, col: int, formula: str, fmt: str | None = None, *, bold: bool = False):
    """Write a formula we generated ourselves (never text that came from a scenario)."""
    cell = ws.cell(row=row, column=col)
    cell.value = formula if formula.startswith("=") else f"={formula}"
    if fmt:
        cell.number_format = FORMATS.get(fmt, fmt)
    if bold:
        cell.font = Font(bold=True)
    return cell


def header(ws, row: int, titles: list[str]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = put(ws, row, col, title, bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def widths(ws, values: list[int]) -> None:
    for col, width in enumerate(values, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def absolute(ws, row: int, col: int) -> str:
    """'Sheet name'!$C$5"""
    return f"{quote_sheetname(ws.title)}!${get_column_letter(col)}${row}"


def define(wb, name: str, ws, row: int, col: int) -> str:
    """Give cell (row, col) of ws a workbook-level defined name; returns the name for use in formulas."""
    wb.defined_names[name] = DefinedName(name, attr_text=absolute(ws, row, col))
    return name


def note(cell, text: str) -> None:
    comment = Comment(cell_text(text), "tco")
    comment.width, comment.height = 320, 110
    cell.comment = comment


def finish_sheet(ws, *, freeze: str | None = "A2", last_col: int | None = None) -> None:
    """Frozen header, print area over the used range, landscape, fit to width."""
    ws.freeze_panes = freeze
    last = get_column_letter(last_col or ws.max_column)
    ws.print_area = f"A1:{last}{ws.max_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
