"""Break-even demand of scenarios and the implied inference demand of published recipes."""

import functools
import json
from pathlib import Path

import numpy as np
import pytest

import tco
from tco.studies.breakeven import RECIPES, SHIFT_TOLERANCE, breakeven, implied_demand
from tco.laws import get_law
from tco.model.build import build_model
from tco.studies.sweep import demand_sweep

ROOT = Path(__file__).resolve().parents[1]
# scenarios with repeated data are refused by this command for now (tests/test_data_limits.py checks that)
# Break-even studies one architecture without a quantization penalty: a scenario choosing among expert counts,
# or one with serving.quantization, is refused (tests/test_moe.py, tests/test_quantization.py).
SCENARIOS = [p for p in sorted((ROOT / "scenarios").glob("*.yaml"))
             if not tco.load_scenario(p).data.repeats and not tco.load_scenario(p).model.is_choice
             and tco.load_scenario(p).serving.quantization is None]
CAPPED = ROOT / "scenarios" / "capped-deadline-and-data.yaml"
RECIPE = {r.name: r for r in RECIPES}


# --- implied demand --------------------------------------------------------------------------------------
@pytest.mark.parametrize("law_name", ["hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023"])
def test_implied_demand_matches_the_primer_closed_form(law_name):
    law = get_law(law_name)
    n = np.array([r.params for r in RECIPES])
    d = np.array([r.tokens for r in RECIPES])
    got = implied_demand(law, n, d)
    closed = law.alpha * law.A * d ** (law.beta + 1) / (law.beta * law.B * n**law.alpha) - d  # k_i / k_t
    assert got.inference_to_training == pytest.approx(closed, rel=1e-10)
    assert got.inference_tokens == pytest.approx(3 * closed, rel=1e-10)
    assert got.loss == pytest.approx(law.loss(n, d), rel=1e-12)
    assert got.tokens_per_param == pytest.approx(d / n)
    assert got.verdict.shape == (len(RECIPES),)
    # the Chinchilla point reported is the compute-optimal design at the recipe's own loss
    for i in range(len(RECIPES)):
        chin = law.chinchilla_point(float(got.loss[i]))
        assert (got.chinchilla_params[i], got.chinchilla_tokens[i]) == pytest.approx(chin, rel=1e-10)
    # cheaper inference FLOPs make more inference necessary to justify the same design
    assert implied_demand(law, 8e9, 15e12, cost_ratio=0.5).inference_tokens == pytest.approx(
        2 * float(got.inference_tokens[4]), rel=1e-12)


def test_the_chinchilla_point_implies_no_inference():
    law = get_law("sardana2024")
    n, d = law.chinchilla_point(1.947)
    got = implied_demand(law, n, d)
    assert abs(got.inference_tokens) < 1e-9 * d
    assert got.verdict.startswith("about compute-optimal")


def test_catalog_signs_under_sardana2024():
    # Sardana's law puts compute-optimality at ~50 tokens/param: 1.7 (GPT-3), 20 (Chinchilla) and 28.6
    # (Llama 2 70B) are under-trained; 286 (Llama 2 7B), 1,875 (Llama 3 8B) and 214 (Llama 3 70B) over-trained.
    got = implied_demand(get_law("sardana2024"), [r.params for r in RECIPES], [r.tokens for r in RECIPES])
    t = dict(zip(RECIPE, got.inference_tokens))
    assert t["GPT-3 175B"] < 0 and t["Chinchilla 70B"] < 0 and t["Llama 2 70B"] < 0
    assert t["Llama 2 7B"] > 0 and t["Llama 3 8B"] > 0 and t["Llama 3 70B"] > 0
    assert t["GPT-3 175B"] == pytest.approx(-5.88e11, rel=1e-2)
    assert t["Llama 3 8B"] == pytest.approx(8.82e13, rel=1e-2)
    assert t["Llama 3 70B"] == pytest.approx(1.93e13, rel=1e-2)
    assert t["Llama 3 8B"] > t["Llama 3 70B"] > t["Llama 2 7B"]
    verdicts = dict(zip(RECIPE, got.verdict))
    assert verdicts["GPT-3 175B"].startswith("under-trained")
    assert verdicts["Llama 3 8B"].startswith("over-trained")


def test_catalog_signs_under_besiroglu2024():
    # Besiroglu's refit puts compute-optimality at ~20 tokens/param: Chinchilla 70B is about compute-optimal
    # (small positive T), Llama 2 70B at 28.6 is mildly over-trained, GPT-3 at 1.7 stays under-trained.
    got = implied_demand(get_law("besiroglu2024"), [r.params for r in RECIPES], [r.tokens for r in RECIPES])
    t = dict(zip(RECIPE, got.inference_tokens))
    assert t["GPT-3 175B"] < 0
    assert all(t[name] > 0 for name in RECIPE if name != "GPT-3 175B")
    assert t["Chinchilla 70B"] == pytest.approx(1.28e11, rel=1e-2)
    assert t["Llama 3 8B"] == pytest.approx(1.90e14, rel=1e-2)
    assert t["Chinchilla 70B"] < 1e-3 * t["Llama 3 8B"]
    assert dict(zip(RECIPE, got.verdict))["Chinchilla 70B"].startswith("about compute-optimal")


