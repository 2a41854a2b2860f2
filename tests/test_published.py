"""Published results (tests/data/published_cases.json) reproduced through the public API only.

Every case in the JSON becomes one test, by its id. An unknown `kind`, input key or `expect` key fails the
test: a new case must come with code here that checks it, never pass silently.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tco

CASES_PATH = Path(__file__).resolve().parent / "data" / "published_cases.json"
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
CROSS_CHECK_TOLERANCE = 1e-6


def _load_cases() -> dict:
    # The file is part of the repository: a missing or unreadable copy is an error, never a skip.
    with CASES_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


DATA = _load_cases()
CASES = DATA["cases"]


def _case_params():
    return [pytest.param(case, id=case["id"]) for case in CASES]


@pytest.fixture
def published():
    return DATA


def _case_by_id(case_id: str) -> dict:
    matches = [c for c in CASES if c["id"] == case_id]
    assert len(matches) == 1, f"expected exactly one published case with id {case_id!r}, found {len(matches)}"
    return matches[0]


# --- scenario dicts for each kind ---------------------------------------------------------------------------
def _flops_scenario(law: str, target: dict, inference_tokens: float) -> dict:
    # Hardware and prices do not enter a FLOPs objective; any catalog device with a default price will do.
    return {
        "name": "published-flops",
        "law": law,
        "attention_flops": False,  # the published cases count 6 N D and 2 N per token
        "objective": "flops",
        "target": target,
        "training": {"hardware": "H100 SXM", "mfu": 0.5, "goodput": 1.0},  # Sardana et al.'s MFU, no goodput
        "serving": {"hardware": "H100 SXM"},
        "demand": {"generated_tokens": inference_tokens},
    }


def _cost_scenario(law: str, inputs: dict) -> dict:
    train, serve = inputs["train"], inputs["serve"]
    _require_keys(train, {"device", "dtype", "peak_flops", "price_usd_per_hour", "mfu"}, "inputs.train")
    _require_keys(serve, {"device", "dtype", "peak_flops", "price_usd_per_hour", "prefill_mfu", "decode_mfu"},
                  "inputs.serve")
    return {
        "name": "published-cost",
        "law": law,
        "attention_flops": False,  # the published cases count 6 N D and 2 N per token
        "objective": "usd",
        "target": {"loss": inputs["loss"]},
        "training": {
            # The case states the dense peak it assumes: pass it explicitly, so the catalog cannot drift.
            "hardware": {"name": train["device"], "peak_flops": {train["dtype"]: train["peak_flops"]}},
            "dtype": train["dtype"],
            "price_usd_per_hour": train["price_usd_per_hour"],
            "mfu": train["mfu"],
            "goodput": 1.0,  # the published cases price every billed hour as useful
        },
        "serving": {
            "hardware": {"name": serve["device"], "peak_flops": {serve["dtype"]: serve["peak_flops"]}},
            "dtype": serve["dtype"],
            "price_usd_per_hour": serve["price_usd_per_hour"],
            "prefill_mfu": serve["prefill_mfu"],
            "decode_mfu": serve["decode_mfu"],
        },
        "demand": {
            "requests": inputs["requests"],
            "prompt_tokens_per_request": inputs["prompt_tokens_per_request"],
            "generated_tokens_per_request": inputs["generated_tokens_per_request"],
        },
    }


def _require_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = set(mapping) - allowed
    missing = allowed - set(mapping)
    if unknown or missing:
        pytest.fail(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; "
                    "update tests/test_published.py to handle them")


# --- what each expect key means, per kind --------------------------------------------------------------------
def _design_metrics(result: tco.Result, cost_measure: str) -> dict:
    opt, chin = result.optimal, result.chinchilla
    ratio = (opt.total_flops / chin.total_flops) if cost_measure == "flops" else (
        opt.total_cost_usd / chin.total_cost_usd)
    return {
        "params": opt.params,
        "tokens": opt.tokens,
        "params_vs_chinchilla": result.params_factor,
        "tokens_vs_chinchilla": result.tokens_factor,
        "cost_vs_chinchilla": ratio,
        "chinchilla_params": chin.params,
        "chinchilla_tokens": chin.tokens,
        "flops_saved": result.savings.total_flops,
        "flops_saved_fraction": result.savings.flops_fraction,
    }


#: kind -> (input keys, expect keys it may assert)
KINDS: dict[str, tuple[set[str], set[str]]] = {
    "loss": ({"params", "tokens"}, {"loss"}),
    "compute_optimal": ({"flops"}, {"params", "tokens", "loss"}),
    "flops_optimal": (
        {"loss", "inference_tokens"},
        {"params", "tokens", "params_vs_chinchilla", "tokens_vs_chinchilla", "cost_vs_chinchilla",
         "chinchilla_params", "chinchilla_tokens"},
    ),
    "cost_optimal": (
        {"loss", "requests", "prompt_tokens_per_request", "generated_tokens_per_request", "train", "serve"},
        {"params", "tokens", "params_vs_chinchilla", "tokens_vs_chinchilla", "cost_vs_chinchilla",
         "chinchilla_params", "chinchilla_tokens"},
    ),
    "flops_optimal_at_quality": (
        {"quality_of_chinchilla_params", "inference_tokens"},
        {"params", "tokens", "tokens_vs_chinchilla", "params_vs_chinchilla", "flops_saved",
         "flops_saved_fraction"},
    ),
}


def _validate_case(case: dict) -> None:
    for key in ("id", "law", "kind", "inputs", "expect", "rel"):
        if key not in case:
            pytest.fail(f"published case {case.get('id')!r} has no {key!r}")
    kind = case["kind"]
    if kind not in KINDS:
        pytest.fail(f"case {case['id']!r}: unknown kind {kind!r}; known kinds: {sorted(KINDS)}. "
                    "Teach tests/test_published.py how to check it.")
    input_keys, expect_keys = KINDS[kind]
    if set(case["inputs"]) != input_keys:
        pytest.fail(f"case {case['id']!r} ({kind}): inputs {sorted(case['inputs'])}, expected exactly "
                    f"{sorted(input_keys)}")
    unknown = set(case["expect"]) - expect_keys
    if unknown:
        pytest.fail(f"case {case['id']!r} ({kind}): unknown expect keys {sorted(unknown)}; "
                    f"known: {sorted(expect_keys)}")
    if not case["expect"]:
        pytest.fail(f"case {case['id']!r} expects nothing")
    if not (isinstance(case["rel"], (int, float)) and 0 < case["rel"] < 0.1):
        pytest.fail(f"case {case['id']!r}: implausible tolerance rel={case['rel']!r}")


def _assert_expected(case: dict, actual: dict) -> None:
    failures = []
    for key, expected in case["expect"].items():
        if key not in actual:  # guarded by _validate_case; keep the failure loud anyway
            pytest.fail(f"case {case['id']!r}: no way to compute expect key {key!r}")
        if actual[key] != pytest.approx(expected, rel=case["rel"]):
            failures.append(f"{key}: expected {expected!r} (rel {case['rel']}), got {actual[key]!r} "
                            f"(rel diff {actual[key] / expected - 1:+.3g})")
    assert not failures, f"case {case['id']!r}:\n  " + "\n  ".join(failures)


def _assert_cross_check(result: tco.Result, label: str) -> None:
    cc = result.cross_check
    assert math.isfinite(cc.max_rel_diff), f"{label}: cross-check is not finite: {cc}"
    assert cc.max_rel_diff <= CROSS_CHECK_TOLERANCE, f"{label}: GP and exact solve differ: {cc}"
    assert cc.agrees, f"{label}: {cc}"
    # The reported optimum is the exact solve to within the tolerance, too.
    assert result.optimal.params == pytest.approx(cc.exact_params, rel=CROSS_CHECK_TOLERANCE)
    assert result.optimal.tokens == pytest.approx(cc.exact_tokens, rel=CROSS_CHECK_TOLERANCE)


def _run_case(case: dict) -> tuple[dict, tco.Result | None]:
    law = tco.get_law(case["law"])
    inputs, kind = case["inputs"], case["kind"]
    if kind == "loss":
        return {"loss": law.loss(inputs["params"], inputs["tokens"])}, None
    if kind == "compute_optimal":
        params, tokens = law.allocate(inputs["flops"])
        assert 6 * params * tokens == pytest.approx(inputs["flops"], rel=1e-12)
        loss = law.loss(params, tokens)
        # Duality: minimizing training FLOPs at the loss the allocation reaches, with no inference, must give
        # back the allocation itself.
        scenario = tco.scenario_from_dict(
            _flops_scenario(case["law"], {"quality_of": {"params": params, "tokens": tokens}}, 0.0))
        result = tco.optimize(scenario)
        assert result.optimal.params == pytest.approx(params, rel=1e-6)
        assert result.optimal.tokens == pytest.approx(tokens, rel=1e-6)
        assert result.optimal.loss == pytest.approx(loss, rel=1e-9)
        return {"params": params, "tokens": tokens, "loss": loss}, result
    if kind == "flops_optimal":
        scenario = tco.scenario_from_dict(
            _flops_scenario(case["law"], {"loss": inputs["loss"]}, inputs["inference_tokens"]))
        result = tco.optimize(scenario)
        return _design_metrics(result, "flops"), result
    if kind == "cost_optimal":
        result = tco.optimize(tco.scenario_from_dict(_cost_scenario(case["law"], inputs)))
        return _design_metrics(result, "usd"), result
    if kind == "flops_optimal_at_quality":
        scenario = tco.scenario_from_dict(_flops_scenario(
            case["law"], {"chinchilla_optimal_params": inputs["quality_of_chinchilla_params"]},
            inputs["inference_tokens"]))
        result = tco.optimize(scenario)
        return _design_metrics(result, "flops"), result
    pytest.fail(f"unknown kind {kind!r}")  # unreachable after _validate_case


# --- the cases ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", _case_params())
def test_published_case(case):
    _validate_case(case)
    actual, result = _run_case(case)
    _assert_expected(case, actual)
    if result is not None:
        _assert_cross_check(result, case["id"])
        # The loss target binds at the optimum and the Chinchilla baseline sits on the same iso-loss curve.
        assert result.optimal.loss == pytest.approx(result.target_loss, rel=1e-7)
        assert result.chinchilla.loss == pytest.approx(result.target_loss, rel=1e-9)
        assert result.params_factor == pytest.approx(result.optimal.params / result.chinchilla.params, rel=1e-12)
        assert result.tokens_factor == pytest.approx(result.optimal.tokens / result.chinchilla.tokens, rel=1e-12)


def test_published_cases_are_all_understood(published):
    """Every case has a known kind and keys, and ids are unique (a bad new case fails here too)."""
    ids = [c.get("id") for c in published["cases"]]
    assert len(ids) == len(set(ids)), f"duplicate case ids: {ids}"
    assert published["cases"], "no published cases"
    for case in published["cases"]:
        _validate_case(case)
        tco.get_law(case["law"])  # every case names a preset law


def test_published_law_constants_match_presets(published):
    for name, constants in published["laws"].items():
        law = tco.get_law(name)
        got = law.constants()
        for key, value in constants.items():
            if key == "source":
                continue
            assert key in got, f"{name}: preset lacks constant {key!r}"
            assert got[key] == pytest.approx(value, rel=1e-12), f"{name}.{key}: {got[key]} != {value}"


# --- the bundled scenario files -----------------------------------------------------------------------------
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.yaml")) + sorted(SCENARIO_DIR.glob("*.yml"))


def test_there_are_bundled_scenarios():
    assert len(SCENARIO_FILES) >= 2, f"no scenario files found in {SCENARIO_DIR}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_bundled_scenario_optimizes_and_cross_checks(path):
    scenario = tco.load_scenario(path)
    result = tco.optimize(scenario)
    _assert_cross_check(result, path.name)
    opt = result.optimal
    assert np.isfinite([opt.params, opt.tokens, opt.total_cost_usd, opt.total_flops]).all()
    assert opt.params > 0 and opt.tokens > 0
    assert opt.loss <= result.target_loss * (1 + 1e-9)
    assert opt.loss >= result.target_loss * (1 - 1e-7)
    for report in result.constraints:
        assert report.value <= report.limit * (1 + 1e-9), f"{path.name}: {report}"
    # Never worse than the Chinchilla baseline when that baseline is itself allowed.
    if not any(r.chinchilla_violates for r in result.constraints):
        measure = "total_flops" if result.objective == "flops" else "total_cost_usd"
        assert getattr(opt, measure) <= getattr(result.chinchilla, measure) * (1 + 1e-9)


@pytest.mark.parametrize(
    "filename, case_id, cost_measure",
    [
        ("sardana-flops-objective.yaml", "sardana-flops-1.947-2e12", "flops"),
        ("sardana-cost-objective.yaml", "sardana-cost-1.947-1e10req", "usd"),
    ],
)
def test_sardana_scenario_files_reproduce_published(published, filename, case_id, cost_measure):
    case = _case_by_id(case_id)
    result = tco.optimize(tco.load_scenario(SCENARIO_DIR / filename))
    assert result.objective == cost_measure
    assert result.target_loss == pytest.approx(case["inputs"]["loss"], rel=1e-12)
    _assert_expected({**case, "rel": 5e-4}, _design_metrics(result, cost_measure))
    _assert_cross_check(result, filename)


# --- primer section 6: tokens per parameter at compute-optimality --------------------------------------------
@pytest.mark.parametrize("flops", np.logspace(21, 26, 11).tolist(), ids=lambda c: f"C={c:.2g}")
def test_besiroglu_tokens_per_param_in_published_band(flops):
    params, tokens = tco.get_law("besiroglu2024").allocate(flops)
    assert 6 * params * tokens == pytest.approx(flops, rel=1e-12)
    assert 16.0 <= tokens / params <= 22.0, f"C = {flops:.3g}: {tokens / params:.3f} tokens/param"


def test_besiroglu_is_about_twenty_tokens_per_param_and_falls_with_compute():
    law = tco.get_law("besiroglu2024")
    ratios = [t / n for n, t in (law.allocate(c) for c in np.logspace(21, 26, 11))]
    assert all(a > b for a, b in zip(ratios, ratios[1:])), ratios  # N grows faster than D (alpha < beta)
    assert 18.0 <= float(np.exp(np.mean(np.log(ratios)))) <= 21.0, ratios


def test_hoffmann_overtrains_relative_to_besiroglu_at_1e24():
    hn, hd = tco.get_law("hoffmann2022").allocate(1e24)
    bn, bd = tco.get_law("besiroglu2024").allocate(1e24)
    assert hd / hn > 50.0, hd / hn
    assert hd / hn > 3.0 * (bd / bn), (hd / hn, bd / bn)


def test_allocation_matches_primer_closed_form():
    """N = G (C/6)^(beta/(alpha+beta)), D = (C/6)^(alpha/(alpha+beta)) / G, G = (alpha A/(beta B))^(1/(alpha+beta))."""
    for name in ("hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023"):
        law = tco.get_law(name)
        k = law.constants()
        a, b = k["alpha"], k["beta"]
        g = (a * k["A"] / (b * k["B"])) ** (1 / (a + b))
        for c in (1e20, 1e23, 1e26):
            params, tokens = law.allocate(c)
            assert params == pytest.approx(g * (c / 6) ** (b / (a + b)), rel=1e-12)
            assert tokens == pytest.approx((c / 6) ** (a / (a + b)) / g, rel=1e-12)
