"""The workbook: sheets, named inputs, formulas, charts, text safety, atomic replacement, determinism."""

from pathlib import Path

import openpyxl
import pytest

import tco
from tco.atomic import atomic_write
from tco.report.excel import recommendation, write_report
from tco.studies import prepare

ROOT = Path(__file__).resolve().parents[1]
SHEETS = ["Summary", "Inputs", "Costs", "Sizing", "Demand sweep", "Charts", "Hardware", "Law"]


@pytest.fixture(scope="module")
def entry():
    return prepare(tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml"))


@pytest.fixture(scope="module")
def workbook(entry, tmp_path_factory):
    path = write_report(entry, tmp_path_factory.mktemp("wb") / "deep" / "folder" / "r.xlsx")  # folders created
    return openpyxl.load_workbook(path)


def test_sheets_and_layout(workbook):
    assert workbook.sheetnames == SHEETS
    for ws in workbook:
        assert len(ws.title) <= 31
        assert ws.print_area, ws.title
        if ws.title != "Charts":
            assert ws.freeze_panes, ws.title


def test_inputs_are_named_cells_with_units_and_sources(workbook):
    names = workbook.defined_names
    for name in ("train_price_usd_per_hour", "serve_price_usd_per_hour", "train_mfu", "prefill_mfu",
                 "decode_mfu", "train_peak_flops", "serve_peak_flops", "requests", "lifetime_prompt_tokens"):
        assert name in names, name
    sheet, ref = next(names["train_price_usd_per_hour"].destinations)
    cell = workbook[sheet][ref.replace("$", "")]
    assert cell.value == 1.4
    row = [c.value for c in workbook[sheet][cell.row]]
    assert row[3] == "$ per device-hour" and row[4] == "scenario"
    sheet, ref = next(names["train_peak_flops"].destinations)
    assert "NVIDIA A100" in workbook[sheet][ref.replace("$", "")].offset(column=2).value
    # Derived demand is a formula of the inputs, so changing requests moves it.
    sheet, ref = next(names["lifetime_prompt_tokens"].destinations)
    assert workbook[sheet][ref.replace("$", "")].value == "=requests*prompt_tokens_per_request"


def test_costs_are_live_formulas_with_a_note_on_solved_values(workbook, entry):
    ws = workbook["Costs"]
    labels = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    n = ws.cell(labels["Parameters N"], 3)
    assert n.value == pytest.approx(entry.result.optimal.params)
    assert "tco optimize" in n.comment.text
    assert ws.cell(labels["Training FLOPs"], 3).value == (  # 6 N D + attention at sequence_length / 2
        "=6*C2*C3+3*attn_flops_coef*C2^attn_flops_exp*train_sequence_length/2*C3")
    assert ws.cell(labels["Training cost"], 4).value.startswith("=D")
    assert "train_price_usd_per_hour" in ws.cell(labels["Training cost"], 3).value
    assert "serve_price_usd_per_hour" in ws.cell(labels["Decode cost"], 3).value
    assert ws.cell(labels["Loss"], 3).value == "=law_E+law_A/C2^law_alpha+law_B/C3^law_beta"
    assert ws.cell(labels["Total cost"], 3).number_format == "$#,##0"
    assert ws.cell(labels["Training FLOPs"], 3).number_format == '#,##0.000,,,,,,," ZFLOP"'  # never 1.2E+23


def test_summary_says_it_in_plain_words(workbook, entry):
    ws = workbook["Summary"]
    text = recommendation(entry.result)
    assert text.startswith("Train a 20.5B-parameter model on 3.30T tokens (161 tokens per parameter, 1.82x the "
                           "compute-optimal data")
    assert text.endswith("less than the compute-optimal design at the same loss.")
    # the sheet holds the sentence as a formula: the solved design as text, the money from the Costs names
    formula = ws["A3"].value
    assert formula.startswith('="Train a 20.5B-parameter model') and "TEXT(optimal_total_cost_usd," in formula
    assert "TEXT(ABS(savings_total_cost_usd)," in formula
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(6, ws.max_row + 1)}
    assert values["Total lifetime cost"] == "=optimal_total_cost_usd"
    assert values["Binding constraints"].startswith("none")
    assert "Sardana" in values["Law"]
    assert values["Re-solve after changing inputs"].startswith("tco optimize ")


