"""Reasoning-length demand (`tco.scenario.reasoning`): k samples per request over one shared, once-prefilled
prompt, and hidden reasoning tokens that each sample decodes before its answer. Every check here is an
independent restatement of the same physics in the fields tco had before (lifetime token totals, an explicit
roofline context, a longer plain answer), solved separately."""

import copy
from pathlib import Path

import pytest
from rich.console import Console

import tco
from tco.errors import TcoError
from tco.model.serving import decode_context_tokens, sequence_tokens
from tco.report.terminal import print_result

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REL = 1e-9


def _data(name: str) -> dict:
    data = tco.load_scenario(SCENARIOS / f"{name}.yaml").model_dump()
    data["name"] = f"{name}-copy"
    return data


def _solve(data: dict):
    return tco.optimize(tco.scenario_from_dict(data, base_dir=SCENARIOS))


def _reasoning(data: dict, samples: float, reasoning: float) -> dict:
    data = copy.deepcopy(data)
    data["demand"].update(samples_per_request=samples, reasoning_tokens_per_request=reasoning)
    return data


def _assert_same_design(a, b, rel=REL):
    assert a.optimal.params == pytest.approx(b.optimal.params, rel=rel)
    assert a.optimal.tokens == pytest.approx(b.optimal.tokens, rel=rel)
    assert a.optimal.total_cost_usd == pytest.approx(b.optimal.total_cost_usd, rel=rel)


def test_per_request_figures():
    d = tco.scenario_from_dict(_reasoning(_data("chat-assistant-70b-quality"), 4, 2000), base_dir=SCENARIOS)
    demand = d.demand
    assert demand.lifetime_prompt_tokens == 10e9 * 70               # the prompt is prefilled once per request
    assert demand.lifetime_generated_tokens == 10e9 * 4 * (2000 + 215)
    assert decode_context_tokens(d) == 70 + (2000 + 215) / 2         # a sample attends to its own tokens only
    assert sequence_tokens(demand) == 70 / 4 + 2000 + 215            # its share of the shared prompt's KV


def test_reasoning_tokens_cost_exactly_what_generated_tokens_cost():
    # k = 1: R hidden tokens before a G-token answer are, to every cost, cap and check, a (G + R)-token answer
    base = _data("roofline-long-context-assistant")      # roofline decode, memory fit, attention FLOPs all on
    hidden = _solve(_reasoning(base, 1, 700))
    plain = copy.deepcopy(base)
    plain["demand"]["generated_tokens_per_request"] += 700
    _assert_same_design(hidden, _solve(plain), rel=1e-12)


def test_samples_equal_lifetime_totals_at_the_stated_context():
    # k = 4 samples of 500 reasoning + 300 answer tokens, restated as lifetime token totals with the roofline's
    # context_tokens set to prompt + 800 / 2 (resident KV, which only memory fit reads, is pinned above)
    base = _data("roofline-long-context-assistant")
    base["serving"]["memory_fit"] = False
    sampled = _solve(_reasoning(base, 4, 500))
    twin = copy.deepcopy(base)
    requests = twin["demand"].pop("requests")
    for key in ("generated_tokens_per_request", "peak_requests_per_second"):  # the prompt length stays: prefill
        twin["demand"].pop(key)                                                # attention reads it
    twin["demand"].update(prompt_tokens=requests * 2000, generated_tokens=requests * 4 * 800)
    twin["serving"]["roofline"]["context_tokens"] = 2000 + 800 / 2
    _assert_same_design(sampled, _solve(twin))


def test_how_reasoning_moves_n_and_d_on_the_chat_scenario():
    """The README's example: 4 samples of 2,000 reasoning tokens per request on the 70B-quality chat scenario
    multiply lifetime generated tokens by 41 (2.15T to 88.6T): the optimum shrinks from 17.7B to 7.07B parameters
    and trains on 38.3T instead of 5.15T tokens. Checked against the same demand stated as lifetime totals (with
    attention FLOPs off, the context is the only other thing reasoning moves)."""
    base = _data("chat-assistant-70b-quality")
    plain, reasoning = _solve(base), _solve(_reasoning(base, 4, 2000))
    assert plain.optimal.params == pytest.approx(17.668e9, rel=1e-4)
    assert plain.optimal.tokens == pytest.approx(5.1462e12, rel=1e-4)
    assert reasoning.optimal.params == pytest.approx(7.0701e9, rel=1e-4)
    assert reasoning.optimal.tokens == pytest.approx(38.272e12, rel=1e-4)
    assert reasoning.savings.fraction == pytest.approx(0.6733, abs=1e-4)
    assert reasoning.chinchilla.params == pytest.approx(plain.chinchilla.params, rel=1e-12)  # same quality
    assert reasoning.inputs.demand.samples_per_request == 4
    assert reasoning.inputs.demand.reasoning_tokens_per_request == 2000
    console = Console(record=True, width=300)
    print_result(reasoning, console)
    assert ("Reasoning demand: 4 samples x (2,000 reasoning + 215 answer tokens) per request over one 70-token "
            "prompt prefilled once: 88.6T generated tokens priced") in console.export_text()

    no_attention = _reasoning(base, 4, 2000)
    no_attention["attention_flops"] = False
    twin = copy.deepcopy(no_attention)
    twin["demand"] = {"prompt_tokens": 10e9 * 70, "generated_tokens": 10e9 * 4 * 2215}
    _assert_same_design(_solve(no_attention), _solve(twin))


@pytest.mark.parametrize("field, value", [("samples_per_request", 4), ("reasoning_tokens_per_request", 100)])
def test_refused_with_lifetime_token_totals(field, value):
    data = _data("chat-assistant-70b-quality")
    data["demand"] = {"prompt_tokens": 1e12, "generated_tokens": 1e12, field: value}
    with pytest.raises(TcoError, match=f"demand.{field}: {field} is per request"):
        tco.scenario_from_dict(data, base_dir=SCENARIOS)


def test_samples_below_one_are_refused():
    data = _reasoning(_data("chat-assistant-70b-quality"), 0.5, 0)
    with pytest.raises(TcoError, match=r"samples_per_request.*must be in \[1, 1e6\] samples"):
        tco.scenario_from_dict(data, base_dir=SCENARIOS)
