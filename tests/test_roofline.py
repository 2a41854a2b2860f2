"""Issue 7, capability 1: the serving roofline as the decode cost model (tco/model/decode_roofline.py,
tco/solve/regimes.py). Hand-derived numbers in the comments; published figures from llm-analysis and Databricks;
the GP (cp.maximum) against the exact regime split at 1e-6, and both against brute force.

Every scenario here is the PURE roofline (`calibration: null`: no per-step overhead, no all-reduce), because the
hand calculations and the llm-analysis cross-checks price exactly max(compute, memory); the serving step model
with its overhead on is tested in tests/test_serving_step.py."""

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import tco
from tco.model.build import build_model
from tco.solve.curve import curve_point
from tco.model.repetition import SATURATION, real_tokens
from tco.scenario.load import scenario_from_dict
from tco.model.decode_roofline import roofline_coefficients
from tco.model.serving import kv_bytes_per_token
from tco.studies.arrays import solve_frame

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "scenarios" / "roofline-long-context-assistant.yaml"
BASE = """
name: roofline
law: hoffmann2022
target: {quality_of: {params: 70B, tokens: 1.4T}}
training: {hardware: H100 SXM, mfu: 0.4, price_usd_per_hour: 2.0}
serving: {hardware: H100 SXM, dtype: fp8, prefill_mfu: 0.5, price_usd_per_hour: 2.0, batch_size: 64,
          roofline: {calibration: null}}
demand: {requests: 10B, prompt_tokens_per_request: 70, generated_tokens_per_request: 215}
"""


def scenario(roofline=None, **sections):
    data = yaml.safe_load(BASE)
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    if roofline is not None:
        data["serving"]["roofline"] = {"calibration": None, **roofline}  # the pure roofline (module docstring)
    return scenario_from_dict(data)


# --- KV cache bytes: hand calculation and published figures ----------------------------------------------
def test_kv_bytes_of_llama2_70b_match_databricks_table():
    # 2 (K, V) x 80 layers x 8 KV heads x 128 head dim x 2 bytes = 327,680 bytes per token. Databricks, "LLM
    # Inference Performance Engineering" (2023), table 3: Llama-2-70B at 1,024 tokens, FP16: 0.312 GiB at batch 1,
    # 5 GiB at batch 16.
    s = scenario({"architecture": {"layers": 80, "heads": 64, "kv_heads": 8, "head_dim": 128}})
    coef, exp = kv_bytes_per_token(s.serving.roofline)
    assert (coef, exp) == (327_680.0, 0.0)
    assert coef * 1024 / 2**30 == pytest.approx(0.3125)
    assert coef * 1024 * 16 / 2**30 == pytest.approx(5.0)


def test_shape_rule_reproduces_the_architecture_it_implies():
    # Aspect ratio 102.4 with 80 layers is d_model 8192 and N = 12 x 80 x 8192^2 = 64.42B; with 1/8 of the heads
    # for KV the shape rule must give Llama 2 70B's 327,680 bytes per token at that N.
    s = scenario({"shape": {"aspect_ratio": 102.4, "kv_head_fraction": 0.125}})
    coef, exp = kv_bytes_per_token(s.serving.roofline)
    n = 12 * 80 * 8192**2
    assert exp == pytest.approx(2 / 3)
    assert coef * n**exp == pytest.approx(327_680.0, rel=1e-12)


# --- per-token time against llm-analysis (cli99/llm-analysis, examples/*/outputs_infer*) --------------------
# llm-analysis sums per-layer max(compute, memory) and adds the KV cache twice (load and store of the whole
# cache at the final length); tco reads it once. So llm-analysis's decode latency = tco's memory time + one more
# KV pass (+ a few microseconds of layernorm and embedding traffic).
LLM_ANALYSIS = [
    # (case, device, N = weight bytes / 2, layers, heads, context, hbm efficiency, published decode latency s)
    ("llama-7b, A100-80GB, batch 1, 512 + 32 tokens, fe 1 hbme 1", "A100 80GB", 13_147_045_888 / 2, 32, 32, 544,
     1.0, 0.006730704805),
    ("llama-7b, fe 0.7 hbme 0.9", "A100 80GB", 13_147_045_888 / 2, 32, 32, 544, 0.9, 0.0074788),
    ("FasterTransformer test-13b, A100-40GB, batch 1, 512 + 10 tokens", "A100 40GB", 25_680_609_280 / 2, 40, 40,
     522, 1.0, 0.017071253),
]


