"""Sweeps, sensitivity and Monte Carlo: asserted numbers, determinism, engines, CLI."""

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import tco
from tco.studies.grid import grid_sweep, parse_vary
from tco.studies.montecarlo import monte_carlo
from tco.studies.sensitivity import sensitivity

ROOT = Path(__file__).resolve().parents[1]
UNCERTAIN = ROOT / "scenarios" / "uncertain-demand-and-law.yaml"


def with_uncertainty(**unc):
    data = tco.load_scenario(UNCERTAIN).model_dump()
    data["uncertainty"] = unc
    return tco.scenario_from_dict(data)


def test_parse_vary_forms():
    path, values = parse_vary("demand.requests=1e8:1e12:log:5")
    assert path == "demand.requests" and list(values) == pytest.approx([1e8, 1e9, 1e10, 1e11, 1e12])
    assert list(parse_vary("training.mfu=0.3:0.5:lin:3")[1]) == pytest.approx([0.3, 0.4, 0.5])
    assert list(parse_vary("demand.requests=1B,2.5B")[1]) == [1e9, 2.5e9]
    for bad in ("demand.requests", "x=1:2:cubic:3", "x=0:10:log:3", "x=1:2:lin:0", "x=7Q"):
        with pytest.raises(tco.TcoError, match="--vary"):
            parse_vary(bad)


def test_grid_is_the_full_product_and_matches_single_solves():
    scenario = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    axes = {"demand.requests": np.array([1e9, 1e10, 1e11]), "training.price_usd_per_hour": np.array([1.0, 2.0])}
    frame = grid_sweep(scenario, axes, progress=False)
    assert len(frame) == 6
    assert list(frame["training.price_usd_per_hour"]) == [1.0, 2.0] * 3
    row = frame.iloc[3]  # requests 1e10, price 2.0
    data = scenario.model_dump()
    data["demand"]["requests"], data["training"]["price_usd_per_hour"] = 1e10, 2.0
    assert row["optimal_params"] == pytest.approx(tco.optimize(tco.scenario_from_dict(data)).optimal.params, rel=1e-9)
    chunked = grid_sweep(scenario, axes, chunk=4, progress=False)  # two chunks give the same table
    pd.testing.assert_frame_equal(frame, chunked)


def test_sensitivity_on_a_known_scenario():
    scenario = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    frame = sensitivity(scenario, fraction=0.2)
    rows = frame.set_index("input")
    # Demand: 20% more requests -> exactly the optimum of that scenario.
    data = scenario.model_dump()
    data["demand"]["requests"] = 1.2e10
    more = tco.optimize(tco.scenario_from_dict(data))
    assert rows.loc["demand.requests", "total_cost_usd_high"] == pytest.approx(more.optimal.total_cost_usd, rel=1e-9)
    assert rows.loc["demand.requests", "params_high"] < rows.loc["demand.requests", "params_low"]
    # Training price scales training cost only: with N, D re-optimized, cost rises less than 20% x share.
    base = frame.attrs["base_total_cost_usd"]
    share = tco.optimize(scenario).optimal.training_cost_usd / base
    assert 0 < rows.loc["training.price_usd_per_hour", "cost_change_high"] < 0.2 * share + 1e-12
    # The loss target moves its reducible part; the MFU cap at 1 holds.
    assert rows.loc["target.loss", "low_value"] > tco.get_law("sardana2024").E
    assert frame["swing"].is_monotonic_decreasing
    assert set(frame["input"]) >= {"serving.decode_mfu", "serving.prefill_mfu", "training.mfu"}


def test_monte_carlo_quantiles_of_a_monotone_input_are_exact():
    """With only demand uncertain, the optimal N falls with demand: P10 of N is N at the P90 demand."""
    scenario = with_uncertainty(samples=200_000, seed=1, inputs={"demand.requests": {"loguniform": ["1B", "100B"]}})
    result = monte_carlo(scenario, progress=False)
    summary = result.summary.set_index("output")
    p90_demand = 10 ** (9 + 0.9 * 2)  # loguniform quantile
    data = scenario.model_dump()
    data.pop("uncertainty")
    data["demand"]["requests"] = p90_demand
    at_p90 = tco.optimize(tco.scenario_from_dict(data))
    assert summary.loc["optimal_params", "p10"] == pytest.approx(at_p90.optimal.params, rel=2e-3)
    assert result.probabilities["unreachable"] == 0.0 and result.unreachable == 0
    # A fixed over-trained design always beats the fixed Chinchilla design when only demand varies upward.
    assert 0.5 < result.probabilities["over_trained_design_cheaper_than_chinchilla_design"] <= 1.0


