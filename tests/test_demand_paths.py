"""Demand has one path (`tco.studies.arrays.demand_overrides`): a yearly-rate horizon and its lifetime `requests:`
twin of
the same present-value tokens give identical studies, the sweeps are not flat, and overriding one form of the
target or the demand replaces the scenario's other forms."""

import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import tco
from tco.studies.breakeven import breakeven
from tco.report.excel import write_report
from tco.studies import prepare
from tco.studies.sweep import demand_sweep
from tco.studies.montecarlo import monte_carlo
from tco.studies.sensitivity import default_inputs, sensitivity
from tco.studies.arrays import demand_overrides, numeric_paths, solve_frame, validate_overrides, view

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
REL = 1e-12
MILESTONE_FIELDS = ("target", "inference_tokens", "requests", "params", "tokens", "tokens_per_param",
                    "savings_fraction", "tokens_factor")


def _same(a, b, rel=REL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0) or (a == b == 0.0)


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame, columns, rel=REL) -> None:
    for column in columns:
        x, y = a[column].to_numpy(dtype=float), b[column].to_numpy(dtype=float)
        np.testing.assert_allclose(x, y, rtol=rel, atol=0.0, err_msg=column)


def _twin_data(horizon: tco.Scenario) -> dict:
    """The horizon scenario restated as lifetime requests: its present-value requests, same tokens per request."""
    d = horizon.demand
    data = horizon.model_dump()
    data["name"] = f"{horizon.name}-twin"
    data["demand"] = {"requests": d.pv_requests, "prompt_tokens_per_request": d.prompt_tokens_per_request,
                      "generated_tokens_per_request": d.generated_tokens_per_request,
                      "peak_requests_per_second": d.peak_requests_per_second}
    return data


def _from(data: dict) -> tco.Scenario:
    return tco.scenario_from_dict(data, base_dir=SCENARIOS)


def _no_latency(data: dict) -> dict:
    """Without the latency target the Chinchilla baseline is feasible, so savings milestones are reported."""
    data = json.loads(json.dumps(data))
    data["name"] += "-no-latency"
    data["serving"]["max_time_per_output_token_ms"] = None
    return data


@pytest.fixture(scope="module", params=["latency-bound", "no-latency"])
def pair(request):
    """(horizon scenario, its requests: twin) with identical present-value lifetime tokens."""
    bundled = tco.load_scenario(SCENARIOS / "owned-cluster-latency-bound.yaml")
    data = bundled.model_dump()
    data["name"] = bundled.name
    if request.param == "no-latency":
        data = _no_latency(data)
    horizon = _from(data)
    twin = _from(_twin_data(horizon))
    assert horizon.demand.requests_per_year is not None and twin.demand.requests_per_year is None
    assert twin.demand.lifetime_prompt_tokens == pytest.approx(horizon.demand.lifetime_prompt_tokens, rel=REL)
    assert twin.demand.lifetime_generated_tokens == pytest.approx(horizon.demand.lifetime_generated_tokens, rel=REL)
    # the horizon really discounts: its nominal demand is larger than the present value both are priced on
    assert horizon.demand.nominal_requests > 1.1 * horizon.demand.pv_requests
    return horizon, twin


def _milestones(result: dict) -> list[dict]:
    return [result["shift"], *result["savings"], *result["tokens_per_param"]]


def _assert_same_breakeven(a: dict, b: dict) -> None:
    assert _same(a["threshold_tokens"], b["threshold_tokens"])
    assert _same(a["threshold_requests"], b["threshold_requests"])
    assert a["uses_requests"] and b["uses_requests"]
    for x, y in zip(_milestones(a), _milestones(b), strict=True):
        for field in MILESTONE_FIELDS:
            assert _same(x[field], y[field]), (x["target"], field, x[field], y[field])


