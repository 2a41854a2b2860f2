"""A cost term owns every view of itself: registering one new term from this file (checkpoint storage, $ per
stored parameter) puts it in the optimum, the JSON breakdown, the terminal, the workbook (recalculated by
LibreOffice) and the sweeps, with no other file changed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console

import tco
from tco.model.build import build_model
from tco.model.costs import TERMS, CostTerm, InputRow, layout, registered
from tco.solve.regimes import solve_model
from tco.report.excel import write_report
from tco.studies import prepare
from tco.report.terminal import print_result
from tco.studies.sweep import demand_sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"
#: $ per parameter kept in checkpoints over the model's life: ~14 bytes per parameter (bf16 weights + fp32 Adam
#: states and master weights) x a few retained checkpoints x object-storage prices, rounded.
STORAGE_USD_PER_PARAM = 2.5e-6


@dataclass(frozen=True)
class CheckpointStorage(CostTerm):
    name = "checkpoint_storage"
    label = "Checkpoint storage"
    n_exp = 1
    d_exp = 0
    has_flops = False
    usd_formula = "={n}*{storage_usd_per_param}"

    @classmethod
    def input_rows(cls, scenario):
        return [InputRow("storage_usd_per_param", "Checkpoint storage", STORAGE_USD_PER_PARAM,
                         "$ per parameter", "test: ~14 bytes/param x retained checkpoints x storage $/byte")]

    @classmethod
    def from_scenario(cls, scenario):
        return cls(flops_coef=0.0, usd_coef=STORAGE_USD_PER_PARAM)


@pytest.fixture(scope="module")
def with_storage():
    scenario = tco.load_scenario(SCENARIO)
    base = tco.optimize(scenario)
    with registered(CheckpointStorage):
        result = tco.optimize(scenario)
    assert CheckpointStorage not in TERMS  # the block leaves the registry as it found it
    return scenario, base, result


def test_the_new_term_moves_the_optimum_and_the_gp_agrees_with_the_exact_solve(with_storage):
    scenario, base, result = with_storage
    storage = result.optimal.breakdown["checkpoint_storage"]
    assert storage == pytest.approx(STORAGE_USD_PER_PARAM * result.optimal.params, rel=1e-12)
    assert result.cross_check.agrees and result.cross_check.max_rel_diff < 1e-6
    assert result.optimal.params < base.optimal.params  # a cost per parameter favours a smaller model
    assert result.optimal.total_cost_usd == pytest.approx(sum(result.optimal.breakdown.values()), rel=1e-12)
    # independent of the registry: the same optimum as folding the $/parameter into the prefill coefficient
    model = build_model(scenario)
    prefill = model.term("prefill")
    folded = dataclasses.replace(model, terms=tuple(
        dataclasses.replace(t, usd_coef=t.usd_coef + STORAGE_USD_PER_PARAM) if t is prefill else t
        for t in model.terms))
    exact = solve_model(folded)
    assert result.optimal.params == pytest.approx(float(exact.params), rel=1e-9)
    assert result.optimal.tokens == pytest.approx(float(exact.tokens), rel=1e-9)


def test_json_and_terminal_list_the_new_term(with_storage):
    _, base, result = with_storage
    data = result.to_dict()
    for which, point in (("optimal", result.optimal), ("chinchilla", result.chinchilla)):
        assert data[which]["checkpoint_storage_cost_usd"] == pytest.approx(point.breakdown["checkpoint_storage"])
        parts = sum(data[which][f"{k}_cost_usd"] for k in ("training", "inference", "data", "checkpoint_storage"))
        assert data[which]["total_cost_usd"] == pytest.approx(parts, rel=1e-12)
    assert "checkpoint_storage_flops" not in data["optimal"]  # a term without FLOPs reports none
    assert set(base.to_dict()["optimal"]) < set(data["optimal"])  # every existing field is kept
    console = Console(width=200, record=True)
    print_result(result, console)
    text = console.export_text()
    row = next(line for line in text.splitlines() if "Checkpoint storage cost" in line)
    assert tco.units.format_usd(result.optimal.breakdown["checkpoint_storage"]) in row


def test_sweeps_carry_the_new_term(with_storage):
    scenario, _, result = with_storage
    with registered(CheckpointStorage):
        frame = demand_sweep(scenario, [1e10, 1e13, 1e15])
    assert list(frame["checkpoint_storage_cost_usd"]) == pytest.approx(
        list(STORAGE_USD_PER_PARAM * frame["params"]), rel=1e-12)
    parts = frame["training_cost_usd"] + frame["inference_cost_usd"] + frame["checkpoint_storage_cost_usd"]
    assert list(frame["total_cost_usd"]) == pytest.approx(list(parts + frame["data_cost_usd"]), rel=1e-12)
    assert [f.key for f in layout([*TERMS, CheckpointStorage])][-3] == "checkpoint_storage_cost_usd"


def test_workbook_recalculates_the_new_term_to_the_python_values(with_storage, tmp_path):
    from test_excel_recalc import SOFFICE, check_every_formula, expected_by_name, recalc

    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    scenario, _, result = with_storage
    with registered(CheckpointStorage):
        entry = prepare(scenario, sweep_points=12)
    path = write_report(entry, tmp_path / "storage.xlsx")
    (out,) = recalc([path], tmp_path / "out")
    assert check_every_formula(path, out, expected_by_name(entry)) >= 40
    values = openpyxl.load_workbook(out, data_only=True)

    def named(name):
        sheet, ref = next(values.defined_names[name].destinations)
        return values[sheet][ref.replace("$", "")].value

    assert named("optimal_checkpoint_storage_cost_usd") == pytest.approx(
        result.optimal.breakdown["checkpoint_storage"], rel=1e-9)
    assert named("optimal_total_cost_usd") == pytest.approx(result.optimal.total_cost_usd, rel=1e-9)
    assert named("storage_usd_per_param") == STORAGE_USD_PER_PARAM
    summary = [row[0] for row in values["Summary"].iter_rows(values_only=True)]
    assert "Checkpoint storage cost" in summary
    sweep_header = next(values["Demand sweep"].iter_rows(values_only=True))
    assert "checkpoint storage cost ($)" in sweep_header
    bars = openpyxl.load_workbook(path)["Charts"]._charts[-1]
    assert len(bars.series) == 5  # training, prefill, decode, data, checkpoint storage