def test_chinchilla_under_hoffmann2022_is_small_next_to_llama3():
    # Hoffmann's rounded constants put compute-optimality near 90 tokens/param at this loss, so Chinchilla's own
    # 20 tokens/param comes out under-trained (negative), but small in magnitude next to Llama 3 8B.
    law = get_law("hoffmann2022")
    chin = implied_demand(law, 70e9, 1.4e12).inference_tokens
    llama = implied_demand(law, 8e9, 15e12).inference_tokens
    assert chin < 0 < llama and abs(chin) < 0.05 * llama


def _flops_scenario(law_name, loss, inference_tokens):
    return tco.scenario_from_dict({
        "name": "round-trip", "law": law_name, "objective": "flops", "target": {"loss": loss},
        "attention_flops": False,  # implied_demand is the law's closed form in the 6 N D / 2 N convention
        "training": {"hardware": "H100 SXM"}, "serving": {"hardware": "H100 SXM"},
        "demand": {"generated_tokens": inference_tokens},
    })


@pytest.mark.parametrize("law_name, recipe", [
    ("sardana2024", "Llama 3 8B"), ("sardana2024", "Llama 3 70B"), ("sardana2024", "Llama 2 7B"),
    ("besiroglu2024", "Chinchilla 70B"), ("besiroglu2024", "Llama 2 70B"),
    ("kaplan2020", "Llama 3 70B"), ("kaplan2020", "Chinchilla 70B"),
])
def test_round_trip_the_implied_demand_makes_the_recipe_optimal(law_name, recipe):
    r = RECIPE[recipe]
    got = implied_demand(get_law(law_name), r.params, r.tokens)
    assert got.inference_tokens > 0
    result = tco.optimize(_flops_scenario(law_name, got.loss, got.inference_tokens))
    assert result.optimal.params == pytest.approx(r.params, rel=1e-6)
    assert result.optimal.tokens == pytest.approx(r.tokens, rel=1e-6)


def test_implied_demand_rejects_bad_input():
    law = get_law("sardana2024")
    with pytest.raises(ValueError):
        implied_demand(law, -1.0, 1e12)
    with pytest.raises(ValueError):
        implied_demand(law, 7e9, 1e12, cost_ratio=0.0)


# --- break-even demand of scenarios ----------------------------------------------------------------------
def _at_demand(scenario, inference_tokens):
    """The scenario re-stated at another lifetime demand, in its own form (requests or token totals), with the
    peak request rate in proportion (demand sweeps keep the traffic's peak-to-average ratio)."""
    d = scenario.demand
    scale = inference_tokens / (d.lifetime_prompt_tokens + d.lifetime_generated_tokens)
    data = scenario.model_dump()
    peak = ("peak_requests_per_second",) if scale > 0 else ()  # a peak is positive (and idle at zero demand)
    if scale == 0 and data["serving"]["pricing"] == "provisioned":  # no demand, no fleet: $0 under any pricing
        data["serving"]["pricing"] = "busy"
    for key in ("requests", "prompt_tokens", "generated_tokens", "requests_per_year", *peak):  # PV is linear
        if data["demand"][key] is not None:
            data["demand"][key] *= scale
    return tco.scenario_from_dict(data, base_dir=ROOT / "scenarios")


@functools.lru_cache(maxsize=None)
def _case(path):
    scenario = tco.load_scenario(path)
    return scenario, breakeven(scenario)


@pytest.fixture(params=SCENARIOS, ids=lambda p: p.stem)
def case(request):
    return _case(request.param)


