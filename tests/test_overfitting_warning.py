"""Kaplan et al. 2020's overfitting guideline D >= 5e3 N^0.74 (eq. 4.4) is checked for the Chinchilla baseline as
well as the optimum, by one function (`tco.assemble.overfitting_note`)."""

import pytest

import tco

#: Besiroglu et al.'s refit puts the compute-optimal point near 20 tokens per parameter, while the guideline asks
#: for 5e3 N^-0.26 = 22.9 tokens per parameter at N = 1e9: the 1B-Chinchilla baseline breaks it.
SCENARIO = dict(name="small-baseline", law="besiroglu2024", objective="usd", target={"chinchilla_optimal_params": "1B"},
                training={"hardware": "H100 SXM", "mfu": 0.4, "price_usd_per_hour": 2.5},
                serving={"hardware": "H100 SXM", "prefill_mfu": 0.5, "decode_mfu": 0.03, "price_usd_per_hour": 2.5},
                demand={"requests": "300M"})


def _guideline(params: float) -> float:
    return 5e3 * params**0.74


def test_baseline_below_guideline_is_warned_even_when_the_optimum_is_not():
    result = tco.optimize(tco.scenario_from_dict(SCENARIO))
    chin, opt = result.chinchilla, result.optimal
    assert chin.params == pytest.approx(1e9, rel=1e-9)
    assert chin.tokens < _guideline(chin.params)   # 22.70B < 22.91B: the baseline overfits by the guideline
    assert opt.tokens > _guideline(opt.params)     # the over-trained optimum does not
    notes = [w for w in result.warnings if "overfitting guideline" in w]
    assert len(notes) == 1 and notes[0].startswith("the compute-optimal baseline's D = 22.7B tokens (N = 1.00B)")
    assert "22.9B" in notes[0]


def test_optimum_and_baseline_are_warned_separately():
    # with (almost) no inference the optimum sits next to the baseline and breaks the guideline too
    data = dict(SCENARIO, demand={"requests": 1})
    result = tco.optimize(tco.scenario_from_dict(data))
    notes = [w for w in result.warnings if "overfitting guideline" in w]
    assert [n.split("'s D")[0] for n in notes] == ["the optimum", "the compute-optimal baseline"]
    assert result.optimal.tokens < _guideline(result.optimal.params)


def test_no_warning_for_a_large_baseline():
    result = tco.optimize(tco.load_scenario("scenarios/chat-assistant-70b-quality.yaml"))
    assert result.chinchilla.tokens > _guideline(result.chinchilla.params)
    assert not [w for w in result.warnings if "overfitting guideline" in w]