@pytest.mark.parametrize("case, device, params, layers, heads, context, efficiency, published", LLM_ANALYSIS,
                         ids=[c[0] for c in LLM_ANALYSIS])
def test_memory_time_matches_llm_analysis(case, device, params, layers, heads, context, efficiency, published):
    s = scenario({"architecture": {"layers": layers, "heads": heads, "kv_heads": heads, "head_dim": 128},
                  "bandwidth_efficiency": efficiency, "context_tokens": context},
                 serving={"hardware": device, "dtype": "bf16", "batch_size": 1, "price_usd_per_hour": 2.0})
    times = roofline_coefficients(s)
    memory = float(times.memory_seconds(params))
    kv_pass = times.kv_s  # one read of the cache at `context` tokens (kv_exp 0: fixed architecture)
    assert float(times.seconds(params)) == memory  # batch 1: memory bound
    assert memory + kv_pass == pytest.approx(published, rel=1e-3)


# --- the decode cost at a design: hand calculation -------------------------------------------------------
def test_decode_cost_is_the_roofline_max_by_hand():
    # H100 SXM FP8: 1,978.9e12 FLOP/s dense, 3,350 GB/s. Batch 64, compute at 50%, bandwidth at 80%,
    # context 70 + 215 / 2 = 177.5 tokens, 1 byte per weight, shape rule (r = 128, 1/8 KV heads, 2-byte KV):
    # KV bytes per token = 2 x 0.125 x 2 x 128 x (N / (12 x 128^2))^(2/3); attention FLOPs per generated token
    # = 4 x layers x d_model x context = 4 x 128 x (N / (12 x 128^2))^(2/3) x 177.5 (in the compute leg).
    s = scenario()
    result = tco.optimize(s)
    n = result.optimal.params
    bandwidth = 3350e9 * 0.8
    attention = 4 * 128 * (n / (12 * 128**2)) ** (2 / 3) * 177.5
    compute = (2 * n + attention) / (1978.9e12 * 0.5)
    kv = 2 * 0.125 * 2 * 128 * (n / (12 * 128**2)) ** (2 / 3)
    memory = (1.0 * n / 64 + 177.5 * kv) / bandwidth
    assert memory > compute  # batch 64 on an H100 is memory bound
    generated = 10e9 * 215
    assert result.optimal.decode_cost_usd == pytest.approx(generated * 2.0 / 3600 * memory, rel=1e-12)
    assert result.optimal.decode_flops == pytest.approx((2 * n + attention) * generated, rel=1e-12)
    roof = result.decode_roofline.optimal
    assert roof.bound == "memory"
    assert roof.device_seconds_per_token == pytest.approx(memory, rel=1e-12)
    assert roof.kv_bytes_per_token == pytest.approx(kv, rel=1e-12)
    assert roof.effective_decode_mfu == pytest.approx((2 * n + attention) / (1978.9e12 * memory), rel=1e-12)
    assert roof.time_per_output_token_ms == pytest.approx(memory * 64 * 1000, rel=1e-12)
    assert roof.usd_per_million_generated_tokens == pytest.approx(2.0 / 3600 * memory * 1e6, rel=1e-12)
    assert math.isinf(build_model(s).roofline.times.crossover_params())  # weights/batch alone outweigh compute