def test_threshold_is_zero_without_data_cost_or_caps(case):
    scenario, result = case
    if result.note.startswith("threshold 0: the constraints already force"):  # a size cap below the Chinchilla N
        assert any(c.chinchilla_violates for c in tco.optimize(scenario).constraints)
        assert result.threshold_tokens == 0.0
        return
    # any cap (a stated constraint, or the memory fit a roofline batch implies by default) or a data cost
    if scenario.data.cost_usd_per_token > 0 or build_model(scenario).caps:
        assert result.threshold_tokens > 0 and result.note.startswith("training beyond the compute-optimal point")
        return
    if scenario.attention_flops:
        # attention FLOPs make the cheapest run with no inference a larger model on fewer tokens than the 6 N D
        # (Chinchilla) point, so some demand is needed before D passes the Chinchilla D
        assert result.threshold_tokens > 0 and "attention FLOPs" in result.note
        at = demand_sweep(scenario, [0.5 * result.threshold_tokens, 2 * result.threshold_tokens])["tokens"]
        assert at[0] < result.chinchilla_tokens < at[1]
        data = scenario.model_dump()
        data["attention_flops"] = False
        scenario = tco.scenario_from_dict(data, base_dir=ROOT / "scenarios")
        result = breakeven(scenario)  # in the 6 N D / 2 N convention the threshold is 0, as follows
    assert result.threshold_tokens == 0.0
    assert result.note.startswith("threshold 0")
    assert result.threshold_requests == (0.0 if scenario.demand.requests is not None else None)
    # the shift is proportional to demand from zero: half the demand gives half the 1e-6 shift
    shift = result.shift.inference_tokens
    half = demand_sweep(scenario, [shift / 2])
    assert half["tokens"][0] / result.chinchilla_tokens - 1 == pytest.approx(SHIFT_TOLERANCE / 2, rel=1e-3)


def test_every_reported_demand_meets_its_target_when_re_solved(case):
    scenario, result = case
    objective = scenario.objective
    for m in result.savings:
        if m.inference_tokens is None:
            continue
        solved = tco.optimize(_at_demand(scenario, m.inference_tokens))
        fraction = solved.savings.fraction if objective == "usd" else solved.savings.flops_fraction
        assert fraction == pytest.approx(m.target, rel=1e-6)
        assert m.savings_fraction == pytest.approx(m.target, rel=1e-6)
    for m in result.tokens_per_param:
        if m.inference_tokens is None:
            continue
        solved = tco.optimize(_at_demand(scenario, m.inference_tokens))
        if m.inference_tokens == 0.0:  # a cap already forces the optimum past the target with no demand
            assert solved.optimal.tokens_per_param >= m.target * (1 - 1e-9)
            continue
        assert solved.optimal.tokens_per_param == pytest.approx(m.target, rel=1e-6)
        assert m.tokens_per_param == pytest.approx(m.target, rel=1e-6)
    if result.shift.inference_tokens == 0.0:  # forced beyond the Chinchilla point with no demand at all
        assert result.shift.tokens_factor > 1 + SHIFT_TOLERANCE
    else:  # the optimal D passes the Chinchilla D by exactly the tolerance at the reported shift
        assert result.shift.tokens_factor - 1 == pytest.approx(SHIFT_TOLERANCE, rel=1e-4)
    if result.uses_requests:  # every reported demand also in requests (present-value ones with a horizon)
        per_request = scenario.demand.prompt_tokens_per_request + scenario.demand.generated_tokens_per_request
        for m in (result.shift, *result.savings, *result.tokens_per_param):
            if m.inference_tokens is not None:
                assert m.requests == pytest.approx(m.inference_tokens / per_request)


def test_milestones_are_ordered_by_demand(case):
    _, result = case
    savings = [m.inference_tokens for m in result.savings if m.inference_tokens is not None]
    tpp = [m.inference_tokens for m in result.tokens_per_param if m.inference_tokens is not None]
    assert savings == sorted(savings) and tpp == sorted(tpp)
    assert all(x > (result.threshold_tokens or 0.0) for x in savings)


def test_data_cost_makes_the_threshold_positive_and_caps_stop_the_milestones():
    assert _case(CAPPED)[1].threshold_tokens > 0
    # the closed form below is the 6 N D / 2 N convention's (attention FLOPs move the onset: 6.07e11, not 5.76e11)
    data = tco.load_scenario(CAPPED).model_dump()
    data["attention_flops"] = False
    scenario = tco.scenario_from_dict(data, base_dir=ROOT / "scenarios")
    result = breakeven(scenario)
    assert _case(CAPPED)[1].threshold_tokens / result.threshold_tokens == pytest.approx(1.0526, abs=1e-3)
    assert result.threshold_tokens > 0
    assert result.threshold_requests == pytest.approx(result.threshold_tokens / 285)
    # Closed form: at the Chinchilla point the stationarity condition reads k_i = k_d D_chin / N_chin, so with
    # a data cost over-training starts once inference costs k_d D_chin / N_chin per parameter.
    model = build_model(scenario)
    demand = scenario.demand.lifetime_prompt_tokens + scenario.demand.lifetime_generated_tokens
    k_i_per_token = (model.term("prefill").usd_coef + model.term("decode").usd_coef) / demand
    onset = model.term("data").usd_coef * result.chinchilla_tokens / result.chinchilla_params / k_i_per_token
    assert result.threshold_tokens == pytest.approx(onset, rel=1e-4)
    # below the threshold the optimum stays at the Chinchilla D; above it, it trains longer
    below = tco.optimize(_at_demand(scenario, 0.5 * result.threshold_tokens))
    assert below.optimal.tokens == pytest.approx(result.chinchilla_tokens, rel=1e-6)
    above = tco.optimize(_at_demand(scenario, 2 * result.threshold_tokens))
    assert above.optimal.tokens > result.chinchilla_tokens * (1 + 1e-3)
    # the 3T-token cap bounds D/N below 200: those targets are never reached
    assert [m.inference_tokens is None for m in result.tokens_per_param] == [False, True, True, True]


