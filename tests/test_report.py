"""The workbook: contents, text-not-formula safety, atomic replacement, determinism."""

from pathlib import Path

import openpyxl
import pytest

import tco
from tco.atomic import atomic_write
from tco.report.excel import write_workbook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result():
    return tco.optimize(tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml"))


def test_workbook_has_inputs_and_results(result, tmp_path):
    path = write_workbook(result, tmp_path / "deep" / "folder" / "r.xlsx")  # folders are created
    wb = openpyxl.load_workbook(path)
    rows = {r[0]: r[1:] for r in wb["Results"].iter_rows(min_row=2, values_only=True)}
    assert rows["params"][0] == pytest.approx(result.optimal.params)
    assert rows["total_cost_usd"][1] == pytest.approx(result.chinchilla.total_cost_usd)
    assert rows["total_cost_usd"][2] == pytest.approx(0.8876, rel=5e-4)
    inputs = dict(wb["Inputs"].iter_rows(min_row=2, values_only=True))
    assert inputs["training.price_usd_per_hour"] == 1.4
    assert inputs["serving.peak_flops"] == 624e12
    assert inputs["law.name"] == "sardana2024"


def test_formula_like_strings_are_text(tmp_path):
    sc = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    data = sc.model_dump()
    data["name"] = "=HYPERLINK(\"http://x\",\"y\")"
    data["law"] = {**tco.get_law("sardana2024").constants(), "name": "+cmd", "source": "@evil"}
    result = tco.optimize(tco.scenario_from_dict(data))
    path = write_workbook(result, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "@"))]
    assert len(risky) >= 3
    assert all(c.data_type == "s" for c in risky)  # stored as strings, never formulas


def test_failed_write_keeps_the_earlier_report(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"earlier report")

    def explode(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, explode)
    assert path.read_bytes() == b"earlier report"
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_reports_are_deterministic(result, tmp_path):
    a = openpyxl.load_workbook(write_workbook(result, tmp_path / "a.xlsx"))
    b = openpyxl.load_workbook(write_workbook(result, tmp_path / "b.xlsx"))
    for sa, sb in zip(a, b):
        assert [[c.value for c in r] for r in sa.iter_rows()] == [[c.value for c in r] for r in sb.iter_rows()]