# --- the one function ------------------------------------------------------------------------------------
def test_demand_overrides_set_the_resolved_demand_and_keep_the_mix(pair):
    horizon, twin = pair
    tokens = np.array([1e9, 3e12, 1e16])
    for scenario in (horizon, twin):
        out = demand_overrides(scenario, tokens)
        prompt, generated = out["demand.lifetime_prompt_tokens"], out["demand.lifetime_generated_tokens"]
        np.testing.assert_allclose(prompt + generated, tokens, rtol=REL)
        np.testing.assert_allclose(prompt / tokens, 70 / 285, rtol=REL)
        the_view = view(scenario, out)
        np.testing.assert_array_equal(the_view.demand.lifetime_prompt_tokens, prompt)
        np.testing.assert_allclose(the_view.demand.requests if scenario is twin else the_view.demand.pv_requests,
                                   tokens / 285, rtol=REL)
    # with a horizon the nominal counts keep the horizon's nominal:present-value ratio, and the first-year rate
    # that yields the swept present value scales with it
    d = horizon.demand
    out = demand_overrides(horizon, tokens)
    np.testing.assert_allclose(out["demand.nominal_generated_tokens"] / out["demand.lifetime_generated_tokens"],
                               d.nominal_requests / d.pv_requests, rtol=1e-12)
    own = d.lifetime_prompt_tokens + d.lifetime_generated_tokens
    assert demand_overrides(horizon, own)["demand.requests_per_year"] == pytest.approx(d.requests_per_year, rel=1e-12)


# --- break-even -------------------------------------------------------------------------------------------
def test_breakeven_of_a_horizon_equals_its_requests_twin(pair):
    horizon, twin = pair
    a, b = breakeven(horizon).to_dict(), breakeven(twin).to_dict()
    _assert_same_breakeven(a, b)
    found = [m for m in _milestones(a) if m["inference_tokens"]]
    # before the fix the horizon's own demand stayed in force: every reached milestone sat at 0 tokens and the
    # 500 and 1,000 tokens-per-parameter milestones were never reached
    by_target = {m["target"]: m for m in a["tokens_per_param"]}
    # (3.2514702e12 and 7.6643903e12 before attention FLOPs and the 0.90 training goodput)
    assert by_target[500.0]["inference_tokens"] == pytest.approx(4.2545966e12, rel=1e-6)
    assert by_target[1000.0]["inference_tokens"] == pytest.approx(1.00096302e13, rel=1e-6)
    assert by_target[1000.0]["tokens_per_param"] == pytest.approx(1000.0, rel=1e-9)
    assert len({m["inference_tokens"] for m in found}) == len(found) >= 2
    assert "present value" in a["demand_basis"] and "present value" not in b["demand_basis"]
    if horizon.serving.max_time_per_output_token_ms is None:
        savings = [m["inference_tokens"] for m in a["savings"]]
        assert all(s is not None and s > 1e10 for s in savings) and savings == sorted(savings)
        assert [m["savings_fraction"] for m in a["savings"]] == pytest.approx([0.01, 0.05, 0.10], rel=1e-6)


def test_breakeven_cli_json_of_a_horizon_equals_its_twin(tco_run, tmp_path):
    bundled = tco.load_scenario(SCENARIOS / "owned-cluster-latency-bound.yaml")
    twin = tmp_path / "twin.yaml"
    twin.write_text(yaml.safe_dump(_twin_data(bundled)))
    results = []
    for path in (SCENARIOS / "owned-cluster-latency-bound.yaml", twin):
        status, out, err = tco_run("breakeven", path, "--json")
        assert status == 0, err
        results.append(json.loads(out))
    _assert_same_breakeven(*results)
    assert results[0]["tokens_per_param"][2]["inference_tokens"] == pytest.approx(4.2545966e12, rel=1e-6)  # was 3.25e12