def test_demand_sweep_and_native_charts(workbook, entry):
    ws = workbook["Demand sweep"]
    assert ws.max_row - 1 == len(entry.sweep) >= 40
    assert ws["A2"].value == pytest.approx(1e9) and ws.cell(ws.max_row, 1).value == pytest.approx(1e16)
    assert ws["B1"].value == "optimal N (parameters)"
    charts = workbook["Charts"]._charts
    assert len(charts) == 4
    kinds = sorted(type(c).__name__ for c in charts)
    assert kinds == ["BarChart", "ScatterChart", "ScatterChart", "ScatterChart"]
    log_axes = [c for c in charts if getattr(c.x_axis.scaling, "logBase", None) == 10]
    assert len(log_axes) == 3


def test_hardware_and_law_sheets(workbook):
    hw = {r[0]: r[2:] for r in workbook["Hardware"].iter_rows(min_row=2, values_only=True)}
    assert hw["device"] == ("A100 80GB", "A100 40GB")
    assert hw["price in force"] == (1.4, 0.6)
    law = {r[0]: r[1] for r in workbook["Law"].iter_rows(min_row=2, values_only=True)}
    assert law["alpha"] == 0.336 and "Sardana" in law["source"]


def test_formula_like_strings_are_text(tmp_path):
    sc = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    data = sc.model_dump()
    data["name"] = "=HYPERLINK(\"http://x\",\"y\")"
    data["description"] = "=1+1"
    data["training"]["hardware"] = {"name": "-2+3", "peak_flops": {"bf16": 312e12}}
    data["law"] = {**tco.get_law("sardana2024").constants(), "name": "+cmd", "source": "@evil"}
    path = write_report(prepare(tco.scenario_from_dict(data), sweep_points=5), tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    ours = [c for c in cells if c.data_type == "f"]
    assert all(not any(bad in c.value for bad in ("HYPERLINK", "cmd", "evil")) for c in ours)
    risky = [c for c in cells if c.data_type != "f" and c.value.startswith(("=", "+", "-", "@"))]
    assert {"=1+1", "-2+3", "+cmd", "@evil"} <= {c.value for c in risky}


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


def test_crash_inside_the_writer_leaves_no_file(entry, tmp_path, monkeypatch):
    from tco.report import excel

    def boom(*args, **kwargs):
        raise RuntimeError("bug in a sheet writer")

    monkeypatch.setattr(excel, "write_law", boom)
    with pytest.raises(RuntimeError):
        write_report(entry, tmp_path / "r.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_two_runs_give_identical_cell_contents(tmp_path):
    scenario = ROOT / "scenarios" / "capped-deadline-and-data.yaml"
    paths = [write_report(prepare(tco.load_scenario(scenario)), tmp_path / f"{k}.xlsx") for k in "ab"]
    a, b = (openpyxl.load_workbook(p) for p in paths)
    assert a.sheetnames == b.sheetnames
    for sa, sb in zip(a, b):
        assert [[c.value for c in r] for r in sa.iter_rows()] == [[c.value for c in r] for r in sb.iter_rows()]


def test_comparison_workbook(tmp_path):
    entries = [prepare(tco.load_scenario(ROOT / "scenarios" / name), sweep_points=10)
               for name in ("sardana-cost-objective.yaml", "capped-deadline-and-data.yaml",
                            "chat-assistant-70b-quality.yaml")]
    wb = openpyxl.load_workbook(write_report(entries, tmp_path / "compare.xlsx"))
    assert wb.sheetnames[0] == "Comparison"
    assert len(wb.sheetnames) == 1 + 3 * len(SHEETS)
    assert "S3 Demand sweep" in wb.sheetnames
    ws = wb["Comparison"]
    assert [c.value for c in ws[1]][1:] == ["S1: sardana-cost-objective", "S2: capped-deadline-and-data",
                                            "S3: chat-assistant-70b-quality"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value.startswith("Total lifetime cost"))
    assert [c.value for c in row[1:]] == ["=s1_optimal_total_cost_usd", "=s2_optimal_total_cost_usd",
                                          "=s3_optimal_total_cost_usd"]
    assert "s2_train_price_usd_per_hour" in wb.defined_names