def test_crossover_by_hand():
    # Batch 1,024: weights per token 1 / (1024 x 2.68e12) s/param < compute 2 / (1978.9e12 x 0.5) s/param, so
    # compute catches up at N* = ((kv_s - attention_s) / (compute_s - weights_s))^3 (kv_exp = 2/3), attention_s
    # the attention FLOPs' time per generated token / N^(2/3): 4 x 128 x (12 x 128^2)^(-2/3) x 177.5 FLOPs.
    times = build_model(scenario(serving={"batch_size": 1024})).roofline.times
    compute_s, weights_s = 2 / (1978.9e12 * 0.5), 1 / (1024 * 3350e9 * 0.8)
    kv_s = 177.5 * 2 * 0.125 * 2 * 128 * (12 * 128**2) ** (-2 / 3) / (3350e9 * 0.8)
    attention_s = 177.5 * 4 * 128 * (12 * 128**2) ** (-2 / 3) / (1978.9e12 * 0.5)
    n_star = ((kv_s - attention_s) / (compute_s - weights_s)) ** 3
    assert times.crossover_params() == pytest.approx(n_star, rel=1e-12)
    assert float(times.compute_seconds(n_star)) == pytest.approx(float(times.memory_seconds(n_star)), rel=1e-12)


# --- the optimum: GP vs exact regimes vs brute force -----------------------------------------------------
def brute_force_cost(s):
    """The cheapest point of a dense grid on the iso-loss curve, then refined: an independent minimum."""
    model = build_model(s)
    loss = model.loss
    zeta = np.linspace(-30, 30, 200_001)
    log_n, log_d = curve_point(zeta, loss.a, loss.p, loss.b, loss.q)
    costs = model.objective_value(np.exp(log_n), np.exp(log_d))
    k = int(np.argmin(costs))
    fine = np.linspace(zeta[max(k - 1, 0)], zeta[min(k + 1, zeta.size - 1)], 200_001)
    log_n, log_d = curve_point(fine, loss.a, loss.p, loss.b, loss.q)
    return float(np.min(model.objective_value(np.exp(log_n), np.exp(log_d))))