# --- the workbook's demand sweep -------------------------------------------------------------------------
SWEEP_VALUES = ["params", "tokens", "tokens_per_param", "training_cost_usd", "inference_cost_usd", "data_cost_usd",
                "total_cost_usd", "chinchilla_total_cost_usd", "savings_usd", "savings_fraction", "total_flops",
                "savings_flops_fraction", "chinchilla_params", "chinchilla_tokens"]


def test_demand_sweep_of_a_horizon_equals_its_twin_and_is_not_flat(pair):
    horizon, twin = pair
    a, b = demand_sweep(horizon, points=50), demand_sweep(twin, points=50)
    np.testing.assert_array_equal(a["inference_tokens"], b["inference_tokens"])
    _frames_equal(a, b, SWEEP_VALUES + [c for c in a.columns if c.startswith("binds:")])
    # the optimum moves with demand: a smaller model trained on more tokens as demand grows
    assert a["params"].nunique() > 10 and a["params"].iloc[-1] < 0.5 * a["params"].iloc[0]
    assert a["tokens"].iloc[-1] > 10 * a["tokens"].iloc[0]
    assert a["inference_cost_usd"].iloc[-1] > 1e6 * a["inference_cost_usd"].iloc[0]
    # every row is a full optimization of the twin restated at that demand
    for i in (0, 30, 49):
        scale = a["inference_tokens"].iloc[i] / (twin.demand.lifetime_prompt_tokens
                                                 + twin.demand.lifetime_generated_tokens)
        data = twin.model_dump()
        data["demand"]["requests"] *= scale
        result = tco.optimize(_from(data))
        assert a["params"].iloc[i] == pytest.approx(result.optimal.params, rel=1e-6)
        assert a["total_cost_usd"].iloc[i] == pytest.approx(result.optimal.total_cost_usd, rel=1e-6)
    assert "present value" in a.attrs["inference_tokens_label"]
    assert b.attrs["inference_tokens_label"] == "lifetime inference tokens"


def _chart_values(wb, sweep_title: str) -> list[tuple[str, list, list]]:
    """(title, x values, y values) of every scatter series on the Charts sheet, read from the cells it names."""
    out = []
    for chart in wb["Charts"]._charts:
        for series in getattr(chart, "series", []):
            if series.xVal is None:
                continue  # the cost bars read the Costs sheet
            refs = []
            for ref in (series.xVal.numRef.f, series.yVal.numRef.f):
                sheet, cells = ref.rsplit("!", 1)
                assert sheet.strip("'") == sweep_title
                refs.append([c.value for row in wb[sweep_title][cells.replace("$", "")] for c in row])
            out.append((chart.title is not None, *refs))
    return out


def test_workbook_demand_sweep_of_a_horizon_equals_its_twin(pair, tmp_path):
    horizon, twin = pair
    books = []
    for scenario in (horizon, twin):
        path = write_report(prepare(scenario, sweep_points=24), tmp_path / f"{scenario.name}.xlsx")
        books.append(openpyxl.load_workbook(path))
    sheets = [wb["Demand sweep"] for wb in books]
    assert [ws.max_row for ws in sheets] == [25, 25] and sheets[0].max_column == sheets[1].max_column
    assert sheets[0]["A1"].value == "lifetime inference tokens (present value, 3-year horizon discounted at 10%/year)"
    assert sheets[1]["A1"].value == "lifetime inference tokens"
    headers = [c.value for c in sheets[0][1]]
    assert headers[1:] == [c.value for c in sheets[1][1]][1:]
    for r in range(2, 26):
        for c, name in enumerate(headers, start=1):
            x, y = sheets[0].cell(r, c).value, sheets[1].cell(r, c).value
            if isinstance(x, float):
                assert _same(x, y), (r, name, x, y)
            else:
                assert x == y, (r, name)
    column = {name: i for i, name in enumerate(headers, start=1)}
    n = [sheets[0].cell(r, column["optimal N (parameters)"]).value for r in range(2, 26)]
    assert len(set(n)) > 5 and n[-1] < 0.5 * n[0]  # not flat: N falls as demand grows
    charts = [_chart_values(wb, "Demand sweep") for wb in books]
    assert len(charts[0]) == len(charts[1]) == 3
    for (_, x0, y0), (_, x1, y1) in zip(*charts, strict=True):
        assert len(x0) == len(y0) == 24
        np.testing.assert_allclose(x0, x1, rtol=REL)
        np.testing.assert_allclose(y0, y1, rtol=REL)
        assert len(set(y0)) > 5  # the chart is not flat
    for wb, label in zip(books, (sheets[0]["A1"].value, "lifetime inference tokens")):
        titles = ["".join(r.t for p in c.x_axis.title.tx.rich.p for r in p.r or [])
                  for c in wb["Charts"]._charts if c.x_axis.title is not None]
        assert titles == [label] * 3  # the axes name the swept demand (present value with a horizon)


