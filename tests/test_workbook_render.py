"""Render every workbook tco writes (each bundled scenario's report, a comparison, a sweep, a sensitivity and a
Monte Carlo workbook) to PDF with LibreOffice in ONE soffice run, then check what a reader would see:

- the printed text (ghostscript's txtwrite) has no error value, no '###' (a number wider than its column), no
  scientific notation ('E+');
- every numeric or text cell fits its column, wraps in a row tall enough for its lines, or (text only) runs into
  empty cells inside the print area;
- wrapped header rows are tall enough; every sheet has a print area and prints one page wide (a table wider than
  a legible page: as many pages as it needs, its header row repeated).

Skips where LibreOffice or ghostscript is missing, unless TCO_REQUIRE_LIBREOFFICE=1 (then a missing soffice or gs
fails).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

import tco
from tco.report.excel import write_report
from tco.studies import prepare
from tco.xlsx import LINE_HEIGHT_POINTS, PAGE_WIDTH_CHARS, display_text, wrapped_lines

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
GS = shutil.which("gs")
ERRORS = ("#VALUE!", "#REF!", "#NAME?", "#DIV/0!", "#NUM!", "#N/A", "Err:", "###")

if (SOFFICE is None or GS is None) and os.environ.get("TCO_REQUIRE_LIBREOFFICE") == "1":
    raise RuntimeError("TCO_REQUIRE_LIBREOFFICE=1 but soffice or gs is not on PATH (apt-get install "
                       "libreoffice-calc ghostscript)")
pytestmark = pytest.mark.skipif(SOFFICE is None or GS is None, reason="LibreOffice (soffice) and ghostscript (gs) "
                                "render the workbooks; install libreoffice-calc and ghostscript to run these tests")


def _study_workbooks(folder: Path) -> list[Path]:
    from tco.studies.excel import write_montecarlo_workbook, write_sensitivity_workbook, write_sweep_workbook
    from tco.studies.grid import grid_sweep, parse_grid
    from tco.studies.montecarlo import monte_carlo
    from tco.studies.sensitivity import sensitivity

    chat = tco.load_scenario(ROOT / "scenarios" / "chat-assistant-70b-quality.yaml")
    axes = parse_grid(["demand.requests=1e8:1e12:log:12", "training.price_usd_per_hour=1:4:lin:4"])
    frame = grid_sweep(chat, axes)
    uncertain = tco.load_scenario(ROOT / "scenarios" / "uncertain-demand-and-law.yaml")
    return [
        # capped below the grid's 48 rows: the note under the table must print too
        write_sweep_workbook(frame, axes, chat, folder / "sweep.xlsx", max_rows=40, table="sweep.csv"),
        write_sensitivity_workbook(sensitivity(chat), chat, folder / "sensitivity.xlsx"),
        write_montecarlo_workbook(monte_carlo(uncertain, samples=2000, keep_draws=True), uncertain,
                                  folder / "montecarlo.xlsx"),
    ]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """{workbook path: printed text}, every workbook converted by one soffice run."""
    folder = tmp_path_factory.mktemp("render")
    entries = [prepare(tco.load_scenario(path), sweep_points=8) for path in SCENARIOS]
    paths = [write_report(e, folder / f"{e.scenario.name}.xlsx") for e in entries]
    paths.append(write_report(entries[:2], folder / "comparison.xlsx"))
    paths += _study_workbooks(folder)
    out = folder / "pdf"
    subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={(folder / 'lo').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(out), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    texts = {}
    for path in paths:
        pdf = out / f"{path.stem}.pdf"
        assert pdf.exists(), f"LibreOffice did not render {path.name}"
        texts[path] = subprocess.run([GS, "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite", "-sOutputFile=-",
                                      str(pdf)], check=True, capture_output=True, text=True).stdout
    return texts


def test_every_workbook_renders_without_errors_hashes_or_scientific_notation(rendered):
    assert len(rendered) == len(SCENARIOS) + 4
    for path, text in rendered.items():
        assert "Train a " in text or path.stem in ("sweep", "sensitivity", "montecarlo"), path.name
        for bad in ERRORS:
            assert bad not in text, f"{path.name} prints {bad!r}"
        assert not re.search(r"\dE\+\d", text), f"{path.name} prints scientific notation: " + \
            re.search(r".{0,30}\dE\+\d.{0,10}", text).group(0)
        for label in ("Chinchilla design", "vs Chinchilla", "the Chinchilla baseline", "chinchilla (same loss)"):
            assert label not in text, f"{path.name} labels the baseline {label!r}"


def _merged(ws):
    return {cell: m for m in ws.merged_cells.ranges for row in ws.iter_rows(
        min_row=m.min_row, max_row=m.max_row, min_col=m.min_col, max_col=m.max_col) for cell in
        (c.coordinate for c in row)}


def _width(ws, col: int) -> float:
    from openpyxl.utils import get_column_letter

    return ws.column_dimensions[get_column_letter(col)].width or 8.43


def _print_columns(ws) -> int:
    from openpyxl.utils import column_index_from_string

    area = str(ws.print_area).split(":")[-1].replace("$", "")
    return column_index_from_string(re.match(r"[A-Z]+", area).group(0))


def _check_sheet(ws) -> list[str]:
    problems = []
    merged = _merged(ws)
    last_col = _print_columns(ws)
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None or cell.data_type == "f":  # formulas: the PDF check catches '###'
                continue
            if cell.coordinate in merged:
                m = merged[cell.coordinate]
                if cell.coordinate != m.start_cell.coordinate:
                    continue
                width = sum(_width(ws, c) for c in range(m.min_col, m.max_col + 1))
            else:
                width = _width(ws, cell.column)
            text = display_text(cell.value, cell.number_format)
            wraps = cell.alignment is not None and cell.alignment.wrap_text
            if wraps and isinstance(cell.value, str):
                lines = wrapped_lines(text, width)
                height = ws.row_dimensions[cell.row].height or LINE_HEIGHT_POINTS
                if lines > 1 and height < lines * LINE_HEIGHT_POINTS:
                    problems.append(f"{cell.coordinate}: {lines} lines in a row {height:g} points tall")
                continue
            if len(text) + 1 <= width:
                continue
            if isinstance(cell.value, str):  # text may run on into empty cells, but not off the printed page
                room, c = width, cell.column + 1
                while room < len(text) + 1 and c <= last_col and ws.cell(cell.row, c).value is None \
                        and ws.cell(cell.row, c).coordinate not in merged:
                    room, c = room + _width(ws, c), c + 1
                if room >= len(text) + 1:
                    continue
            problems.append(f"{cell.coordinate}: {text[:40]!r} ({len(text)} characters) in a column {width:g} wide")
    return problems


def test_every_cell_fits_its_column_or_wraps_in_a_tall_enough_row(rendered):
    problems = []
    for path in rendered:
        for ws in openpyxl.load_workbook(path):
            problems += [f"{path.name} {ws.title}!{p}" for p in _check_sheet(ws)]
    assert not problems, "\n".join(problems[:20])


def test_every_sheet_prints_its_content_legibly_wide(rendered):
    for path in rendered:
        for ws in openpyxl.load_workbook(path):
            assert ws.print_area, f"{path.name} {ws.title}"
            assert ws.sheet_properties.pageSetUpPr.fitToPage, f"{path.name} {ws.title}"
            width = sum(_width(ws, c) for c in range(1, _print_columns(ws) + 1))
            pages = ws.page_setup.fitToWidth  # one page wide, or as many as a wide table needs to stay legible
            assert pages == max(1, -(-width // PAGE_WIDTH_CHARS)), f"{path.name} {ws.title}"
            if pages > 1 and ws.freeze_panes == "A2":
                assert str(ws.print_title_rows).replace("$", "") == "1:1", f"{path.name} {ws.title}"
            last_row = int(re.findall(r"\d+", str(ws.print_area))[-1])
            assert last_row >= ws.max_row and _print_columns(ws) >= ws.max_column, f"{path.name} {ws.title}"


def test_monte_carlo_leads_with_the_median_and_flags_a_heavy_tail(rendered):
    path = next(p for p in rendered if p.stem == "montecarlo")
    ws = openpyxl.load_workbook(path)["Monte Carlo"]
    titles = [c.value for c in ws[3]]
    assert titles[2:5] == ["median (P50)", "P10", "P90"] and titles.index("mean") > 4
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    cost = rows["Optimal lifetime cost"]
    mean, p90 = cost[titles.index("mean")], cost[titles.index("P90")]
    flagged = any(str(r[0]).startswith("Heavy tail: the mean of optimal lifetime cost") for r in rows.values())
    assert flagged == (mean > p90)  # the uncertain law gives this scenario a heavy cost tail
    assert "Heavy tail" in rendered[path] or mean <= p90


def test_sweep_workbook_is_capped_with_a_note(rendered):
    path = next(p for p in rendered if p.stem == "sweep")
    ws = openpyxl.load_workbook(path)["Sweep"]
    assert ws.cell(41, 1).value is not None and ws.cell(42, 1).value is None  # 40 rows under the header
    assert "40 of 48 rows" in rendered[path]  # ("first" prints with an fi ligature) and "--xlsx-rows" in rendered[path]
