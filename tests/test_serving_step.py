"""Issue 13: the serving step model beyond the roofline (tco/model/serving_step.py StepOverhead, FirstToken): the
decode cost adds per-step overhead and tensor-parallel all-reduce time outside max(compute, memory), so the GP
(plain monomials next to the max) and the exact regime split (the same monomials in both regimes) must agree to
1e-6 with every term on; turned off it changes nothing; sizing, evaluate and the workbook use the same step; and
serving.max_time_to_first_token_ms caps N at the exact root of the time to first token."""

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import tco
from tco.model.build import build_model
from tco.model.decode_roofline import roofline_coefficients
from tco.model.replica import replica_step, ttft_params_limit
from tco.model.serving_step import first_token, step_overhead, time_to_first_token_seconds
from tco.scenario.load import scenario_from_dict

BASE = """
name: step
law: hoffmann2022
target: {quality_of: {params: 70B, tokens: 1.4T}}
training: {hardware: H100 SXM, mfu: 0.4, price_usd_per_hour: 2.0}
serving: {hardware: H100 SXM, dtype: bf16, price_usd_per_hour: 2.0, batch_size: 64, roofline: {}}
demand: {requests: 10B, prompt_tokens_per_request: 1000, generated_tokens_per_request: 300}
"""
FIXED = {"layers": 80, "heads": 64, "kv_heads": 8, "head_dim": 128}


def scenario(roofline=None, **sections):
    data = yaml.safe_load(BASE)
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    if roofline is not None:
        data["serving"]["roofline"] = roofline
    return scenario_from_dict(data)


# --- the decode cost with the step model on ----------------------------------------------------------------
def test_decode_cost_adds_the_step_overhead_by_hand():
    # Llama-2-70B shape on 4 H100s at batch 64, 1,000 + 300 / 2 = 1,150 tokens of context, default calibration:
    # step overhead = 80 x (32 us / 4 + 2 x 19 us + 1,150 x 20 ns) + 64 x 2 x 80 x 8,192 x 2 x 3/4 x 2 / 450e9 s.
    s = scenario({"architecture": FIXED}, serving={"devices_per_replica": 4})
    n = 50e9
    fixed = 80 * (32e-6 / 4 + 2 * 19e-6 + 1150 * 20e-9)
    per_sequence = 2 * 80 * 8192 * 2 * (3 / 4) * 2 / 450e9
    step = step_overhead(s)
    assert step.fixed_s == pytest.approx(fixed, rel=1e-12) and step.fixed_exp == 0
    assert step.per_sequence_s == pytest.approx(per_sequence, rel=1e-12)
    times = roofline_coefficients(s)
    pure = max(2 * n / (989.4e12 * 0.5), (2 * n / 64 + 1150 * 2 * 80 * 8 * 128 * 2) / (3350e9 * 0.8))
    per_token = pure + (fixed + 64 * per_sequence) * 4 / 64  # device-seconds: the step x R / b
    assert float(times.seconds(n)) == pytest.approx(per_token, rel=1e-12)
    model = build_model(s)
    generated = 10e9 * 300
    assert model.term("decode").usd(n, 1e12) == pytest.approx(generated * 2.0 / 3600 * per_token, rel=1e-12)
    # the replica's step (sizing, evaluate) is the same step: device-seconds per token x b / R
    assert replica_step(s, n).seconds(64) == pytest.approx(per_token * 64 / 4, rel=1e-12)


def test_the_shape_rule_gives_layer_and_width_monomials():
    s = scenario({}, serving={"devices_per_replica": 4})
    step = step_overhead(s)
    assert step.fixed_exp == pytest.approx(1 / 3) and step.per_sequence_exp == pytest.approx(2 / 3)
    n = 12 * 80 * 10240**2  # aspect ratio 128: 80 layers of d_model 10,240
    fixed = 80 * (32e-6 / 4 + 2 * 19e-6 + 1150 * 20e-9)
    assert step.fixed_s * n ** (1 / 3) == pytest.approx(fixed, rel=1e-12)
    assert step.per_sequence_s * n ** (2 / 3) == pytest.approx(2 * 80 * 10240 * 2 * 0.75 * 2 / 450e9, rel=1e-12)