# --- sensitivity and Monte Carlo ---------------------------------------------------------------------------
SENSITIVITY_VALUES = ["base_value", "low_value", "high_value", "total_cost_usd_low", "total_cost_usd_high",
                      "cost_change_low", "cost_change_high", "params_low", "params_high", "tokens_low",
                      "tokens_high", "savings_fraction_low", "savings_fraction_high"]


def test_sensitivity_of_a_horizon_equals_its_twin(pair):
    horizon, twin = pair
    a, b = sensitivity(horizon).set_index("input"), sensitivity(twin).set_index("input")
    shared = sorted(set(a.index) & set(b.index))
    assert {"training.mfu", "serving.ownership.capex_usd", "demand.prompt_tokens_per_request",
            "demand.generated_tokens_per_request", "target.chinchilla_optimal_params"} <= set(shared)
    _frames_equal(a.loc[shared], b.loc[shared], SENSITIVITY_VALUES, rel=1e-10)
    # the horizon's first-year requests and the twin's lifetime requests scale the same present value
    _frames_equal(a.loc[["demand.requests_per_year"]], b.loc[["demand.requests"]],
                  SENSITIVITY_VALUES[3:], rel=1e-10)
    moved = a.loc["demand.requests_per_year"]
    assert moved["cost_change_high"] > 0.01 and moved["cost_change_low"] < -0.01
    assert not any(p.startswith("uncertainty.") for p in a.index)


def _with_uncertainty(scenario, inputs) -> tco.Scenario:
    data = scenario.model_dump()
    data["uncertainty"] = {"samples": 3000, "seed": 11, "inputs": inputs}
    return _from(data)


def test_monte_carlo_of_a_horizon_equals_its_twin(pair):
    horizon, twin = pair
    shared = {"training.mfu": {"triangular": [0.3, 0.42, 0.5]},
              "serving.ownership.capex_usd": {"lognormal": {"median": 35000, "sigma": 0.2}}}
    a = monte_carlo(_with_uncertainty(horizon, shared), progress=False, keep_draws=True)
    b = monte_carlo(_with_uncertainty(twin, shared), progress=False, keep_draws=True)
    _frames_equal(a.draws, b.draws, list(a.draws.columns), rel=1e-10)
    _frames_equal(a.summary, b.summary, [c for c in a.summary.columns if c != "output"], rel=1e-10)
    assert a.probabilities == b.probabilities
    assert a.draws["optimal_total_cost_usd"].std() > 0.01 * a.draws["optimal_total_cost_usd"].mean()
    # demand itself uncertain: the horizon's first-year requests and the twin's lifetime requests over the
    # same present values
    ratio = horizon.demand.pv_requests / horizon.demand.requests_per_year
    low, high = 2e8, 5e9
    a = monte_carlo(_with_uncertainty(horizon, {"demand.requests_per_year": {"loguniform": [low, high]}}),
                    progress=False, keep_draws=True)
    b = monte_carlo(_with_uncertainty(twin, {"demand.requests": {"loguniform": [low * ratio, high * ratio]}}),
                    progress=False, keep_draws=True)
    _frames_equal(a.draws, b.draws, list(a.draws.columns), rel=1e-9)
    assert a.draws["optimal_params"].max() > 1.2 * a.draws["optimal_params"].min()


