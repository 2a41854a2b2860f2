"""Text that reaches a terminal, a workbook or a file: every user string field against hostile strings.

Control characters are refused at load (exit 2, one line naming the file and the field path); rich markup and
formula-looking text are allowed and come out literally, on the terminal and in the workbook; cells are capped
at Excel's 32,767 characters; file names copied into law files stay on one line.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from openpyxl import Workbook

from tco.scenario.law import load_law_file
from tco.text import DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, check_text, one_line
from tco.xlsx import EXCEL_CELL_MAX_CHARS, cell_text, put, sheet_title

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "scenarios" / "chat-assistant-70b-quality.yaml").read_text())
INLINE_LAW = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
INLINE_DEVICE = {"name": "H100 SXM", "memory_gb": 80}


def _with(path: tuple, value) -> dict:
    """The bundled chat-assistant scenario with `value` at `path` (inline law or device where the path needs one)."""
    data = copy.deepcopy(BASE)
    if path[0] == "law" and len(path) > 1:
        data["law"] = dict(INLINE_LAW)
    if path[:2] == ("training", "hardware") and len(path) > 2:
        data["training"]["hardware"] = dict(INLINE_DEVICE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _write(tmp_path: Path, data: dict, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=False), encoding="utf-8")
    return path


# --- (a) refused at load ----------------------------------------------------------------------------------------
#: field path -> kind ("name", "description", "source", "path"): which limit applies
FIELDS = {
    ("name",): "name",
    ("description",): "description",
    ("training", "hardware"): "name",
    ("training", "dtype"): "name",
    ("training", "hardware", "name"): "name",
    ("training", "hardware", "source"): "source",
    ("law",): "path",
    ("law", "name"): "name",
    ("law", "source"): "source",
}
TOO_LONG = {"name": "n" * 300, "description": "d" * 50_000, "source": "s" * 5_000, "path": "p" * 5_000 + ".yaml"}
CONTROL = {
    "nul": "a\x00b",
    "ansi": "\x1b[31mred\x1b[0m",
    "nel": "a\x85b",
    "cr": "a\rb",
    "bidi-override": "abc\u202edcba",
    "del": "a\x7fb",
}


def _cases():
    for path, kind in FIELDS.items():
        for label, value in CONTROL.items():
            yield pytest.param(path, value, id=f"{'.'.join(path)}-{label}")
        if kind != "description":
            yield pytest.param(path, "two\nlines", id=f"{'.'.join(path)}-newline")
        yield pytest.param(path, TOO_LONG[kind], id=f"{'.'.join(path)}-too-long")


def _one_error_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, repr(err[:500])
    assert "Traceback" not in err and "\x1b" not in err and "\r" not in err and "\x00" not in err
    return err


@pytest.mark.parametrize("path, value", list(_cases()))
def test_hostile_text_is_refused_at_load_with_one_line(tco_run, tmp_path, path, value):
    scenario = _write(tmp_path, _with(path, value))
    code, out, err = tco_run("optimize", scenario, "--no-report")
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert f"{scenario}: {'.'.join(path)}: " in line, line
    assert ("characters long" in line) if value in TOO_LONG.values() else ("U+" in line)
    assert len(line) < 1_000  # the offending text is named, not echoed


@pytest.mark.parametrize("path, value", [
    (("training", "hardware", "peak_flops"), {"bf\x1b[31m16": 9e14}),
    (("uncertainty",), {"inputs": {"demand.req\x1b[31muests": {"loguniform": ["1B", "20B"]}}}),
    (("uncertainty",), {"law": {"normal": {"E\n": 0.03}}}),
], ids=["peak_flops", "uncertainty.inputs", "uncertainty.law.normal"])
def test_hostile_dict_key_gives_one_visible_line(tco_run, tmp_path, path, value):
    scenario = _write(tmp_path, _with(path, value))
    code, _, err = tco_run("optimize", scenario, "--no-report")
    assert code == 2
    line = _one_error_line(err)
    assert f"{scenario}: {'.'.join(path)}." in line and ("\\x1b" in line or "\\n" in line)


def test_law_file_text_is_checked_when_a_scenario_loads_it(tco_run, tmp_path):
    (tmp_path / "laws").mkdir()
    (tmp_path / "laws" / "ours.yaml").write_text(yaml.safe_dump({"law": {**INLINE_LAW, "source": "x\x1b[2Jy"}}))
    scenario = _write(tmp_path, _with(("law",), "laws/ours.yaml"))
    code, _, err = tco_run("optimize", scenario, "--no-report")
    assert code == 2
    line = _one_error_line(err)
    assert "law.source" in line and "U+001B" in line


def test_a_file_name_with_a_newline_gives_one_line_and_a_visible_default_name(tco_run, tmp_path):
    data = copy.deepcopy(BASE)
    del data["name"]
    good = _write(tmp_path, data, name="two\nlines\x1b.yaml")
    code, out, err = tco_run("optimize", good, "--no-report")
    assert code == 0, err
    assert "two\\nlines\\x1b" in out  # the default name is the stem, made visible
    data["target"] = {"loss": 0.5}
    bad = _write(tmp_path, data, name="bad\nfile.yaml")
    code, _, err = tco_run("optimize", bad, "--no-report")
    assert code == 2
    assert "bad\\nfile.yaml: target.loss" in _one_error_line(err)


def test_description_limits_newlines_and_tabs():
    assert check_text("line one\n\tline two", max_chars=DESCRIPTION_MAX_CHARS, newlines=True)
    assert check_text("tab\tok", max_chars=NAME_MAX_CHARS)
    assert check_text("d" * DESCRIPTION_MAX_CHARS, max_chars=DESCRIPTION_MAX_CHARS, newlines=True)
    with pytest.raises(ValueError, match="newline"):
        check_text("a\nb", max_chars=NAME_MAX_CHARS)
    with pytest.raises(ValueError, match="carriage return"):
        check_text("a\r\nb", max_chars=DESCRIPTION_MAX_CHARS, newlines=True)
    assert one_line("a\nb\x1b[0m\u2028c\td") == "a\\nb\\x1b[0m\\u2028c\\td"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"


# --- (b), (c) allowed but tricky: printed and written literally --------------------------------------------------
TRICKY = {
    "markup": "[bold red]x[/] [/]",
    "link": "[link=file:///etc/passwd]x[/link]",
    "formula": '=HYPERLINK("http://example.com","click")',
}


def _summary_texts(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)["Summary"]
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


@pytest.mark.parametrize("label", list(TRICKY))
@pytest.mark.parametrize("path", [("name",), ("description",), ("law", "name"), ("training", "hardware", "source")],
                         ids=".".join)
def test_tricky_text_prints_and_is_written_literally(tco_run, tmp_path, path, label):
    text = TRICKY[label]
    out_path = tmp_path / "report.xlsx"
    code, out, err = tco_run("optimize", _write(tmp_path, _with(path, text)), "--out", out_path)
    assert code == 0, err
    if path != ("description",) and path != ("training", "hardware", "source"):  # these two reach only the workbook
        assert text in out
    cells = _summary_texts(out_path)
    assert any(text in c for c in cells), cells
    if label == "formula" and path == ("description",):
        ws = openpyxl.load_workbook(out_path)["Summary"]
        assert ws["A2"].value == text and ws["A2"].data_type == "s"


def test_tricky_names_in_other_commands(tco_run, tmp_path):
    text = TRICKY["markup"]
    scenario = _write(tmp_path, _with(("name",), text))
    code, out, err = tco_run("breakeven", scenario, "--tokens-per-param", "200")
    assert code == 0, err
    assert text in out
    code, out, err = tco_run("sensitivity", scenario, "--no-report")
    assert code == 0, err
    assert text in out
    code, out, err = tco_run("report", scenario, "--out", tmp_path / "[bold]compare[/].xlsx")
    assert code == 0, err
    assert text in out and "[bold]compare[/].xlsx" in out


# --- (c) the workbook helpers: last line of defence ---------------------------------------------------------------
def test_cells_are_capped_with_a_note_and_stripped_of_illegal_characters(tmp_path):
    wb = Workbook()
    ws = wb.active
    put(ws, 1, 1, "d" * 50_000)
    put(ws, 2, 1, "\x00=HYPERLINK(\"http://example.com\")")
    put(ws, 3, 1, "a\x1b[31mb\x0bc")
    put(ws, 4, 1, "d" * EXCEL_CELL_MAX_CHARS)
    ws.title = sheet_title("'x\x00[y]'")
    wb.save(tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    first = ws["A1"].value
    assert len(first) == EXCEL_CELL_MAX_CHARS and first.endswith("… truncated, 50,000 characters")
    assert ws["A2"].value == '=HYPERLINK("http://example.com")' and ws["A2"].data_type == "s"
    assert ws["A3"].value == "a[31mbc"
    assert ws["A4"].value == "d" * EXCEL_CELL_MAX_CHARS
    assert ws.title == "x-y-"
    assert cell_text("plain") == "plain"


def test_longest_description_reaches_the_summary_whole(tco_run, tmp_path):
    text = ("word " * (DESCRIPTION_MAX_CHARS // 5))[:DESCRIPTION_MAX_CHARS - 1] + "\n"
    out_path = tmp_path / "r.xlsx"
    code, _, err = tco_run("optimize", _write(tmp_path, _with(("description",), text)), "--out", out_path)
    assert code == 0, err
    assert openpyxl.load_workbook(out_path)["Summary"]["A2"].value == text


# --- (d) text copied into files: tco fit --------------------------------------------------------------------------
def _csv(path: Path) -> Path:
    params, tpp = np.meshgrid(np.logspace(7, 10, 6), np.logspace(np.log10(5), np.log10(500), 5))
    params = params.ravel()
    tokens = params * tpp.ravel()
    loss = 1.8 + 480.0 / params ** 0.35 + 2000.0 / tokens ** 0.37
    path.write_text("params,tokens,loss\n" + "".join(f"{n:.17g},{d:.17g},{y:.17g}\n"
                                                    for n, d, y in zip(params, tokens, loss)))
    return path


def test_fit_csv_name_with_a_newline_stays_on_one_line_in_the_law_file(tco_run, tmp_path):
    csv = _csv(tmp_path / "runs\nlaw: {E: 9}\x1b[2J.csv")
    out = tmp_path / "our\nlaw.yaml"
    code, stdout, err = tco_run("fit", csv, "--out", out, "--starts", 60, "--bootstrap", 0,
                                "--plot", tmp_path / "fit.png", "--xlsx", tmp_path / "fit.xlsx")
    assert code == 0, err
    text = out.read_text()
    assert "\x1b" not in text and "\r" not in text
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        line for line in text.splitlines()[:2]]  # the two comment lines, nothing spilled out of them
    doc = yaml.safe_load(text)
    source = doc["law"]["source"]
    assert "\n" not in source and source.startswith("tco fit runs\\nlaw: {E: 9}\\x1b[2J.csv (sha256 ")
    assert any(source in line for line in text.splitlines())  # written on one line of the file
    assert doc["law"]["name"] == "our\\nlaw" and "\n" not in doc["fit"]["data_file"]
    law = load_law_file(out).law
    assert law.name == "our\\nlaw" and law.E != 9
    assert "\x1b" not in stdout


def test_fit_name_with_control_characters_is_refused(tco_run, tmp_path):
    csv = _csv(tmp_path / "runs.csv")
    code, _, err = tco_run("fit", csv, "--out", tmp_path / "l.yaml", "--name", "x\x1b[31m", "--starts", 10,
                           "--bootstrap", 0)
    assert code == 2
    assert "--name: contains an escape character" in _one_error_line(err)


def test_fit_markup_and_dollar_names_are_literal(tco_run, tmp_path):
    csv = _csv(tmp_path / "[bold]$x^$runs.csv")
    code, stdout, err = tco_run("fit", csv, "--out", tmp_path / "l.yaml", "--name", "[red]$\\frac$[/]",
                                "--starts", 60, "--bootstrap", 0, "--plot", tmp_path / "fit.png")
    assert code == 0, err
    assert "[red]$\\frac$[/]" in stdout and "[bold]$x^$runs.csv" in stdout
    assert load_law_file(tmp_path / "l.yaml").law.name == "[red]$\\frac$[/]"


def test_an_output_path_with_a_newline_prints_as_one_visible_line(tco_run, tmp_path):
    out_path = tmp_path / "two\nlines\x1b[31m.xlsx"
    code, out, err = tco_run("optimize", ROOT / "scenarios" / "chat-assistant-70b-quality.yaml", "--out", out_path)
    assert code == 0, err
    assert out_path.exists() and "\x1b" not in out
    assert any(line.startswith("report written to ") and line.endswith("two\\nlines\\x1b[31m.xlsx")
               for line in out.splitlines())