def test_monte_carlo_converges_and_is_reproducible():
    scenario = tco.load_scenario(UNCERTAIN)
    small = monte_carlo(scenario, samples=20_000, progress=False)
    large = monte_carlo(scenario, samples=200_000, progress=False)
    again = monte_carlo(scenario, samples=20_000, progress=False)
    pd.testing.assert_frame_equal(small.summary, again.summary)
    p50_small = small.summary.set_index("output").loc["savings_fraction", "p50"]
    p50_large = large.summary.set_index("output").loc["savings_fraction", "p50"]
    assert p50_small == pytest.approx(p50_large, abs=0.02)
    chunked = monte_carlo(scenario, samples=20_000, chunk=5_000, progress=False)  # other streams, same law
    assert chunked.summary.set_index("output").loc["savings_fraction", "p50"] == pytest.approx(p50_large, abs=0.02)
    assert any("independently" in w for w in small.warnings)


def test_monte_carlo_reports_unreachable_targets():
    # A target just above E with E uncertain: some sampled laws put E above the target.
    scenario = with_uncertainty(samples=20_000, seed=0, law={"normal": {"E": 0.03}})
    data = scenario.model_dump()
    data["target"] = {"loss": tco.get_law("besiroglu2024").E + 0.03}
    result = monte_carlo(tco.scenario_from_dict(data), progress=False)
    assert 0.1 < result.probabilities["unreachable"] < 0.25  # P(E_sample >= E + 1 SE) = 15.9%