# --- other demand overrides: one form replaces the others ----------------------------------------------------
def test_vary_lifetime_tokens_on_a_requests_scenario_replaces_the_requests():
    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    frame = solve_frame(scenario, {"demand.prompt_tokens": [1e11, 1e13], "demand.generated_tokens": [3e11, 3e13]})
    for i, (prompt, generated) in enumerate([(1e11, 3e11), (1e13, 3e13)]):
        data = scenario.model_dump()
        data["demand"] = {"prompt_tokens": prompt, "generated_tokens": generated}
        result = tco.optimize(_from(data))
        assert frame["optimal_params"][i] == pytest.approx(result.optimal.params, rel=1e-6)
        assert frame["optimal_total_cost_usd"][i] == pytest.approx(result.optimal.total_cost_usd, rel=1e-6)
    assert frame["optimal_params"][1] < 0.8 * frame["optimal_params"][0]


def test_vary_requests_on_a_horizon_replaces_the_horizon(pair):
    horizon, twin = pair
    requests = twin.demand.requests * np.array([0.5, 4.0])
    a = solve_frame(horizon, {"demand.requests": requests})
    b = solve_frame(twin, {"demand.requests": requests})
    _frames_equal(a, b, ["optimal_params", "optimal_tokens", "optimal_total_cost_usd", "savings_fraction"])
    assert a["optimal_total_cost_usd"][1] > 1.5 * a["optimal_total_cost_usd"][0]


def test_two_forms_of_one_quantity_cannot_be_varied_together():
    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    with pytest.raises(tco.ScenarioError, match="alternative forms"):
        validate_overrides(scenario, {"demand.requests": [1e9], "demand.prompt_tokens": [1e12]})
    with pytest.raises(tco.ScenarioError, match="alternative forms"):
        validate_overrides(scenario, {"target.loss": [2.0], "target.quality_of.params": [1e10]})


# --- target.loss replaces quality_of / chinchilla_optimal_params ---------------------------------------------
def _sweep_csv(tco_run, path, tmp_path, vary: str) -> pd.DataFrame:
    out = tmp_path / f"{Path(path).stem}-{len(list(tmp_path.iterdir()))}.csv"
    status, stdout, err = tco_run("sweep", path, "--vary", vary, "--out", out, "--no-report")
    assert status == 0, err
    return pd.read_csv(out)


def test_vary_target_loss_on_a_quality_of_target(tco_run, tmp_path):
    quality = SCENARIOS / "chat-assistant-70b-quality.yaml"
    scenario = tco.load_scenario(quality)
    assert scenario.target.quality_of is not None
    data = scenario.model_dump()
    data["target"] = {"loss": scenario.target_loss}
    as_loss = tmp_path / "as-loss.yaml"
    as_loss.write_text(yaml.safe_dump(data))
    a = _sweep_csv(tco_run, quality, tmp_path, "target.loss=2.0,2.1")
    b = _sweep_csv(tco_run, as_loss, tmp_path, "target.loss=2.0,2.1")
    assert list(a.columns) == list(b.columns) and len(a) == 2
    assert list(a["target.loss"]) == [2.0, 2.1] and list(a["target_loss"]) == [2.0, 2.1]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    assert a["optimal_params"][0] > 2 * a["optimal_params"][1]  # the swept loss, not the quality_of loss, holds
    direct = tco.optimize(_from({**data, "target": {"loss": 2.1}}))
    assert a["optimal_params"][1] == pytest.approx(direct.optimal.params, rel=1e-6)
    # the view answers the overridden loss, and a chinchilla_optimal_params override replaces quality_of too
    assert list(view(scenario, {"target.loss": [2.0, 2.1]}).target_loss) == [2.0, 2.1]
    law = scenario.resolved_law
    frame = solve_frame(scenario, {"target.chinchilla_optimal_params": [30e9]})
    assert frame["target_loss"][0] == pytest.approx(law.loss(30e9, law.compute_optimal_tokens(30e9)), rel=1e-12)


