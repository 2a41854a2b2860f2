"""Hostile numbers: every numeric scenario field refuses non-finite values, booleans, integers too large for a
float and values outside its documented range, with one line on stderr naming the file and the field path and
exit status 2; several bad fields give one line each; a result the solves do not confirm, or with a non-finite
figure, is an error too (never a traceback, never a silent wrong number)."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import tco

ROOT = Path(__file__).resolve().parents[1]
CHAT = "chat-assistant-70b-quality.yaml"
OWNED = "owned-cluster-latency-bound.yaml"
ROOF = "roofline-long-context-assistant.yaml"
UNCERTAIN = "uncertain-demand-and-law.yaml"
LIMITED = "data-limited-domain-model.yaml"

HUGE_INT = int("9" * 401)
#: Refused by every numeric field: non-finite, overflowing, boolean, and far out of any range.
ALWAYS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "1e308": 1e308, "true": True, "false": False,
          "401-digit": HUGE_INT, "'1e400'": "1e400", "-1": -1}
#: Also refused where a field must be positive (its range starts above 1e-308).
POSITIVE = {"0": 0, "1e-308": 1e-308}


def _setup_deadline(data):
    data.setdefault("constraints", {})["training_deadline"] = {"gpus": 4096, "days": 90}


def _setup_loss(data):
    data["target"] = {"loss": 2.0}


def _setup_chinchilla_law(data):
    data["law"] = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def _setup_kaplan_law(data):
    data["law"] = {"form": "kaplan", "alpha_n": 0.076, "alpha_d": 0.103, "n_c": 6.4e13, "d_c": 1.8e13}
    data["target"] = {"loss": 2.2}


def _setup_device(data):
    data["training"]["hardware"] = {"name": "H100 SXM", "memory_gb": 80, "bandwidth_gb_per_s": 3350,
                                    "tdp_w": 700, "peak_flops": {"bf16": 989.4e12}}


def _setup_architecture(data):
    data["serving"]["roofline"].pop("shape")
    data["serving"]["roofline"]["architecture"] = {"layers": 80, "kv_heads": 8, "head_dim": 128, "heads": 64}


# (base scenario, dotted field path, setup, must be positive)
FIELDS = [
    (CHAT, "training.price_usd_per_hour", None, True),
    (CHAT, "serving.price_usd_per_hour", None, True),
    (CHAT, "training.mfu", None, True),
    (CHAT, "serving.prefill_mfu", None, True),
    (CHAT, "serving.decode_mfu", None, True),
    (CHAT, "demand.requests", None, False),
    (CHAT, "demand.prompt_tokens_per_request", None, False),
    (CHAT, "demand.generated_tokens_per_request", None, False),
    (CHAT, "demand.peak_requests_per_second", None, True),
    (CHAT, "target.quality_of.params", None, True),
    (CHAT, "target.quality_of.tokens", None, True),
    (CHAT, "target.loss", _setup_loss, True),
    (CHAT, "constraints.max_params", None, True),
    (CHAT, "constraints.max_tokens", None, True),
    (CHAT, "constraints.training_deadline.gpus", _setup_deadline, True),
    (CHAT, "constraints.training_deadline.days", _setup_deadline, True),
    (CHAT, "data.cost_usd_per_token", None, False),
    (CHAT, "data.max_unique_tokens", None, True),
    (CHAT, "serving.batch_size", None, True),
    (CHAT, "serving.headroom", None, False),
    (CHAT, "serving.devices_per_replica", None, True),
    (CHAT, "serving.kv_cache_gb", None, False),
    (CHAT, "serving.bytes_per_param", None, True),
    (CHAT, "serving.max_time_per_output_token_ms", None, True),
    (CHAT, "training.hardware.memory_gb", _setup_device, True),
    (CHAT, "training.hardware.bandwidth_gb_per_s", _setup_device, True),
    (CHAT, "training.hardware.tdp_w", _setup_device, True),
    (CHAT, "training.hardware.peak_flops.bf16", _setup_device, True),
    (CHAT, "law.E", _setup_chinchilla_law, False),
    (CHAT, "law.A", _setup_chinchilla_law, True),
    (CHAT, "law.B", _setup_chinchilla_law, True),
    (CHAT, "law.alpha", _setup_chinchilla_law, True),
    (CHAT, "law.beta", _setup_chinchilla_law, True),
    (CHAT, "law.alpha_n", _setup_kaplan_law, True),
    (CHAT, "law.alpha_d", _setup_kaplan_law, True),
    (CHAT, "law.n_c", _setup_kaplan_law, True),
    (CHAT, "law.d_c", _setup_kaplan_law, True),
    (OWNED, "training.ownership.capex_usd", None, True),
    (OWNED, "training.ownership.lifetime_years", None, True),
    (OWNED, "training.ownership.utilization", None, True),
    (OWNED, "training.ownership.power_kw", None, True),
    (OWNED, "training.ownership.pue", None, True),
    (OWNED, "training.ownership.usd_per_kwh", None, True),
    (OWNED, "serving.ownership.other_opex_usd_per_year", None, False),
    (OWNED, "demand.requests_per_year", None, False),
    (OWNED, "demand.years", None, True),
    (OWNED, "demand.growth_per_year", None, False),
    (OWNED, "demand.discount_rate", None, False),
    (ROOF, "serving.roofline.bandwidth_efficiency", None, True),
    (ROOF, "serving.roofline.compute_efficiency", None, True),
    (ROOF, "serving.roofline.context_tokens", None, False),
    (ROOF, "serving.roofline.kv_bytes_per_value", None, True),
    (ROOF, "serving.roofline.shape.aspect_ratio", None, True),
    (ROOF, "serving.roofline.shape.kv_head_fraction", None, True),
    (ROOF, "serving.roofline.architecture.layers", _setup_architecture, True),
    (ROOF, "serving.roofline.architecture.kv_heads", _setup_architecture, True),
    (ROOF, "serving.roofline.architecture.head_dim", _setup_architecture, True),
]
# Zero or tiny values are fine where positive is False (no demand, no growth); all must be finite and in range.
CASES = [
    pytest.param(base, path, setup, value, id=f"{path}={label}")
    for base, path, setup, positive in FIELDS
    for label, value in {**ALWAYS, **(POSITIVE if positive else {})}.items()
]


def scenario_data(base: str) -> dict:
    return yaml.safe_load((ROOT / "scenarios" / base).read_text())


def set_path(data: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def write(tmp_path: Path, data: dict, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_lines(code: int, out: str, err: str) -> list[str]:
    assert code == 2, f"exit status {code}; stdout {out[:300]!r}; stderr {err[-500:]!r}"
    assert out == "", out[:300]
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), lines
    return lines


def one_error_line(code: int, out: str, err: str) -> str:
    lines = error_lines(code, out, err)
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("base, path, setup, value", CASES)
def test_hostile_value_is_one_line_naming_the_field(tco_run, tmp_path, base, path, setup, value):
    data = scenario_data(base)
    if setup is not None:
        setup(data)
    set_path(data, path, value)
    file = write(tmp_path, data)
    line = one_error_line(*tco_run("optimize", "--no-report", str(file)))
    assert str(file) in line, line
    # the field itself, or (for values that break a relation) its parent section
    parent = path.rsplit(".", 1)[0]
    assert f"{path}:" in line or f"{parent}" in line, line
    assert any(word in line for word in ("got", "must", "finite", "above")), line


@pytest.mark.parametrize("label, value", list(ALWAYS.items()) + list(POSITIVE.items()))
def test_law_file_constants_are_checked(tco_run, tmp_path, label, value):
    law = {"name": "ours", "E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.36}
    law["alpha"] = value
    (tmp_path / "ours.yaml").write_text(yaml.safe_dump({"law": law}))
    data = scenario_data(CHAT)
    data["law"] = "ours.yaml"
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert "law file" in line and "law.alpha:" in line, line


@pytest.mark.parametrize("value", [math.inf, math.nan, True, HUGE_INT, "1e400"])
def test_uncertainty_parameters_are_finite(tco_run, tmp_path, value):
    data = scenario_data(UNCERTAIN)
    data["uncertainty"]["inputs"]["training.price_usd_per_hour"]["lognormal"]["median"] = value
    line = one_error_line(*tco_run("montecarlo", str(write(tmp_path, data)), "--samples", "100"))
    assert "uncertainty.inputs" in line and "median" in line, line


def test_ranges_name_the_bounds_and_the_reason(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["training"]["price_usd_per_hour"] = 1e5
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert "training.price_usd_per_hour: must be in [0.001, 10000] $ per device-hour" in line, line
    assert "no accelerator rents for more" in line and "got 100000" in line, line


def test_counts_from_text_are_finite(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["demand"]["requests"] = "1e400"
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    # YAML 1.2 reads the unquoted 1e400 as a float (inf); quoted, it is text the count parser reads: both refused
    assert "demand.requests:" in line and "is not a finite number" in line, line


def test_booleans_are_not_numbers_in_python_either():
    data = scenario_data(CHAT)
    data["training"]["mfu"] = True
    with pytest.raises(tco.ScenarioError, match=r"training\.mfu: expected a number, got true"):
        tco.scenario_from_dict(data)


def test_an_implausible_horizon_total_is_refused(tco_run, tmp_path):
    data = scenario_data(OWNED)
    data["demand"].update({"requests_per_year": 1e17, "growth_per_year": 10, "years": 30})
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert "demand.growth_per_year: the horizon serves" in line and "above 1e+18" in line, line


def test_a_law_whose_target_loss_is_absurd_is_refused(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["law"] = {"form": "kaplan", "alpha_n": 0.1, "alpha_d": 1, "n_c": 1e9, "d_c": 1e18}
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert "target.quality_of: the loss target is" in line and "above 20" in line, line


def test_an_optimum_outside_the_plausible_sizes_is_an_error(tco_run, tmp_path):
    data = scenario_data(CHAT)
    # every input in range, but inference so dear against training that the optimum trains on 1e26 tokens
    data["demand"]["requests"] = 1e18
    data["serving"].update({"decode_mfu": 1e-4, "price_usd_per_hour": 1e4})
    data["training"]["price_usd_per_hour"] = 1e-3
    line = one_error_line(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert "the optimum has D = " in line and "tokens, outside" in line, line


# --- several problems at once ------------------------------------------------------------------------------
def test_three_bad_fields_give_three_lines(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["training"]["mfu"] = math.inf
    data["serving"]["price_usd_per_hour"] = True
    data["demand"]["requests"] = HUGE_INT
    file = write(tmp_path, data)
    lines = error_lines(*tco_run("optimize", "--no-report", str(file)))
    assert len(lines) == 3, lines
    for line, path in zip(lines, ["training.mfu", "serving.price_usd_per_hour", "demand.requests"]):
        assert line.startswith(f"error: {file}: {path}: "), line
    assert "more problem" not in "".join(lines)


def test_many_bad_fields_are_capped_with_a_count(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["training"].update({"mfu": 2, "price_usd_per_hour": -1})
    data["serving"].update({"prefill_mfu": 2, "decode_mfu": 2, "price_usd_per_hour": -1})
    data["demand"].update({"requests": -1, "prompt_tokens_per_request": -1})
    lines = error_lines(*tco_run("optimize", "--no-report", str(write(tmp_path, data))))
    assert len(lines) == 5, lines
    assert lines[-1].endswith("(and 2 more problems)"), lines[-1]


def test_several_problems_in_python(tmp_path):
    data = scenario_data(CHAT)
    data["training"]["mfu"] = 2
    data["demand"]["requests"] = -1
    with pytest.raises(tco.ScenarioError) as info:
        tco.load_scenario(write(tmp_path, data))
    error = info.value
    assert error.path == ("training", "mfu")  # the first problem, as for a single one
    assert [p for p, _ in error.problems] == [("training", "mfu"), ("demand", "requests")]
    assert str(error).count("\n") == 1


def test_single_error_is_unchanged(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["training"]["mfu"] = 1.5
    file = write(tmp_path, data)
    line = one_error_line(*tco_run("optimize", "--no-report", str(file)))
    assert line == (f"error: {file}: training.mfu: must be a fraction in (0, 1] (e.g. 0.45 for 45% MFU), got 1.5")


# --- results the solver cannot vouch for -------------------------------------------------------------------
def test_a_failed_cross_check_is_an_error(tco_run, monkeypatch):
    pipeline = importlib.import_module("tco.pipeline")

    real = pipeline.solve_model

    def wrong(model):
        sol = real(model)
        return dataclasses.replace(sol, params=sol.params * 1.01, tokens=sol.tokens * 0.99)

    monkeypatch.setattr(pipeline, "solve_model", wrong)
    line = one_error_line(*tco_run("optimize", "--no-report", str(ROOT / "scenarios" / CHAT)))
    assert "differ by" in line and "tolerance 1e-06" in line and CHAT in line, line


def test_a_failed_cross_check_on_repeated_data_is_an_error(tco_run, monkeypatch):
    import tco.repeated as repeated

    real = repeated._derivative_free_check

    def wrong(model, sol):
        n, d, obj = real(model, sol)
        return n * 1.05, d, obj

    monkeypatch.setattr(repeated, "_derivative_free_check", wrong)
    line = one_error_line(*tco_run("optimize", "--no-report", str(ROOT / "scenarios" / LIMITED)))
    assert "derivative-free" in line and "differ by" in line, line


def test_a_non_finite_figure_is_an_error(tco_run, monkeypatch):
    pipeline = importlib.import_module("tco.pipeline")

    real = pipeline.design_point

    def broken(scenario, model, params, tokens):
        point = real(scenario, model, params, tokens)
        return dataclasses.replace(point, figures={**point.figures, "decode_cost_usd": math.inf})

    monkeypatch.setattr(pipeline, "design_point", broken)
    line = one_error_line(*tco_run("optimize", "--no-report", str(ROOT / "scenarios" / CHAT)))
    assert "non-finite figures" in line and "decode_cost_usd" in line, line


def test_floating_point_overflow_is_an_error(tco_run, monkeypatch):
    pipeline = importlib.import_module("tco.pipeline")

    def overflow(model):
        raise OverflowError("(34, 'Numerical result out of range')")

    monkeypatch.setattr(pipeline, "solve_model", overflow)
    line = one_error_line(*tco_run("optimize", "--no-report", str(ROOT / "scenarios" / CHAT)))
    assert "floating point" in line, line


def test_frames_with_non_finite_rows_are_marked_or_refused(monkeypatch):
    from tco.errors import SolverError
    from tco.model.build import Model
    from tco.studies.arrays import demand_overrides, solve_frame

    scenario = tco.load_scenario(ROOT / "scenarios" / CHAT)
    overrides = demand_overrides(scenario, np.logspace(10, 14, 5))
    real = Model.figures

    def figures(self, params, tokens):
        out = dict(real(self, params, tokens))
        cost = np.array(out["decode_cost_usd"], dtype=float)
        if cost.ndim:
            cost[1] = np.inf
        out["decode_cost_usd"] = cost
        return out

    monkeypatch.setattr(Model, "figures", figures)
    frame = solve_frame(scenario, overrides, validate=False, allow_infeasible=True)
    assert list(frame["feasible"]) == [True, False, True, True, True]
    assert frame.attrs["non_finite_rows"] == 1 and np.isnan(frame["optimal_params"][1])
    with pytest.raises(SolverError, match="1 of 5 solved elements have non-finite figures"):
        solve_frame(scenario, overrides, validate=False)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_are_within_every_range(path):
    result = tco.optimize(tco.load_scenario(path))
    assert result.cross_check.max_rel_diff <= 1e-6
    assert copy.deepcopy(result.to_dict())  # serializable, finite (assemble_result checks)


@pytest.mark.parametrize("path, values, shown", [
    ("law.alpha", [0.3, 4.0], "law.alpha: must be in [0.01, 2]"),
    ("training.price_usd_per_hour", [1.0, 1e5], "training.price_usd_per_hour: must be in [0.001, 10000]"),
    ("demand.requests", [1e9, 1e19], "demand.requests: must be in [0, 1e18]"),
])
def test_varied_inputs_keep_their_ranges(path, values, shown):
    from tco.studies.arrays import validate_overrides

    scenario = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    with pytest.raises(tco.ScenarioError, match=re.escape(shown)):
        validate_overrides(scenario, {path: np.array(values)})


def test_a_law_and_target_without_a_plausible_chinchilla_point_are_refused(tco_run, tmp_path):
    data = scenario_data(CHAT)
    data["law"] = {"E": 10, "A": 1e12, "B": 1e-3, "alpha": 0.01, "beta": 2}  # each constant in range
    data["target"] = {"loss": 19}
    for command in (("optimize", "--no-report"), ("breakeven",), ("sensitivity",)):
        line = one_error_line(*tco_run(*command, str(write(tmp_path, data))))
        assert "target.loss: under law custom the compute-optimal model" in line, line


def test_an_unforeseen_float_overflow_is_one_line_in_every_command(tco_run, monkeypatch):
    load = importlib.import_module("tco.scenario.load")

    def overflow(path):
        raise OverflowError("(34, 'Numerical result out of range')")

    monkeypatch.setattr(load, "read_yaml", overflow)
    line = one_error_line(*tco_run("breakeven", str(ROOT / "scenarios" / CHAT)))
    assert "failed in floating point" in line, line


def test_a_workbook_demand_sweep_beyond_the_demand_range_is_refused(tco_run, tmp_path):
    line = one_error_line(*tco_run("optimize", str(ROOT / "scenarios" / CHAT), "--out", str(tmp_path / "r.xlsx"),
                                   "--sweep", "1e9..1e300:5"))
    assert "the demand sweep reaches 1e+300 lifetime inference tokens, above 2e+24" in line, line
    assert not (tmp_path / "r.xlsx").exists()