# --- command line ----------------------------------------------------------------------------------------
def test_cli_implied_demand_json(tco_run):
    code, out, err = tco_run("implied-demand", "--law", "sardana2024", "--params", "70B",
                         "--tokens", "15T", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    expected = implied_demand(get_law("sardana2024"), 70e9, 15e12)
    assert {"law", "params", "tokens", "tokens_per_param", "loss", "chinchilla_params", "chinchilla_tokens",
            "inference_tokens", "verdict", "cost_ratio"} <= set(data)
    assert data["inference_tokens"] == pytest.approx(expected.inference_tokens, rel=1e-12)
    assert data["params"] == 70e9 and data["tokens"] == 15e12 and data["law"] == "sardana2024"
    code, out, _ = tco_run("implied-demand", "--law", "sardana2024", "--params", "70B",
                       "--tokens", "15T", "--cost-ratio", "2", "--json")
    assert json.loads(out)["inference_tokens"] == pytest.approx(expected.inference_tokens / 2, rel=1e-12)


def test_cli_implied_demand_catalog(tco_run):
    code, out, _ = tco_run("implied-demand", "--law", "besiroglu2024", "--catalog", "--json")
    assert code == 0
    recipes = json.loads(out)["recipes"]
    assert [r["name"] for r in recipes] == list(RECIPE)
    assert all(r["source"] for r in recipes)
    assert recipes[0]["inference_tokens"] < 0 < recipes[4]["inference_tokens"]
    code, out, _ = tco_run("implied-demand", "--law", "besiroglu2024", "--catalog")
    assert code == 0 and "Llama 3 8B" in out and "Brown et al. 2020" in out


def test_cli_breakeven_json(tco_run):
    code, out, _ = tco_run("breakeven", CAPPED, "--json", "--tokens-per-param", "100,200")
    assert code == 0
    data = json.loads(out)
    _, expected = _case(CAPPED)
    assert data["threshold_tokens"] == pytest.approx(expected.threshold_tokens, rel=1e-12)
    assert [m["target"] for m in data["tokens_per_param"]] == [100, 200]
    assert data["tokens_per_param"][1]["inference_tokens"] is None
    assert [m["target"] for m in data["savings"]] == [0.01, 0.05, 0.10]
    assert {"scenario", "objective", "law", "target_loss", "note", "shift"} <= set(data)
    code, out, _ = tco_run("breakeven", CAPPED)
    assert code == 0 and "over-training starts to pay" in out and "never" in out


@pytest.mark.parametrize("args", [
    ("implied-demand", "--params", "7Q", "--tokens", "1T"),
    ("implied-demand", "--params", "7B"),
    ("implied-demand", "--catalog", "--params", "7B"),
    ("breakeven", CAPPED, "--tokens-per-param", "100,-5"),
])
def test_cli_user_errors_are_one_line(tco_run, args):
    code, out, err = tco_run(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    if "7Q" in args:
        assert "7Q" in err


def test_savings_against_an_infeasible_baseline_read_not_reported_not_never(tco_run):
    """provisioned-fleet-chat's Chinchilla baseline breaks serving.memory_fit: its savings milestones are not
    reported (status and 'n/a'), not 'never' next to rows that save 23-38%, and the threshold row shows the optimum
    the caps force at zero demand, not the infeasible Chinchilla point."""
    path = ROOT / "scenarios" / "provisioned-fleet-chat.yaml"
    result = breakeven(tco.load_scenario(path))
    assert [m.status for m in result.savings] == ["not reported"] * 3
    assert all(m.inference_tokens is None for m in result.savings)
    assert result.shift.status == "reached" and result.shift.inference_tokens == 0.0
    assert result.shift.params < result.chinchilla_params  # memory fit caps N below the Chinchilla point
    assert max(m.savings_fraction for m in result.tokens_per_param) > 0.3  # over-training does save money
    code, out, _ = tco_run("breakeven", path)
    assert code == 0
    saves = [line for line in out.splitlines() if "saves 1%" in line]
    assert saves and "n/a" in saves[0] and "never" not in saves[0]
    first = next(line for line in out.splitlines() if "over-training" in line)
    from tco.units import format_count
    assert format_count(result.shift.params) in first and format_count(result.chinchilla_params) not in first
