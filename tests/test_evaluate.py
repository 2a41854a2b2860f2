"""Issue 13: `tco evaluate SCENARIO --params N --tokens D` and `tco.evaluate`: a given design priced exactly like
the optimum (the same term registry), its excess over the optimum, training time and serving performance."""

import json
from pathlib import Path

import pytest

import tco
from tco.model.replica import replica_step
from tco.model.serving_step import time_to_first_token_seconds

ROOT = Path(__file__).resolve().parents[1]
ROOFLINE = ROOT / "scenarios" / "roofline-long-context-assistant.yaml"
DEADLINE = ROOT / "scenarios" / "capped-deadline-and-data.yaml"
PLAIN = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"


def test_the_optimum_evaluates_to_itself():
    s = tco.load_scenario(ROOFLINE)
    result = tco.optimize(s)
    e = tco.evaluate(s, params=result.optimal.params, tokens=result.optimal.tokens)
    for key, value in result.optimal.to_dict().items():
        assert e.design.to_dict()[key] == pytest.approx(value, rel=1e-12), key
    assert e.excess_cost_usd == pytest.approx(0, abs=1e-6 * result.optimal.total_cost_usd)
    assert e.meets_target and e.violated_constraints == ()


def test_a_bigger_model_costs_more_and_serves_as_the_step_model_says():
    s = tco.load_scenario(ROOFLINE)
    e = tco.evaluate(s, params=30e9, tokens=3e12)
    result = tco.optimize(s)
    assert e.meets_target  # 30B on 3T is below the target loss
    assert e.excess_cost_usd == pytest.approx(e.design.total_cost_usd - result.optimal.total_cost_usd, rel=1e-12)
    assert e.excess_cost_usd > 0
    serving, b = e.serving, s.serving.batch_size
    step = replica_step(s, 30e9)
    assert serving.time_per_output_token_ms == pytest.approx(step.seconds(b) * 1000, rel=1e-12)
    assert serving.time_to_first_token_ms == pytest.approx(time_to_first_token_seconds(s, 30e9) * 1000, rel=1e-12)
    assert serving.generated_tokens_per_second_per_device == pytest.approx(b / step.seconds(b), rel=1e-12)
    kv_per_token = 2 * 0.125 * 2 * 128 * (30e9 / (12 * 128**2)) ** (2 / 3)  # shape rule, 16-bit KV
    assert serving.memory_gb_per_replica == pytest.approx((30e9 * 1 + b * 2300 * kv_per_token) / 1e9, rel=1e-12)
    assert serving.bound == "memory" and serving.step_model == "calibrated"


def test_training_time_on_the_deadline_cluster():
    s = tco.load_scenario(DEADLINE)
    e = tco.evaluate(s, params=20e9, tokens=1e12)
    t, deadline = e.training, s.constraints.training_deadline
    # 6 N D + attention at 8192 / 2 tokens attended (default shape rule), at peak x mfu x goodput
    flops = (6 * 20e9 + 3 * 4 * 128 * (20e9 / (12 * 128**2)) ** (2 / 3) * 4096) * 1e12
    hours = flops / (s.training.peak_flops * s.training.mfu * s.training.goodput) / 3600
    assert t.gpu_hours == pytest.approx(hours, rel=1e-12)
    assert t.days_on_deadline_gpus == pytest.approx(hours / deadline.gpus / 24, rel=1e-12)


def test_a_design_that_misses_the_target_says_so():
    e = tco.evaluate(tco.load_scenario(PLAIN), params=1e9, tokens=1e11)
    assert not e.meets_target and e.excess_cost_usd < 0 and "misses the target" in e.notes[0]
    assert e.serving.step_model == "no roofline" and e.serving.time_to_first_token_ms > 0


def test_cli_json_has_the_keys_of_the_optimum(tco_run):
    code, out, err = tco_run("evaluate", ROOFLINE, "--params", "30B", "--tokens", "3T", "--json")
    assert code == 0, err
    data = json.loads(out)
    _, opt_out, _ = tco_run("optimize", ROOFLINE, "--json", "--no-report")
    assert set(data["design"]) == set(json.loads(opt_out)["optimal"]) == set(data["optimal"])
    for key in ("time_per_output_token_ms", "time_to_first_token_ms", "generated_tokens_per_second_per_device",
                "memory_gb_per_replica", "bound"):
        assert key in data["serving"]
    assert data["excess_cost_usd"] > 0 and data["design"]["params"] == 30e9


def test_cli_terminal_output(tco_run):
    code, out, err = tco_run("evaluate", ROOFLINE, "--params", "30B", "--tokens", "3T")
    assert code == 0, err
    assert "more than the optimum" in out and "ms per output token" in out and "GPU-hours" in out


@pytest.mark.parametrize("args, message", [
    (["--params", "30X", "--tokens", "3T"], "--params: unknown suffix"),
    (["--params", "1e20", "--tokens", "3T"], "--params: must be in [1e6, 1e15] parameters"),
    (["--params", "30B", "--tokens", "nan"], "--tokens"),
    (["--params", "30B"], "Missing option '--tokens'"),
])
def test_bad_input_is_one_line_and_exit_2(tco_run, args, message):
    code, out, err = tco_run("evaluate", ROOFLINE, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err, err


def test_the_api_refuses_sizes_out_of_range():
    with pytest.raises(tco.FieldError, match="params: must be in"):
        tco.evaluate(tco.load_scenario(ROOFLINE), params=0.0, tokens=1e12)


def test_a_cheaper_design_that_misses_the_target_says_less_not_a_negative_more(tco_run):
    code, out, err = tco_run("evaluate", ROOFLINE, "--params", "7B", "--tokens", "2T")
    assert code == 0, err
    text = " ".join(out.split())
    assert "misses the loss target" in text and "less than the optimum" in text and "$-" not in text


def test_a_scenario_with_candidate_architectures_says_which_one_priced_the_design(tco_run):
    code, out, err = tco_run("evaluate", ROOT / "scenarios" / "moe-expert-choice.yaml", "--params", "2B",
                             "--tokens", "1T", "--json")
    assert code == 0, err
    data = json.loads(out)
    winner = tco.optimize(tco.load_scenario(ROOT / "scenarios" / "moe-expert-choice.yaml")).architecture_choice
    experts = winner.candidates[winner.winner].experts
    assert any(f"priced with the optimum's: {experts:g} experts" in note for note in data["notes"])
