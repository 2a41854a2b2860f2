"""Issue 7, capability 7: deployment sizing. Serving replicas and GPUs for a peak request rate, latency and
throughput per replica, $ per 1M generated tokens, for the optimal and the Chinchilla design; numbers derived by
hand in the comments (formulas: tco/results/deployment.py and tco/model/replica.py)."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
import yaml

import tco
from tco.results.deployment import DEFAULT_REQUEST_NOTE, replica_capacity
from tco.report.excel import write_report
from tco.studies import prepare
from tco.scenario.load import scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "scenarios" / "owned-cluster-latency-bound.yaml"
BASE = """
name: sizing
law: sardana2024
target: {chinchilla_optimal_params: 10B}
training: {hardware: H100 SXM, mfu: 0.4}
serving: {hardware: H100 SXM, dtype: bf16, prefill_mfu: 0.5, price_usd_per_hour: 2.0}
demand: {requests: 1B, peak_requests_per_second: 100}
"""
# H100 SXM: 3,350 GB/s, BF16 dense 989.4 TFLOP/s. A 10B model in BF16: 20 GB of weights.
#   memory time per step, no KV: 20e9 / 3.35e12 = 5.9701 ms (any batch);
#   attention FLOPs per token attended, default shape rule: 4 x layers x d_model = 4 x 128 x (N / (12 x 128^2))^(2/3)
#   = 702,861;
#   compute time per sequence: (2 x 10e9 + 702,600 x 177.5 tokens of context) / (989.4e12 x 0.5) = 4.0681e-5 s;
#   prefill per prompt token: 2N + attention at 70 / 2 = 35 tokens attended: 2.0025e10 FLOPs, 4.0478e-5 s.
T_MEM = 20e9 / 3.35e12
ATTENDED = 4 * 128 * (10e9 / (12 * 128**2)) ** (2 / 3)
T_SEQ = (2 * 10e9 + ATTENDED * 177.5) / (989.4e12 * 0.5)
T_PROMPT = (2 * 10e9 + ATTENDED * 35) / (989.4e12 * 0.5)


def scenario(**sections):
    data = yaml.safe_load(BASE)
    for key, value in sections.items():
        data[key] = {**data[key], **value}
    return scenario_from_dict(data)


def size(s, params=10e9, inference_cost_usd=1.0):
    return replica_capacity(s, SimpleNamespace(params=params, inference_cost_usd=inference_cost_usd))


def test_memory_bound_decode_at_batch_one_is_weights_over_bandwidth():
    d = size(scenario(serving={"batch_size": 1}))
    assert T_MEM == pytest.approx(5.9701e-3, rel=1e-4)
    assert d.time_per_output_token_ms == pytest.approx(5.9701, rel=1e-4)
    assert d.tokens_per_second_per_replica == pytest.approx(167.5, rel=1e-12)  # 3.35e12 / 20e9
    assert d.bound == "memory" and d.batch_size == 1 and d.fits_one_replica is True


def test_peak_to_replicas_and_dollars_per_million_tokens():
    d = size(scenario())
    # batch 32 (default), no KV: one step still reads 20 GB (5.97 ms > 32 x 0.0407 ms compute): 32 x 167.5 = 5,360 t/s
    assert d.batch_size == 32 and d.batch_limited_by == "batch_size" and d.bound == "memory"
    assert d.tokens_per_second_per_replica == pytest.approx(5360.0, rel=1e-12)
    # prefill of 70 prompt tokens: 70 x 4.0478e-5 = 2.833 ms
    assert d.prefill_seconds_per_request == pytest.approx(70 * T_PROMPT, rel=1e-12)
    assert d.prefill_seconds_per_request == pytest.approx(2.833e-3, rel=1e-3)
    # 100 req/s x (215 / 5360 + 0.002833) = 4.294 busy replicas; x 1.3 headroom = 5.583 -> 6 replicas, 6 GPUs
    assert d.busy_replicas_at_peak == pytest.approx(100 * (215 / 5360 + 70 * T_PROMPT), rel=1e-12)
    assert d.busy_replicas_at_peak == pytest.approx(4.2942, rel=1e-4)
    assert d.replicas == 6 and d.gpus == 6
    # $2/h / 3600 / 5,360 t/s x 1e6 = $0.10365 per 1M at full load; fleet: 6 x $2/h / 3600 / 21,500 t/s x 1e6 = $0.15504
    assert d.usd_per_million_generated_tokens == pytest.approx(2 / 3600 / 5360 * 1e6, rel=1e-12)
    assert d.usd_per_million_generated_tokens == pytest.approx(0.10365, rel=1e-4)
    assert d.usd_per_million_generated_tokens_at_peak == pytest.approx(6 * 2 / 3600 / 21500 * 1e6, rel=1e-12)
    # lifetime average: inference cost / lifetime generated tokens (1B x 215) x 1e6
    assert d.lifetime_usd_per_million_generated_tokens == pytest.approx(1.0 / 215e9 * 1e6, rel=1e-12)


def test_headroom_and_devices_per_replica():
    # no headroom: ceil(4.294) = 5 replicas; 2 devices per replica: twice the bandwidth and FLOPs per replica,
    # 10,720 t/s, prefill 1.415 ms: 100 x (215/10720 + 0.001415) = 2.147 -> 3 replicas = 6 GPUs
    assert size(scenario(serving={"headroom": 0})).replicas == 5
    d = size(scenario(serving={"headroom": 0, "devices_per_replica": 2}))
    assert d.tokens_per_second_per_replica == pytest.approx(10720.0, rel=1e-12)
    assert d.replicas == 3 and d.gpus == 6
    assert d.usd_per_million_generated_tokens == pytest.approx(2 * 2 / 3600 / 10720 * 1e6, rel=1e-12)


def test_latency_target_limits_the_batch():
    # kv_cache_gb 16 for the full batch of 32: 0.5 GB per sequence. 10 ms reads 33.5 GB: (33.5 - 20) / 0.5 = 27
    d = size(scenario(serving={"kv_cache_gb": 16, "max_time_per_output_token_ms": 10}))
    assert d.batch_size == 27 and d.batch_limited_by == "latency" and d.meets_latency is True
    assert d.time_per_output_token_ms == pytest.approx(10.0, rel=1e-12)  # (20 + 13.5) GB / 3.35 TB/s
    assert d.tokens_per_second_per_replica == pytest.approx(2700.0, rel=1e-12)


def test_memory_limits_the_batch_and_compute_bound_decode():
    # kv_cache_gb 80 for 32 sequences = 2.5 GB each; 80 GB - 20 GB weights holds 24 sequences
    d = size(scenario(serving={"kv_cache_gb": 80, "memory_fit": False}))  # the batch limit, not the N cap
    assert d.batch_size == 24 and d.batch_limited_by == "memory"
    # batch up to 256, no KV, 8 ms target: the compute roof 8e-3 / 4.0681e-5 = 196.7 -> 196 sequences (197 with
    # 2N alone), compute-bound
    d = size(scenario(serving={"batch_size": 256, "max_time_per_output_token_ms": 8}))
    assert d.batch_size == 196 and d.bound == "compute" and d.batch_limited_by == "latency"
    assert d.time_per_output_token_ms == pytest.approx(196 * T_SEQ * 1000, rel=1e-12)
    assert d.tokens_per_second_per_replica == pytest.approx(1 / T_SEQ, rel=1e-12)


def test_a_model_that_fits_no_replica_is_reported_not_a_crash():
    # 70B in BF16 = 140 GB > 80 GB of one H100
    d = size(scenario(), params=70e9)
    assert d.fits_one_replica is False and d.replicas is None and d.gpus is None
    assert "does not fit one replica" in d.warnings[0] and "140.0 GB" in d.warnings[0]
    r = tco.optimize(scenario(target={"chinchilla_optimal_params": 70e9}, demand={"requests": 1e3}))
    serving = r.to_dict()["sizing"]["serving"]
    assert serving["optimal"]["fits_one_replica"] is False and serving["optimal"]["replicas"] is None
    assert serving["chinchilla"]["fits_one_replica"] is False


def test_latency_target_missed_even_at_batch_one():
    # 6 ms reads 20.1 GB: the weights fit the budget but not 20 GB + one 0.5 GB sequence -> batch 1, flagged
    d = size(scenario(serving={"kv_cache_gb": 16, "max_time_per_output_token_ms": 6}))
    assert d.batch_size == 1 and d.meets_latency is False and "batch 1" in d.warnings[0]


def test_no_peak_no_serving_sizing_and_lifetime_tokens_use_default_request_sizes():
    data = yaml.safe_load(BASE)
    del data["demand"]["peak_requests_per_second"]
    assert tco.optimize(scenario_from_dict(data)).sizing is None  # no deadline either: no sizing at all
    r = tco.optimize(scenario(demand={"requests": None, "prompt_tokens": 7e10, "generated_tokens": 2.15e11}))
    serving = r.sizing.serving
    assert serving.notes == (DEFAULT_REQUEST_NOTE,)
    assert (serving.prompt_tokens_per_request, serving.generated_tokens_per_request) == (70, 215)
    assert tco.optimize(scenario()).sizing.serving.notes == ()


def test_both_designs_sized_and_json_keys_via_cli(tco_run):
    code, out, _ = tco_run("optimize", BUNDLED, "--json", "--no-report")
    assert code == 0
    data = json.loads(out)
    serving = data["sizing"]["serving"]
    assert serving["peak_requests_per_second"] == 200
    keys = {"peak_requests_per_second", "batch_size", "time_per_output_token_ms", "tokens_per_second_per_replica",
            "replicas", "gpus", "usd_per_million_generated_tokens", "fits_one_replica"}
    for design in ("optimal", "chinchilla"):
        assert keys <= set(serving[design]), design
        assert serving[design]["params"] == pytest.approx(data[design]["params"], rel=1e-12)
    # optimal 13.5B FP8 at the 10 ms cap: (13.5 + 20) GB / 3.35 TB/s = 10 ms at the full batch of 32
    opt, chin = serving["optimal"], serving["chinchilla"]
    assert opt["batch_size"] == 32 and opt["time_per_output_token_ms"] == pytest.approx(10.0, rel=1e-6)
    assert opt["tokens_per_second_per_replica"] == pytest.approx(3200.0, rel=1e-6)
    # 30B Chinchilla: 10 ms reads 33.5 GB, (33.5 - 30) / 0.625 GB per sequence = 5.6 -> batch 5
    assert chin["batch_size"] == 5 and chin["batch_limited_by"] == "latency"
    assert opt["gpus"] < chin["gpus"]
    assert data["sizing"]["training"]["chinchilla_days_needed"] < data["sizing"]["training"]["days_needed"]
    code, out, _ = tco_run("optimize", BUNDLED, "--no-report")
    assert "Serving fleet at peak" in out and f"{opt['replicas']:,} replicas" in out


def test_sizing_sheet(tmp_path):
    wb = openpyxl.load_workbook(write_report(prepare(tco.load_scenario(BUNDLED), sweep_points=5),
                                             tmp_path / "s.xlsx"))
    assert wb.sheetnames.index("Sizing") == wb.sheetnames.index("Costs") + 1
    ws = wb["Sizing"]
    rows = {r[0].value: [c.value for c in r[1:]] for r in ws.iter_rows() if r[0].value}
    result = tco.optimize(tco.load_scenario(BUNDLED))
    serving, training = result.sizing.serving, result.sizing.training
    assert rows["Serving GPUs"][:2] == [serving.optimal.gpus, serving.chinchilla.gpus]
    assert rows["Replicas to serve the peak"][0] == serving.optimal.replicas
    # whole devices (168.885 GPUs need 169), the exact division kept on its own, labelled row
    assert rows["Training GPUs to finish by the deadline"][:2] == [
        math.ceil(training.gpus_needed), math.ceil(training.chinchilla_gpus_needed)]
    assert rows["  fractional GPUs (exact division, before rounding up)"][:2] == pytest.approx(
        [training.gpus_needed, training.chinchilla_gpus_needed])
    assert rows["$ per 1M generated tokens, full load (decode)"][1] == pytest.approx(
        serving.chinchilla.usd_per_million_generated_tokens)
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for r in ws.iter_rows() for c in r)