@pytest.mark.parametrize("batch, bound", [(8, "memory"), (64, "memory"), (231.4, "balanced"), (1024, "compute")])
def test_every_regime_agrees_with_the_gp_and_brute_force(batch, bound):
    # batch 231.4 (a mean batch over steps) puts the optimum exactly on the crossover: the kink of
    # max(compute, memory) is the optimum (with attention FLOPs in the compute leg; 234 without them)
    s = scenario(serving={"batch_size": batch})
    result = tco.optimize(s)
    assert result.decode_roofline.optimal.bound == bound
    assert result.cross_check.max_rel_diff <= 1e-6 and result.cross_check.polished
    assert result.binding_constraints == []  # the crossover is not a constraint of the scenario
    brute = brute_force_cost(s)
    assert result.optimal.total_cost_usd <= brute * (1 + 1e-12)
    assert result.optimal.total_cost_usd == pytest.approx(brute, rel=1e-9)
    # the KKT multiplier of the loss target (polish in the winning regime) is d cost / d loss, also at the kink
    from tco.assemble import shadow_by_difference

    assert result.loss_shadow_price_usd_per_nat == pytest.approx(shadow_by_difference(build_model(s)), rel=1e-7)
    if bound == "balanced":
        n_star = build_model(s).roofline.times.crossover_params()
        assert result.optimal.params == pytest.approx(n_star, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(batch=st.floats(1, 4096), context=st.floats(0, 32_000), efficiency=st.floats(0.3, 1.0),
       fixed=st.booleans(), cap=st.sampled_from([None, 15e9, 2e12]))
def test_gp_matches_exact_regimes(batch, context, efficiency, fixed, cap):
    roof = {"context_tokens": context, "bandwidth_efficiency": efficiency}
    if fixed:
        roof["architecture"] = {"layers": 64, "heads": 64, "kv_heads": 8, "head_dim": 128}
    extra = {"constraints": {"max_params": cap}} if cap is not None and cap < 1e11 else (
        {"constraints": {"max_tokens": cap}} if cap is not None else {})
    # memory fit opted out: batches up to 4096 are drawn to cover the regimes, not to fit a replica
    s = scenario(roof, serving={"batch_size": batch, "memory_fit": False}, **extra)
    result = tco.optimize(s)
    assert result.cross_check.max_rel_diff <= 1e-6
    assert not any("differ" in w for w in result.warnings)
    assert abs(result.optimal.loss / result.target_loss - 1) < 1e-9


def test_sweeps_use_the_same_regimes():
    s = scenario()
    batches = np.array([4.0, 64.0, 231.4, 1024.0])
    frame = solve_frame(s, {"serving.batch_size": batches})
    for batch, row in zip(batches, frame.itertuples()):
        single = tco.optimize(scenario(serving={"batch_size": float(batch)}))
        assert row.optimal_params == pytest.approx(single.optimal.params, rel=1e-9)
        assert row.optimal_total_cost_usd == pytest.approx(single.optimal.total_cost_usd, rel=1e-12)


def test_larger_batches_never_cost_more():
    costs = [tco.optimize(scenario(serving={"batch_size": b})).optimal.total_cost_usd for b in (1, 8, 64, 512)]
    assert costs == sorted(costs, reverse=True)


def test_flops_objective_ignores_the_roofline():
    # Decode FLOPs are 2N per token whatever bounds the time: the FLOPs optimum equals the decode_mfu scenario's.
    with_roof = tco.optimize(scenario(), objective="flops")
    plain = tco.optimize(scenario(serving={"roofline": None, "decode_mfu": 0.05}), objective="flops")
    assert with_roof.optimal.params == pytest.approx(plain.optimal.params, rel=1e-9)


def test_roofline_with_repeated_data_picks_the_cheaper_regime():
    s = scenario(serving={"batch_size": 231.4}, data={"max_unique_tokens": "2T"})
    result = tco.optimize(s)
    model = build_model(s)
    assert result.data_limits.epochs > 1
    assert result.to_dict()["optimal"]["epochs"] == pytest.approx(result.optimal.tokens / 2e12)
    assert result.cross_check.max_rel_diff <= 1e-6
    # brute force along the repetition iso-loss curve, parametrized by the effective data D' (x = log D')
    loss = model.loss
    x = np.linspace(np.log(loss.b) / loss.q + 1e-9, np.log(2e12 * SATURATION) - 1e-9, 400_001)
    n = (loss.a / (1 - loss.b * np.exp(-loss.q * x))) ** (1 / loss.p)
    costs = model.objective_value(n, real_tokens(np.exp(x), 2e12))
    assert result.optimal.total_cost_usd <= float(np.min(costs)) * (1 + 1e-12)
    assert result.optimal.total_cost_usd == pytest.approx(float(np.min(costs)), rel=1e-7)


# --- the bundled scenario, reports and errors ------------------------------------------------------------
def test_bundled_scenario_sizes_serving_with_the_same_roofline(tco_run):
    result = tco.optimize(tco.load_scenario(BUNDLED))
    roof, fleet = result.decode_roofline.optimal, result.sizing.serving.optimal
    assert fleet.batch_size == 64 and fleet.bound == "memory"
    assert fleet.time_per_output_token_ms == pytest.approx(roof.time_per_output_token_ms, rel=1e-12)
    assert fleet.usd_per_million_generated_tokens == pytest.approx(roof.usd_per_million_generated_tokens,
                                                                       rel=1e-12)
    code, out, err = tco_run("optimize", BUNDLED, "--no-report")
    assert code == 0 and "Decode roofline: batch 64, 2,150 tokens of context" in out


def test_workbook_prices_decode_with_a_live_max_formula(tmp_path):
    import openpyxl

    from tco.report.excel import write_report
    from tco.studies import prepare

    path = write_report(prepare(tco.load_scenario(BUNDLED), sweep_points=5), tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    names = {n: wb.defined_names[n].attr_text for n in ("roof_batch_size", "roof_kv_coef", "optimal_decode_cost_usd")}
    sheet, cell = names["optimal_decode_cost_usd"].split("!")
    formula = wb[sheet.strip("'")][cell.replace("$", "")].value
    assert formula.startswith("=") and "MAX(" in formula and "roof_batch_size" in formula
    assert "decode_mfu" not in wb.defined_names
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row[0]}
    # the bundled scenario runs the default serving step model: the roofline max plus the overhead outside it
    roof = tco.optimize(tco.load_scenario(BUNDLED)).decode_roofline.optimal
    assert roof.overhead_seconds_per_token > 0
    assert summary["Decode roofline (optimal)"].startswith(
        f"memory bound: {roof.device_seconds_per_token * 1e3:.4g} device-ms per generated token")


@pytest.mark.parametrize("roofline, serving, message", [
    ({}, {"decode_mfu": 0.05}, "serving.decode_mfu: decode_mfu prices decode at a fixed MFU"),
    ({"architecture": {"layers": 80, "kv_heads": 8, "head_dim": 128}, "shape": {}}, {},
     "serving.roofline.shape: give either architecture"),
    ({"shape": {"kv_head_fraction": 2}}, {}, "serving.roofline.shape.kv_head_fraction: must be a fraction"),
    ({"bandwidth_efficiency": 1.5}, {}, "serving.roofline.bandwidth_efficiency"),
    ({"batch": 8}, {}, "serving.roofline.batch"),
    ({"architecture": {"layers": 80, "heads": 8, "kv_heads": 64, "head_dim": 128}}, {},
     "serving.roofline.architecture.kv_heads: 64 KV heads exceed the 8 query heads"),
    ({}, {"hardware": {"name": "chip", "peak_flops": {"bf16": 1e15}, "price_usd_per_hour": 1.0}, "dtype": "bf16"},
     "serving.roofline: chip has no bandwidth_gb_per_s"),
])
def test_bad_roofline_input_is_a_one_line_error(tmp_path, tco_run, roofline, serving, message):
    data = yaml.safe_load(BASE)
    data["serving"] = {**data["serving"], **serving, "roofline": roofline}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = tco_run("optimize", path, "--no-report")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ") and message in err, err


# --- memory fit and latency under the roofline (capability 2 with the roofline's KV model) ----------------
LLAMA_70B = {"architecture": {"layers": 80, "heads": 64, "kv_heads": 8, "head_dim": 128}}


def test_memory_fit_counts_the_roofline_kv_of_a_full_batch():
    # Fixed architecture, 327,680 KV bytes per token: a batch of 512 at 70 + 215 tokens holds
    # 512 x 285 x 327,680 = 47.815 GB, leaving 80 - 47.815 GB for 1-byte weights: N <= 32.185B.
    s = scenario(LLAMA_70B, serving={"batch_size": 512, "memory_fit": True})
    (cap,) = build_model(s).caps
    assert cap.limit == pytest.approx((80e9 - 512 * 285 * 327_680) / 1.0, rel=1e-12)
    # Shape rule: the KV grows as N^(2/3); the cap is the root of weights + KV = memory, and it binds here
    s = scenario(serving={"batch_size": 1024, "memory_fit": True, "dtype": "bf16"})
    (cap,) = build_model(s).caps
    kv = 1024 * 285 * 2 * 0.125 * 2 * 128 * (12 * 128**2) ** (-2 / 3)
    assert 2.0 * cap.limit + kv * cap.limit ** (2 / 3) == pytest.approx(80e9, rel=1e-12)
    result = tco.optimize(s)
    assert result.binding_constraints == ["serving.memory_fit"]
    assert result.optimal.params == pytest.approx(cap.limit, rel=1e-9)
    assert result.cross_check.max_rel_diff <= 1e-6


def test_latency_target_is_the_roofline_step_of_the_full_batch():
    # 10 ms for a step of 64 sequences: per token 10e-3 / 64 device-seconds. Compute leg: N <= budget / compute_s;
    # memory leg (fixed architecture): N <= (budget - kv_s) / weights_s. The smaller one is the cap.
    s = scenario(LLAMA_70B, serving={"batch_size": 64, "max_time_per_output_token_ms": 10})
    times = roofline_coefficients(s)
    budget = 10e-3 / 64
    cap = next(c for c in build_model(s).caps if c.name == "serving.max_time_per_output_token_ms")
    assert cap.limit == pytest.approx(min(budget / times.compute_s, (budget - times.kv_s) / times.weights_s),
                                      rel=1e-12)
    result = tco.optimize(scenario(LLAMA_70B, serving={"batch_size": 64, "max_time_per_output_token_ms": 6}))
    assert result.binding_constraints == ["serving.max_time_per_output_token_ms"]
    step_ms = result.decode_roofline.optimal.time_per_output_token_ms
    assert step_ms == pytest.approx(6.0, rel=1e-9)  # the design decodes its batch in exactly the target
    assert result.cross_check.max_rel_diff <= 1e-6


@pytest.mark.parametrize("serving, message", [
    ({"batch_size": 2048, "memory_fit": True}, "serving.memory_fit: the model cannot fit any replica: the KV cache "
     "of batch_size 2048 x 285 tokens x 327,680 bytes per token = 191.3 GB fills devices_per_replica 1 x 80 GB"),
    ({"batch_size": 512, "max_time_per_output_token_ms": 1}, "serving.max_time_per_output_token_ms: 1 ms per "
     "output token is too short even for the KV reads: a batch of 512 at 178 tokens of context reads 29.78 GB"),
    ({"kv_cache_gb": 5}, "serving.kv_cache_gb: with roofline the KV cache is derived"),
])
def test_roofline_kv_that_cannot_fit_is_a_load_error(tmp_path, tco_run, serving, message):
    data = yaml.safe_load(BASE)
    data["serving"] = {**data["serving"], **serving, "roofline": LLAMA_70B}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = tco_run("optimize", path, "--no-report")
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_roofline_kv_that_cannot_fit_fails_at_construction_and_in_sweeps():
    # The check needs the model's KV physics (tco.model.checks), yet it fires where every input error does: when a
    # scenario is validated (API callers and the sweeps' validation of their extremes), not first at the solve.
    from tco import ScenarioError
    from tco.model.checks import check_roofline_fit
    from tco.scenario.schema import SCENARIO_CHECKS
    from tco.studies.arrays import validate_overrides

    assert check_roofline_fit in SCENARIO_CHECKS
    with pytest.raises(ScenarioError, match=r"serving\.memory_fit: the model cannot fit any replica: the KV cache of "
                       r"batch_size 2048 x 285 tokens x 327,680 bytes per token = 191\.3 GB"):
        scenario(LLAMA_70B, serving={"batch_size": 2048, "memory_fit": True})
    fits = scenario(LLAMA_70B, serving={"batch_size": 64, "memory_fit": True})
    with pytest.raises(ScenarioError, match=r"serving\.memory_fit: the model cannot fit any replica"):
        validate_overrides(fits, {"serving.batch_size": [64, 2048]})


def test_monte_carlo_samples_roofline_inputs_and_reoptimizes_each_exactly():
    from tco.studies.distributions import sample
    from tco.studies.montecarlo import monte_carlo

    data = yaml.safe_load(BUNDLED.read_text())
    data["uncertainty"] = {"samples": 40, "seed": 3, "inputs": {
        "serving.roofline.bandwidth_efficiency": {"uniform": [0.5, 0.9]},
        "serving.batch_size": {"uniform": [8, 1024]}}}
    s = scenario_from_dict(data)
    result = monte_carlo(s, keep_draws=True, progress=False)
    # the same draws (one chunk: the first child of the seed), re-optimized one at a time through the GP
    drawn = sample(s.uncertainty, 40, np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0]))
    for k in (0, 1, 2):
        data_k = yaml.safe_load(BUNDLED.read_text())
        data_k["serving"]["batch_size"] = float(drawn["serving.batch_size"][k])
        data_k["serving"]["roofline"]["bandwidth_efficiency"] = float(
            drawn["serving.roofline.bandwidth_efficiency"][k])
        single = tco.optimize(scenario_from_dict(data_k))
        assert result.draws["optimal_params"][k] == pytest.approx(single.optimal.params, rel=1e-9)
        assert result.draws["optimal_total_cost_usd"][k] == pytest.approx(single.optimal.total_cost_usd, rel=1e-9)


def test_attention_flops_need_the_query_heads_of_a_fixed_architecture():
    from tco import ScenarioError

    roof = {"architecture": {"layers": 80, "kv_heads": 8, "head_dim": 128}}
    with pytest.raises(ScenarioError, match=r"serving\.roofline\.architecture\.heads: attention FLOPs need the "
                       r"query heads"):
        scenario(roof)
    data = yaml.safe_load(BASE)
    data["serving"]["roofline"], data["attention_flops"] = roof, False
    assert scenario_from_dict(data).attention_flops is False