@pytest.mark.parametrize("fixed", [True, False], ids=["architecture", "shape rule"])
@pytest.mark.parametrize("tp", [1, 4])
@pytest.mark.parametrize("batch", [1, 64, 2048])
def test_gp_matches_exact_with_every_new_term_on(fixed, tp, batch):
    roof = {"architecture": FIXED} if fixed else {}
    # memory_fit off: batches up to 2,048 cover the regimes, not what fits
    s = scenario(roof, serving={"devices_per_replica": tp, "batch_size": batch, "memory_fit": False})
    result = tco.optimize(s)
    assert result.cross_check.max_rel_diff <= 1e-6
    assert result.decode_roofline.optimal.overhead_seconds_per_token > 0
    # an independent check: the cheapest point of a dense grid on the iso-loss curve is not cheaper
    model = build_model(s)
    loss = model.loss
    n = np.geomspace(result.optimal.params / 3, result.optimal.params * 3, 200_001)
    n = n[loss.a * n ** -loss.p < 1]  # the curve a N^-p + b D^-q = 1 needs a N^-p < 1
    d = (loss.b / (1 - loss.a * n ** -loss.p)) ** (1 / loss.q)
    brute = float(np.min(model.objective_value(n, d)))
    assert result.optimal.total_cost_usd <= brute * (1 + 1e-9)
    assert result.optimal.total_cost_usd == pytest.approx(brute, rel=1e-8)


@settings(max_examples=25, deadline=None)
@given(batch=st.floats(1, 4096), context=st.floats(0, 32_000), tp=st.sampled_from([1, 2, 4, 8]),
       fixed=st.booleans(), scale=st.floats(0, 10), cap=st.sampled_from([None, "ttft", "tpot"]))
def test_gp_matches_exact_on_random_step_models(batch, context, tp, fixed, scale, cap):
    calibration = {"overhead_per_layer_us": 32 * scale, "allreduce_latency_us": 19 * scale,
                   "attention_ns_per_layer_context_token": 20 * scale}
    roof = {"context_tokens": context, "calibration": calibration, **({"architecture": FIXED} if fixed else {})}
    base = scenario(roof, serving={"batch_size": batch, "devices_per_replica": tp, "memory_fit": False})
    if cap is not None:  # a cap at the time of a model 30% smaller than the free optimum
        n = 0.7 * tco.optimize(base).optimal.params
        ms = (time_to_first_token_seconds(base, n) if cap == "ttft" else replica_step(base, n).seconds(batch)) * 1000
        field = "max_time_to_first_token_ms" if cap == "ttft" else "max_time_per_output_token_ms"
        base = scenario(roof, serving={"batch_size": batch, "devices_per_replica": tp, field: ms,
                                       "memory_fit": False})
    result = tco.optimize(base)
    assert result.cross_check.max_rel_diff <= 1e-6
    assert abs(result.optimal.loss / result.target_loss - 1) < 1e-9
    if cap is not None:
        assert len(result.binding_constraints) == 1


def test_turned_off_the_step_model_changes_nothing():
    pure = tco.optimize(scenario({"calibration": None}))
    off = {"overhead_per_layer_us": 0, "attention_ns_per_layer_context_token": 0, "allreduce_latency_us": 50}
    zeros = tco.optimize(scenario({"calibration": off}))  # one device: the all-reduce latency never counts
    assert zeros.optimal.to_dict() == pure.optimal.to_dict()
    assert zeros.decode_roofline.optimal.overhead_seconds_per_token is None
    on = tco.optimize(scenario({}))
    assert on.optimal.params < pure.optimal.params  # overhead grows with N (layers): a smaller model pays off


def test_sizing_and_the_decode_section_use_the_same_step():
    s = scenario({"architecture": FIXED}, serving={"devices_per_replica": 4},
                 demand={"peak_requests_per_second": 10})
    result = tco.optimize(s)
    fleet, roof = result.sizing.serving.optimal, result.decode_roofline.optimal
    assert fleet.batch_size == 64
    assert fleet.time_per_output_token_ms == pytest.approx(roof.time_per_output_token_ms, rel=1e-12)
    serving = tco.evaluate(s, params=result.optimal.params, tokens=result.optimal.tokens).serving
    assert serving.time_per_output_token_ms == pytest.approx(roof.time_per_output_token_ms, rel=1e-12)


def test_the_latency_target_counts_the_overhead():
    unconstrained = scenario({"architecture": FIXED}, serving={"devices_per_replica": 4})
    free = tco.optimize(unconstrained)
    ms = replica_step(unconstrained, 0.7 * free.optimal.params).seconds(64) * 1000  # the step of a 30% smaller N
    s = scenario({"architecture": FIXED}, serving={"devices_per_replica": 4, "max_time_per_output_token_ms": ms})
    result = tco.optimize(s)
    assert result.binding_constraints == ["serving.max_time_per_output_token_ms"]
    assert result.cross_check.max_rel_diff <= 1e-6
    assert result.optimal.params == pytest.approx(0.7 * free.optimal.params, rel=1e-9)


