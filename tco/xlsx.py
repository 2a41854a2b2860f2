"""Small openpyxl helpers shared by every sheet (the report's, the Monte Carlo sheets, `tco fit`'s workbook): safe
text, headers, formats, names, layout. Core: it knows cells, not costs."""

from __future__ import annotations

import math
import re

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

__all__ = [
    "FORMATS", "put", "put_formula", "header", "widths", "define", "absolute", "finish_sheet", "note",
    "sheet_title", "INPUT_FILL", "cell_text", "EXCEL_CELL_MAX_CHARS", "display_text", "fit_columns",
    "wrapped_lines", "LINE_HEIGHT_POINTS", "text_block", "QUALITATIVE_COLOURS", "PAGE_WIDTH_CHARS",
]

#: Number formats by kind; every cell that holds a number gets one. None prints in scientific notation: a
#: finance reader gets $36,710,000 and 29,140, FLOPs in zettaFLOP (each trailing comma divides by 1,000), and
#: "sci" (a quantity of any size) as whole thousands above 1,000 and four decimals below.
FORMATS = {
    "usd": "$#,##0",
    "usd_precise": "$#,##0.00",
    "flops": '#,##0.000,,,,,,," ZFLOP"',
    "count": "#,##0",
    "sci": "[>=1000]#,##0;[>=0.0001]0.0000;General",
    "fraction": "0.0%",
    "ratio": "0.000",
    "loss": "0.00000",
    "plain": "General",
    "per_flop": "0.000E+00",
    # a log axis spanning powers of ten: 1M, 1B, 1T (short enough for tick labels)
    "axis_count": '[>=1E+12]#,##0,,,,"T";[>=1E+9]#,##0,,,"B";#,##0,,"M"',
}
#: Tableau 10: series a reader tells apart on screen and in print (the default style's greens are not)
QUALITATIVE_COLOURS = ("4E79A7", "F28E2B", "E15759", "76B7B2", "59A14F", "EDC948", "B07AA1", "FF9DA7",
                       "9C755F", "BAB0AC")
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


def text_block(ws, row: int, text: str, last_col: int, *, bold: bool = False):
    """A paragraph across columns 1..last_col (merged, wrapped): a headline or a note that must stay on the page
    instead of running past the print area's right edge."""
    cell = put(ws, row, 1, text, bold=bold)
    if last_col > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


# --- what a cell shows: the text LibreOffice or Excel prints for a value under one of our number formats ------
_QUOTED = re.compile(r'"([^"]*)"')
LINE_HEIGHT_POINTS = 15.0  # one line of the default 11-point font
_DEFAULT_WIDTH_CHARS = 8.43
_CM_PER_WIDTH_CHAR = 0.19  # Calibri 11: a column 8.43 characters wide is 1.6 cm (64 px at 96 dpi)
_CM_PER_POINT = 2.54 / 72


def _section(fmt: str, value: float) -> tuple[str, float]:
    """The section of a (possibly conditional) format that applies to `value`, and the value it shows."""
    sections = fmt.split(";")
    if not sections[0].startswith("["):  # positive;negative[;zero]: the negative section prints no sign itself
        return (sections[1], abs(value)) if value < 0 and len(sections) > 1 else (sections[0], value)
    for section in sections:
        m = re.match(r"\[(>=|<=|>|<)([-0-9.E+]+)\]", section)
        if m is None:
            return section, value
        op, bound = m.group(1), float(m.group(2))
        if {">=": value >= bound, "<=": value <= bound, ">": value > bound, "<": value < bound}[op]:
            return section[m.end():], value
    return sections[-1], value