def test_vary_target_loss_on_a_chinchilla_optimal_params_target(pair):
    horizon, _ = pair
    assert horizon.target.chinchilla_optimal_params is not None
    validate_overrides(horizon, {"target.loss": [2.0, 2.1]})
    frame = solve_frame(horizon, {"target.loss": [2.0, 2.1]})
    assert list(frame["target_loss"]) == [2.0, 2.1]
    assert frame["optimal_tokens"][0] > frame["optimal_tokens"][1]


# --- numeric_paths offers only inputs of the cost model ------------------------------------------------------
def test_sensitivity_runs_on_a_scenario_with_an_uncertainty_section(tco_run):
    path = SCENARIOS / "uncertain-demand-and-law.yaml"
    scenario = tco.load_scenario(path)
    paths = numeric_paths(scenario)
    assert not [p for p in paths if p.startswith("uncertainty.")]
    assert {"demand.requests", "training.price_usd_per_hour", "serving.decode_mfu", "law.E"} <= set(paths)
    with pytest.raises(tco.ScenarioError, match="cannot vary 'uncertainty.seed'"):
        validate_overrides(scenario, {"uncertainty.seed": [1.5]})
    frame = sensitivity(scenario)
    assert not [p for p in frame["input"] if p.startswith("uncertainty.")]
    row = frame.set_index("input").loc["demand.requests"]
    data = scenario.model_dump()
    data["demand"]["requests"] = 12e9
    assert row["high_value"] == pytest.approx(12e9, rel=1e-12)
    assert row["total_cost_usd_high"] == pytest.approx(tco.optimize(_from(data)).optimal.total_cost_usd, rel=1e-6)
    status, out, err = tco_run("sensitivity", path, "--json", "--no-report")
    assert status == 0, err
    assert "uncertainty" not in out and "demand.requests" in out


def test_numeric_paths_skip_the_resolved_hardware_and_sensitivity_skips_sizing_only_fit_inputs():
    chat = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    data = chat.model_dump()
    data["training"]["hardware"] = {"name": "H100 SXM", "memory_gb": 90}  # resolved into the device at load time
    assert not [p for p in numeric_paths(_from(data)) if ".hardware." in p]
    # the replica's devices only size the deployment without memory fit or a latency target ...
    assert "serving.devices_per_replica" in numeric_paths(chat)
    assert "serving.devices_per_replica" not in set(sensitivity(chat)["input"])
    # ... and cap N with them: then the tornado moves it, and more devices allow a larger model
    owned = tco.load_scenario(SCENARIOS / "owned-cluster-latency-bound.yaml")
    assert "serving.devices_per_replica" in default_inputs(owned)
    row = sensitivity(owned, inputs=["serving.devices_per_replica"]).iloc[0]
    assert row["params_high"] > 1.1 * row["params_low"]


# --- demand sweeps keep the traffic's shape ---------------------------------------------------------------------
def test_a_demand_sweep_keeps_the_provisioned_utilization():
    """serving.pricing: provisioned sizes the fleet at the peak: a demand sweep (and break-even) moves the peak
    with the demand (the peak-to-average ratio is kept), so each row is the scenario restated with both scaled."""
    s = tco.load_scenario(SCENARIOS / "provisioned-fleet-chat.yaml")
    total = s.demand.lifetime_prompt_tokens + s.demand.lifetime_generated_tokens
    frame = demand_sweep(s, total * np.array([0.25, 1.0, 4.0]))
    for i, scale in enumerate((0.25, 1.0, 4.0)):
        data = s.model_dump()
        data["demand"]["requests_per_year"] *= scale
        data["demand"]["peak_requests_per_second"] *= scale
        direct = tco.optimize(_from(data))
        assert frame["params"][i] == pytest.approx(direct.optimal.params, rel=1e-6)
        assert frame["total_cost_usd"][i] == pytest.approx(direct.optimal.total_cost_usd, rel=1e-6)
        assert direct.serving_pricing.utilization_in_force == pytest.approx(
            1 / (s.demand.peak_to_average * 1.3), rel=1e-12)
    assert frame["params"][2] < frame["params"][0]