# --- time to first token and its cap -----------------------------------------------------------------------
def test_time_to_first_token_by_hand():
    # 1,000 prompt tokens of a 50B model on 4 H100s: compute (2 N p + 4 x 80 x 8,192 x p^2 / 2) / (4 x peak x
    # 0.84) > one read of the weights; + 80 x 32 us / 4 + 2 x 80 x (19 us + 3/4 x 1,000 x 8,192 x 2 x 2 / 450e9)
    # + 1,000 x 16 us.
    s = scenario({"architecture": FIXED}, serving={"devices_per_replica": 4})
    n, p = 50e9, 1000
    compute = (2 * n * p + 4 * 80 * 8192 * p * p / 2) / (4 * 989.4e12 * 0.84)
    overhead = 80 * 32e-6 / 4 + 2 * 80 * (19e-6 + 0.75 * p * 8192 * 2 * 2 / 450e9) + p * 16e-6
    assert time_to_first_token_seconds(s, n) == pytest.approx(compute + overhead, rel=1e-12)
    assert first_token(s).bound(n) == "compute"
    pure = scenario({"architecture": FIXED, "calibration": None}, serving={"devices_per_replica": 4})
    assert time_to_first_token_seconds(pure, n) == pytest.approx(  # at prefill_mfu, nothing else
        (2 * n * p + 4 * 80 * 8192 * p * p / 2) / (4 * 989.4e12 * 0.5), rel=1e-12)


@pytest.mark.parametrize("fixed", [True, False], ids=["architecture", "shape rule"])
def test_first_token_cap_binds_at_its_exact_root(fixed):
    roof = {"architecture": FIXED} if fixed else {}
    free = tco.optimize(scenario(roof, serving={"devices_per_replica": 4}))
    ms = time_to_first_token_seconds(scenario(roof, serving={"devices_per_replica": 4}),
                                     0.7 * free.optimal.params) * 1000  # the first token of a 30% smaller N
    s = scenario(roof, serving={"devices_per_replica": 4, "max_time_to_first_token_ms": ms})
    limit = ttft_params_limit(s)
    assert time_to_first_token_seconds(s, limit) * 1000 == pytest.approx(ms, rel=1e-12)
    result = tco.optimize(s)
    assert result.binding_constraints == ["serving.max_time_to_first_token_ms"]
    assert result.optimal.params == pytest.approx(limit, rel=1e-9)
    assert limit == pytest.approx(0.7 * free.optimal.params, rel=1e-9)
    assert result.cross_check.max_rel_diff <= 1e-6
    loose = tco.optimize(scenario(roof, serving={"devices_per_replica": 4, "max_time_to_first_token_ms": 10 * ms}))
    assert loose.binding_constraints == [] and loose.optimal.params == pytest.approx(free.optimal.params, rel=1e-9)


# --- errors --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("roofline, serving, message", [
    ({}, {"max_time_to_first_token_ms": 5},
     "serving.max_time_to_first_token_ms: 5 ms to the first token is too short even for a 1,000,000-parameter"),
    ({}, {"hardware": {"name": "chip", "peak_flops": {"bf16": 1e15}, "bandwidth_gb_per_s": 3000,
                       "price_usd_per_hour": 1.0}, "devices_per_replica": 2},
     "serving.devices_per_replica: a replica of 2 devices all-reduces its activations every layer, and chip has "
     "no interconnect_gb_per_s"),
    ({"architecture": {"layers": 80, "kv_heads": 8, "head_dim": 128}}, {"devices_per_replica": 2},
     "serving.roofline.architecture.heads: the tensor-parallel all-reduce moves d_model"),
    ({"calibration": {"overhead_per_layer_us": -1}}, {}, "serving.roofline.calibration.overhead_per_layer_us"),
    ({"calibration": {"overhead_us": 1}}, {}, "serving.roofline.calibration.overhead_us"),
])
def test_bad_step_input_is_a_one_line_error(tmp_path, tco_run, roofline, serving, message):
    data = yaml.safe_load(BASE)
    data["serving"] = {**data["serving"], **serving, "roofline": roofline}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = tco_run("optimize", path, "--no-report")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err, err


def test_a_device_without_interconnect_serves_one_device_replicas_and_the_pure_roofline():
    chip = {"name": "chip", "peak_flops": {"bf16": 1e15}, "bandwidth_gb_per_s": 3000, "price_usd_per_hour": 1.0}
    scenario({}, serving={"hardware": chip})
    scenario({"calibration": None}, serving={"hardware": chip, "devices_per_replica": 2})
    given = scenario({}, serving={"hardware": {**chip, "interconnect_gb_per_s": 100}, "devices_per_replica": 2})
    assert step_overhead(given).per_sequence_s > 0


# --- the workbook --------------------------------------------------------------------------------------------
def test_workbook_recalculates_the_step_overhead(tmp_path):
    from test_excel_recalc import SOFFICE, check_every_formula, expected_by_name, recalc

    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from tco.report.excel import write_report
    from tco.studies import prepare

    entry = prepare(scenario({"architecture": FIXED}, serving={"devices_per_replica": 4}), sweep_points=5)
    path = write_report(entry, tmp_path / "tp4.xlsx")
    (out,) = recalc([path], tmp_path / "out")
    assert check_every_formula(path, out, expected_by_name(entry)) >= 40