def display_text(value, number_format: str | None = "General") -> str:
    """The text a cell shows for `value` (an estimate good to a character for the formats in FORMATS): used to
    size columns and, by the rendering tests, to check that nothing overflows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if not isinstance(value, (int, float)):
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        return "#NUM!"
    fmt, value = _section(number_format or "General", value)
    suffix = "".join(_QUOTED.findall(fmt))
    core = _QUOTED.sub("", fmt)
    if core.strip() in ("General", ""):
        text = f"{value:.10g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{float(mantissa):.5g}E{exponent[0]}{int(exponent[1:]):02d}"
        return text + suffix
    scale = len(core) - len(core.rstrip(",")) if "0," in core or "#," in core else 0
    core = core.rstrip(",")
    decimals = len(core.split(".", 1)[1]) - len(core.split(".", 1)[1].lstrip("0#")) if "." in core else 0
    sign = "-" if value < 0 else ""
    value = abs(value) / 1000.0 ** scale
    if "E+" in core:
        text = f"{value:.{decimals}E}".replace("E+0", "E+").replace("E-0", "E-")
        mantissa, exponent = text.split("E")
        text = f"{mantissa}E{exponent[0]}{int(exponent[1:]):02d}"
    elif "%" in core:
        text = f"{value * 100:,.{decimals}f}%" if "," in core else f"{value * 100:.{decimals}f}%"
    else:
        text = f"{value:,.{decimals}f}" if "," in core else f"{value:.{decimals}f}"
    return sign + ("$" if "$" in core else "") + text + suffix


def _width_chars(ws, col: int) -> float:
    width = ws.column_dimensions[get_column_letter(col)].width
    return float(width) if width else _DEFAULT_WIDTH_CHARS


def wrapped_lines(text: str, width_chars: float) -> int:
    """Lines a wrapped text takes in a column `width_chars` wide (word wrap, a little slack for proportional
    glyphs: a width counts the digit 0, which prose's average letter is narrower than)."""
    usable = max(1.0, width_chars * 1.1 - 1.5)
    lines = 0
    for paragraph in str(text).split("\n"):
        length, count = 0, 1
        for word in paragraph.split(" "):
            need = len(word) if length == 0 else length + 1 + len(word)
            if need <= usable or length == 0:
                length = need
                while length > usable:  # a word longer than the line breaks mid-word
                    count, length = count + 1, length - int(usable)
            else:
                count, length = count + 1, len(word)
        lines += count
    return lines


def _merged_width(ws, cell) -> float:
    for merged in ws.merged_cells.ranges:
        if cell.coordinate in merged:
            return sum(_width_chars(ws, c) for c in range(merged.min_col, merged.max_col + 1))
    return _width_chars(ws, cell.column)


def _merged_cells(ws) -> set[tuple[int, int]]:
    """(row, column) of every cell inside a merged range: one pass, so a sheet's cells are looked up in O(1)."""
    return {(r, c) for m in ws.merged_cells.ranges
            for r in range(m.min_row, m.max_row + 1) for c in range(m.min_col, m.max_col + 1)}


def fit_columns(ws, *, last_col: int, maximum: float = 60.0, minimum: float = 6.0,
                at_least: dict[int, float] | None = None, first_row: int = 1) -> None:
    """Column widths from content: each column as wide as its widest number or unwrapped text (headers and long
    texts wrap instead, up to `maximum` characters; `at_least` gives columns whose cells are formulas the width
    their values need). Text wider than its column is set to wrap, so it never runs into the next column."""
    need: dict[int, float] = {c: minimum for c in range(1, last_col + 1)}
    merged = _merged_cells(ws)
    for c, width in (at_least or {}).items():
        need[c] = max(need.get(c, minimum), width)
    for row in ws.iter_rows(min_row=first_row, max_col=last_col):
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in merged or (cell.data_type == "f"):
                continue
            text = display_text(cell.value, cell.number_format)
            wraps = cell.alignment is not None and cell.alignment.wrap_text
            longest_word = max((len(w) for w in text.split()), default=0)
            if isinstance(cell.value, str):  # text wraps beyond `maximum`; a number never wraps, so it sets the width
                need[cell.column] = max(need[cell.column], min(maximum, (longest_word if wraps else len(text)) + 2))
            else:
                need[cell.column] = max(need[cell.column], len(text) + 2)
    for c, width in need.items():
        ws.column_dimensions[get_column_letter(c)].width = width
    for row in ws.iter_rows(min_row=first_row, max_col=last_col):
        for cell in row:
            too_wide = isinstance(cell.value, str) and len(cell.value) + 2 > need[cell.column]
            if too_wide and (cell.row, cell.column) not in merged:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _row_heights(ws) -> None:
    """Every row holding wrapped text as tall as its most wrapped cell, so wrapped headers do not overlap the
    first data row (LibreOffice and Excel do not grow a row whose height a file leaves unset when printing)."""
    tallest: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if (isinstance(cell.value, str) and cell.data_type != "f" and cell.alignment is not None
                    and cell.alignment.wrap_text):
                lines = wrapped_lines(cell.value, _merged_width(ws, cell))
                tallest[cell.row] = max(tallest.get(cell.row, 1), lines)
    for r, lines in tallest.items():
        if lines > 1 and not ws.row_dimensions[r].height:  # a height the writer set (a formula's text) stays
            ws.row_dimensions[r].height = LINE_HEIGHT_POINTS * lines + 2
    for r in tallest:  # the row's other cells (labels, numbers) align with the first line of the wrapped text
        for cell in ws[r]:
            if cell.value is not None and not (cell.alignment is not None and cell.alignment.wrap_text):
                cell.alignment = Alignment(vertical="top", horizontal=cell.alignment.horizontal)


def _chart_extent(ws) -> tuple[int, int]:
    """Last column and row the sheet's charts cover (anchored at a cell, sized in cm), so the print area holds
    them."""
    last_col, last_row = 1, 1
    for chart in getattr(ws, "_charts", []):
        anchor = chart.anchor if isinstance(chart.anchor, str) else "A1"
        m = re.match(r"([A-Z]+)(\d+)", anchor)
        col, row = (column_index_from_string(m.group(1)), int(m.group(2))) if m else (1, 1)
        width_cm, c = 0.0, col
        while width_cm < chart.width:
            width_cm += _width_chars(ws, c) * _CM_PER_WIDTH_CHAR
            c += 1
        height_cm, r = 0.0, row
        while height_cm < chart.height:
            height = ws.row_dimensions[r].height or LINE_HEIGHT_POINTS
            height_cm += height * _CM_PER_POINT
            r += 1
        last_col, last_row = max(last_col, c), max(last_row, r)
    return last_col, last_row


#: Characters of column width one landscape page prints legibly (about 7-point type); a wider table spreads over
#: more pages across, its header row and first column repeated, instead of shrinking to an unreadable tenth.
PAGE_WIDTH_CHARS = 230


def finish_sheet(ws, *, freeze: str | None = "A2", last_col: int | None = None) -> None:
    """Frozen header, rows tall enough for their wrapped text, a print area over the used range and the charts,
    landscape, fit to one page wide (or, for a table wider than a page, as many pages as it needs, titles
    repeated)."""
    ws.freeze_panes = freeze
    _row_heights(ws)
    chart_col, chart_row = _chart_extent(ws)
    columns = max(last_col or ws.max_column, chart_col)
    ws.print_area = f"A1:{get_column_letter(columns)}{max(ws.max_row, chart_row)}"
    ws.page_setup.orientation = "landscape"
    pages = math.ceil(sum(_width_chars(ws, c) for c in range(1, columns + 1)) / PAGE_WIDTH_CHARS)
    ws.page_setup.fitToWidth = max(1, pages)
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if pages > 1 and freeze == "A2":  # a table: every page shows which column is which
        ws.print_title_rows = "1:1"
        ws.print_title_cols = "A:A"