def test_bad_distributions_are_clear_errors():
    with pytest.raises(tco.ScenarioError, match="uncertainty.inputs.demand.requests"):
        with_uncertainty(inputs={"demand.requests": {"uniform": ["20B", "1B"]}})
    scenario = with_uncertainty(inputs={"training.price_usd_per_hour": {"normal": {"mean": 1.0, "sd": 2.0}}})
    with pytest.raises(tco.ScenarioError, match="a sampled value is invalid"):
        monte_carlo(scenario, samples=1000, progress=False)
    with pytest.raises(tco.TcoError, match="declares no distributions"):
        monte_carlo(tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml"), progress=False)


def test_dask_engine_gives_identical_results():
    pytest.importorskip("distributed", reason="the dask engine needs pip install 'tco[dask]'")
    scenario = tco.load_scenario(UNCERTAIN)
    local = monte_carlo(scenario, samples=30_000, chunk=10_000, progress=False)
    distributed = monte_carlo(scenario, samples=30_000, chunk=10_000, engine="dask", progress=False)
    pd.testing.assert_frame_equal(local.summary, distributed.summary)
    axes = {"demand.requests": np.logspace(8, 12, 30), "serving.decode_mfu": np.array([0.05, 0.2])}
    pd.testing.assert_frame_equal(grid_sweep(scenario, axes, chunk=17, progress=False),
                                  grid_sweep(scenario, axes, chunk=17, engine="dask", progress=False))


def test_sweep_cli_writes_csv_parquet_and_workbook(tco_run, tmp_path):
    args = ["sweep", ROOT / "scenarios" / "chat-assistant-70b-quality.yaml", "--vary",
            "demand.requests=1e8..1e12:20", "--vary", "training.price_usd_per_hour=1..4:3:lin"]
    code, out, _ = tco_run(*args, "--out", tmp_path / "s.csv", "--xlsx", tmp_path / "s.xlsx",
                       "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["points"] == 60 and summary["feasible"] == 60
    table = pd.read_csv(tmp_path / "s.csv")
    assert len(table) == 60 and "optimal_params" in table
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx")
    assert wb.sheetnames == ["Sweep", "Charts", "Chart data", "Law"] and len(wb["Charts"]._charts) == 2
    pytest.importorskip("pyarrow")
    code, _, _ = tco_run(*args, "--out", tmp_path / "s.parquet", "--no-report")
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"), table, check_dtype=False)
    code, _, err = tco_run(*args[:2], "--vary", "training.colour=1,2")
    assert code == 2 and "cannot vary 'training.colour'" in err


def test_sweep_workbook_is_capped_unless_asked(tco_run, tmp_path):
    # --xlsx-rows caps the workbook (default 10,000) with a note in it and on stderr; the table keeps every row
    args = ["sweep", ROOT / "scenarios" / "chat-assistant-70b-quality.yaml", "--vary",
            "demand.requests=1e8:1e12:log:6", "--vary", "training.price_usd_per_hour=1:4:lin:3",
            "--out", tmp_path / "s.csv", "--xlsx", tmp_path / "s.xlsx"]
    code, _, err = tco_run(*args, "--xlsx-rows", 10)
    assert code == 0 and "the workbook holds the first 10 of 18 rows" in err and "s.csv" in err
    assert len(pd.read_csv(tmp_path / "s.csv")) == 18
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["Sweep"]
    assert ws.cell(11, 1).value is not None and ws.cell(12, 1).value is None  # 10 rows under the header
    assert any("first 10 of 18 rows" in str(c.value) for c in ws["A"])
    code, _, err = tco_run(*args)  # the default cap is above 18 rows: no note
    assert code == 0 and "workbook holds" not in err
    assert openpyxl.load_workbook(tmp_path / "s.xlsx")["Sweep"].cell(19, 1).value is not None
    code, _, err = tco_run(*args, "--xlsx-rows", 0)
    assert code == 2 and "--xlsx-rows" in err


def test_sensitivity_and_montecarlo_cli(tco_run, tmp_path):
    code, out, _ = tco_run("sensitivity", ROOT / "scenarios" / "sardana-cost-objective.yaml",
                       "--json", "--out", tmp_path / "t.xlsx")
    data = json.loads(out)
    assert code == 0 and data["inputs"][0]["swing"] >= data["inputs"][-1]["swing"]
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames == ["Sensitivity", "Tornado", "Law"]
    code, out, _ = tco_run("montecarlo", UNCERTAIN, "--samples", "5000", "--json",
                       "--out", tmp_path / "m.xlsx")
    data = json.loads(out)
    assert code == 0 and data["samples"] == 5000
    assert {"p10", "p50", "p90", "mean"} == set(data["summary"]["optimal_params"])
    assert "Savings histogram" in openpyxl.load_workbook(tmp_path / "m.xlsx").sheetnames


def test_monte_carlo_draws_laws_from_a_fitted_law_files_bootstrap(tmp_path):
    """tco fit -> law file with bootstrap samples -> `law: bootstrap` in a Monte Carlo (correlations kept)."""
    from tco.fit import fit_runs, runs_from_arrays, write_law_file

    truth = tco.get_law("besiroglu2024")
    rng = np.random.default_rng(0)
    n = np.repeat(np.logspace(7.5, 9.5, 6), 5)
    d = n * np.tile([10.0, 20, 50, 100, 200], 6)
    loss = truth.loss(n, d) * np.exp(0.003 * rng.standard_normal(n.size))
    fitted = fit_runs(runs_from_arrays(n, d, loss), starts=300, resamples=40, seed=0)
    law_path = write_law_file(fitted, tmp_path / "ours.yaml")
    data = tco.load_scenario(UNCERTAIN).model_dump()
    data.update(law=str(law_path), target={"loss": 2.1},
                uncertainty={"samples": 4000, "seed": 3, "law": "bootstrap"})
    scenario = tco.scenario_from_dict(data)
    result = monte_carlo(scenario, progress=False, keep_draws=True)
    assert result.samples == 4000 and not result.warnings  # bootstrap rows: no independence warning
    spread = result.summary.set_index("output").loc["optimal_params"]
    assert spread["p10"] < spread["p50"] < spread["p90"]  # the law's uncertainty moves the optimum
    nominal = tco.optimize(scenario).optimal.params
    assert spread["p10"] < nominal * 1.5 and spread["p90"] > nominal / 1.5


def test_monte_carlo_with_data_repetition_and_law_uncertainty():
    """Repeated data (Muennighoff et al. 2023) with sampled law constants: the one exact kernel solves every
    sample on the repeated-data curve; samples whose law the unique tokens cannot reach are counted infeasible."""
    data = tco.load_scenario(ROOT / "scenarios" / "data-limited-domain-model.yaml").model_dump()
    data["uncertainty"] = {"samples": 300, "seed": 1, "law": {"normal": {"E": 0.02, "B": 100.0}},
                           "inputs": {"demand.requests": {"loguniform": ["1B", "5B"]}}}
    result = monte_carlo(tco.scenario_from_dict(data), keep_draws=True, progress=False)
    epochs = result.draws["optimal_tokens"].to_numpy() / 300e9
    assert result.infeasible + result.unreachable < 300 and np.nanmax(epochs) > 1.0
