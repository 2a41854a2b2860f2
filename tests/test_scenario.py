"""Scenario loading: every documented shape loads, defaults resolve with their sources, overrides win."""

from pathlib import Path

import pytest
import yaml

import tco
from tco import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
ISSUE_EXAMPLE = """
name: chat-assistant
law: sardana2024
objective: usd
target:
  loss: 1.947
training:
  hardware: H100 SXM
  dtype: bf16
  mfu: 0.45
  price_usd_per_hour: 2.0
serving:
  hardware: A100 40GB
  dtype: int8
  prefill_mfu: 0.5
  decode_mfu: 0.01
  price_usd_per_hour: 1.10
demand:
  requests: 10B
  prompt_tokens_per_request: 70
  generated_tokens_per_request: 215
constraints:
  max_params: 100B
  max_tokens: 20T
  training_deadline: {gpus: 4096, days: 90}
data:
  cost_usd_per_token: 0
"""


def base(**changes):
    data = yaml.safe_load(ISSUE_EXAMPLE)
    data.update(changes)
    return data


def test_the_issue_example_loads_with_human_numbers(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(ISSUE_EXAMPLE)
    s = tco.load_scenario(path)
    assert s.name == "chat-assistant"
    assert s.demand.requests == 10e9
    assert s.constraints.max_params == 100e9
    assert s.constraints.max_tokens == 20e12
    assert s.training.peak_flops == 989.4e12
    assert s.serving.peak_flops == 624e12
    assert s.deadline_flops == pytest.approx(4096 * 989.4e12 * 0.45 * 0.90 * 90 * 86400)  # mfu x default goodput
    assert s.demand.lifetime_prompt_tokens == 700e9
    assert s.demand.lifetime_generated_tokens == 2150e9


def test_name_defaults_to_the_file_stem(tmp_path):
    data = base()
    del data["name"]
    path = tmp_path / "my-plan.yaml"
    path.write_text(yaml.safe_dump(data))
    assert tco.load_scenario(path).name == "my-plan"


def test_target_forms():
    law = tco.get_law("sardana2024")
    s = tco.scenario_from_dict(base(target={"quality_of": {"params": "70B", "tokens": "1T"}}))
    assert s.target_loss == pytest.approx(law.loss(70e9, 1e12), rel=1e-14)
    s = tco.scenario_from_dict(base(target={"chinchilla_optimal_params": "70B"}))
    assert s.target_loss == pytest.approx(law.loss(70e9, law.compute_optimal_tokens(70e9)), rel=1e-14)
    with pytest.raises(ScenarioError, match="exactly one"):
        tco.scenario_from_dict(base(target={"loss": 1.9, "chinchilla_optimal_params": "70B"}))
    with pytest.raises(ScenarioError, match="exactly one"):
        tco.scenario_from_dict(base(target={}))


def test_inline_law_constants_both_forms():
    s = tco.scenario_from_dict(base(law={"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3,
                                          "name": "ours", "source": "our runs"}))
    assert s.resolved_law.name == "ours" and s.resolved_law.alpha == 0.3
    s = tco.scenario_from_dict(base(law={"form": "kaplan", "alpha_n": 0.076, "alpha_d": 0.103,
                                          "n_c": "64T", "d_c": "18T"}, target={"loss": 2.0}))
    assert s.resolved_law.n_c == 64e12
    with pytest.raises(ScenarioError, match=r"law\.alpha"):
        tco.scenario_from_dict(base(law={"E": 1.7, "A": 400, "B": 400, "alpha": -0.3, "beta": 0.3}))


def test_catalog_defaults_and_overrides():
    data = base()
    del data["training"]["price_usd_per_hour"]
    s = tco.scenario_from_dict(data)
    assert s.training.usd_per_hour == 2.00 and "Sardana" in s.training.price_source
    assert s.serving.usd_per_hour == 1.10 and s.serving.price_source == "scenario"

    data["training"]["hardware"] = {"name": "H100 SXM", "peak_flops": {"bf16": "900e12"}, "memory_gb": 94}
    s = tco.scenario_from_dict(data)
    assert s.training.peak_flops == 900e12
    assert s.training.device.memory_gb == 94
    assert s.training.device.peak_flops["fp8"] == 1978.9e12  # untouched fields keep catalog values
    assert "overridden" in s.training.device.source


def test_inline_device():
    data = base()
    data["serving"] = {"hardware": {"name": "Our ASIC", "peak_flops": {"INT8": "400T"}, "memory_gb": 64},
                       "dtype": "int8", "price_usd_per_hour": 0.5}
    s = tco.scenario_from_dict(data)
    assert s.serving.peak_flops == 400e12
    data["serving"]["hardware"] = {"name": "Our ASIC", "memory_gb": 64}
    with pytest.raises(ScenarioError, match=r"serving\.hardware\.peak_flops"):
        tco.scenario_from_dict(data)


def test_missing_price_without_catalog_default():
    data = base()
    data["training"] = {"hardware": "H200 SXM"}
    with pytest.raises(ScenarioError, match=r"training\.price_usd_per_hour: .*no default price for H200 SXM"):
        tco.scenario_from_dict(data)


def test_demand_forms():
    s = tco.scenario_from_dict(base(demand={"prompt_tokens": "1T", "generated_tokens": "2T"}))
    assert (s.demand.lifetime_prompt_tokens, s.demand.lifetime_generated_tokens) == (1e12, 2e12)
    s = tco.scenario_from_dict(base(demand={"requests": "1B"}))  # per-request defaults: LMSYS-Chat averages
    assert (s.demand.lifetime_prompt_tokens, s.demand.lifetime_generated_tokens) == (70e9, 215e9)
    with pytest.raises(ScenarioError, match="not both"):
        tco.scenario_from_dict(base(demand={"requests": "1B", "generated_tokens": "2T"}))


def test_defaults_follow_sardana_except_training_over_billed_hours():
    data = base()
    data["training"] = {"hardware": "H100 SXM"}
    data["serving"] = {"hardware": "H100 SXM"}
    s = tco.scenario_from_dict(data)
    # training: Llama 3 405B's 38-43% MFU and >90% goodput (Dubey et al. 2024), not Sardana et al.'s 0.5 and 1
    assert (s.training.mfu, s.training.goodput, s.training.dtype) == (0.40, 0.90, "bf16")
    assert s.training.sequence_length == 8192 and s.attention_flops is True
    assert (s.serving.prefill_mfu, s.serving.decode_mfu) == (0.5, 0.01)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_load(path):
    assert tco.load_scenario(path).name == path.stem


def test_law_file_relative_to_the_scenario(tmp_path):
    (tmp_path / "laws").mkdir()
    (tmp_path / "laws" / "ours.yaml").write_text(
        "law: {name: ours, E: 1.8, A: 480, B: 2000, alpha: 0.35, beta: 0.36, source: our runs}\n"
        "fit: {method: approach3}\n")
    data = base(law="laws/ours.yaml")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    s = tco.load_scenario(tmp_path / "s.yaml")
    assert s.resolved_law.name == "ours" and s.resolved_law.B == 2000
    assert tco.optimize(s).law == "ours"


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("law: {name: x, E: -1, A: 1, B: 1, alpha: 0.3, beta: 0.3}\n", "law.E: must be zero or positive"),
    ("fit: {}\n", "needs a top-level `law:` mapping"),
])
def test_bad_law_files_are_named(tmp_path, content, message):
    if content is not None:
        (tmp_path / "law.yaml").write_text(content)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(base(law="law.yaml")))
    with pytest.raises(ScenarioError) as info:
        tco.load_scenario(tmp_path / "s.yaml")
    text = str(info.value)
    assert text.startswith(f"{tmp_path / 's.yaml'}: law: law file ") and message in text