def test_varying_one_demand_field_keeps_the_provisioned_fleet():
    """--vary / sensitivity of requests_per_year alone keeps the stated peak: the same fleet at a lower
    utilization costs the same, so the optimum does not move; the peak (and headroom) size it and move it."""
    s = tco.load_scenario(SCENARIOS / "provisioned-fleet-chat.yaml")
    rows = sensitivity(s, inputs=["demand.requests_per_year", "demand.peak_requests_per_second",
                                  "serving.headroom"]).set_index("input")
    assert abs(rows.loc["demand.requests_per_year", "cost_change_high"]) < 1e-9
    assert rows.loc["demand.requests_per_year", "params_high"] == pytest.approx(
        rows.loc["demand.requests_per_year", "params_low"], rel=1e-9)
    assert rows.loc["demand.peak_requests_per_second", "cost_change_high"] > 0.05
    assert rows.loc["serving.headroom", "cost_change_high"] > 0.01
    data = s.model_dump()
    data["demand"]["peak_requests_per_second"] *= 1.2
    assert rows.loc["demand.peak_requests_per_second", "total_cost_usd_high"] == pytest.approx(
        tco.optimize(_from(data)).optimal.total_cost_usd, rel=1e-6)


# --- reasoning-length demand (tco.scenario.reasoning) ----------------------------------------------------
def test_samples_and_reasoning_follow_the_one_demand_path():
    """A request of k samples, each decoding R reasoning + G answer tokens over one P-token prompt, is P + k (R + G)
    inference tokens: sweeps split demand in that mix, count requests at that size, break-even reports them so,
    and the sweep at the scenario's own demand is its optimum; a yearly horizon prices the same per request."""
    data = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml").model_dump()
    data["name"] = "reasoning"
    data["demand"].update(samples_per_request=4, reasoning_tokens_per_request=2000)
    scenario = _from(data)
    per_request = 70 + 4 * (2000 + 215)
    own = scenario.demand.lifetime_prompt_tokens + scenario.demand.lifetime_generated_tokens
    assert own == pytest.approx(10e9 * per_request, rel=REL)
    tokens = np.array([1e12, own, 1e15])
    out = demand_overrides(scenario, tokens)
    np.testing.assert_allclose(out["demand.lifetime_prompt_tokens"] / tokens, 70 / per_request, rtol=REL)
    np.testing.assert_allclose(out["demand.requests"], tokens / per_request, rtol=REL)

    frame = demand_sweep(scenario, tokens)
    result = tco.optimize(scenario)
    assert frame["params"].iloc[1] == pytest.approx(result.optimal.params, rel=1e-6)
    assert frame["total_cost_usd"].iloc[1] == pytest.approx(result.optimal.total_cost_usd, rel=1e-6)

    milestone = breakeven(scenario, tokens_per_param=[1000.0]).tokens_per_param[0]
    assert milestone.requests == pytest.approx(milestone.inference_tokens / per_request, rel=REL)

    horizon_data = json.loads(json.dumps(data))
    horizon_data["demand"].pop("requests")
    horizon_data["demand"].update(requests_per_year=5e9, years=2)
    horizon = _from(horizon_data).demand
    assert horizon.lifetime_generated_tokens == pytest.approx(1e10 * 4 * 2215, rel=REL)
    assert horizon.nominal_generated_tokens == pytest.approx(1e10 * 4 * 2215, rel=REL)
