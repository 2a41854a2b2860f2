"""Demand sweeps: the vectorized exact solver against full optimize() runs, point by point."""

from pathlib import Path

import numpy as np
import pytest

import tco
from tco.studies.sweep import demand_sweep

ROOT = Path(__file__).resolve().parents[1]


def _at_demand(scenario, total_tokens):
    """The same scenario with its lifetime demand scaled to `total_tokens`, keeping the prompt:generated mix."""
    d = scenario.demand
    share = d.lifetime_prompt_tokens / (d.lifetime_prompt_tokens + d.lifetime_generated_tokens)
    data = scenario.model_dump()
    data["demand"] = {"prompt_tokens": total_tokens * share, "generated_tokens": total_tokens * (1 - share)}
    return tco.scenario_from_dict(data)


@pytest.mark.parametrize("name", ["sardana-cost-objective", "capped-deadline-and-data", "sardana-flops-objective"])
def test_sweep_points_equal_full_optimizations(name):
    scenario = tco.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    frame = demand_sweep(scenario, points=41)
    assert list(frame["inference_tokens"]) == pytest.approx(np.logspace(9, 16, 41))
    for i in (0, 13, 27, 40):
        result = tco.optimize(_at_demand(scenario, frame["inference_tokens"][i]))
        row = frame.iloc[i]
        assert row["params"] == pytest.approx(result.optimal.params, rel=1e-6)
        assert row["tokens"] == pytest.approx(result.optimal.tokens, rel=1e-6)
        assert row["total_cost_usd"] == pytest.approx(result.optimal.total_cost_usd, rel=1e-6)
        assert row["chinchilla_total_cost_usd"] == pytest.approx(result.chinchilla.total_cost_usd, rel=1e-9)
        assert row["savings_fraction"] == pytest.approx(result.savings.fraction, rel=1e-5, abs=1e-9)
        for cap in result.constraints:
            assert bool(row[f"binds:{cap.name}"]) == cap.binding


def test_sweep_shape_and_monotonicity():
    scenario = tco.load_scenario(ROOT / "scenarios" / "chat-assistant-70b-quality.yaml")
    frame = demand_sweep(scenario, [1e10, 1e12, 1e14, 1e16])
    assert np.all(np.diff(frame["params"]) < 0) and np.all(np.diff(frame["tokens"]) > 0)
    assert np.all(np.diff(frame["savings_fraction"]) > 0)
    assert frame.attrs["scenario"] == "chat-assistant-70b-quality"
    # At negligible demand the optimum is the cheapest training run: the Chinchilla point (minimum of 6 N D) when
    # training FLOPs are 6 N D ...
    data = scenario.model_dump()
    data["attention_flops"] = False
    plain = tco.scenario_from_dict(data)
    tiny = demand_sweep(plain, [1.0])
    assert tiny["params"][0] == pytest.approx(demand_sweep(plain, [1e10]).attrs["chinchilla_params"], rel=1e-6)
    # ... and with attention FLOPs (6 N D + c N^(2/3) D, c = 3 x 4 r (12 r^2)^(-2/3) x 8192 / 2 under the default
    # shape rule r = 128) the minimum of those along the iso-loss curve: larger, as attention grows slower than N
    tiny = demand_sweep(scenario, [1.0])
    loss = tco.model.build_model(scenario).loss
    c = 3 * 4 * 128 * (12 * 128**2) ** (-2 / 3) * 4096
    zeta = np.linspace(-3, 3, 600_001)
    n = np.exp((np.log(loss.a) + np.logaddexp(0, zeta)) / loss.p)
    d = np.exp((np.log(loss.b) + np.logaddexp(0, -zeta)) / loss.q)
    best = n[np.argmin(6 * n * d + c * n ** (2 / 3) * d)]
    assert tiny["params"][0] == pytest.approx(best, rel=1e-4)
    assert tiny["params"][0] / frame.attrs["chinchilla_params"] == pytest.approx(1.050, abs=0.001)


def test_sweep_of_a_scenario_without_demand_uses_the_default_mix():
    data = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml").model_dump()
    data["demand"] = {"requests": 0}
    frame = demand_sweep(tco.scenario_from_dict(data), [0.0, 1e13])
    assert frame["savings_usd"][0] == pytest.approx(0.0, abs=1e-6)
    assert frame["inference_cost_usd"][1] > 0


def test_sweep_rejects_bad_demand():
    scenario = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    with pytest.raises(ValueError, match="non-negative"):
        demand_sweep(scenario, [-1.0])


def test_sweep_reports_infeasible_caps():
    data = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml").model_dump()
    data["constraints"] = {"max_params": 1e9}
    with pytest.raises(tco.InfeasibleError) as info:
        demand_sweep(tco.scenario_from_dict(data), points=5)
    assert info.value.constraints == ("constraints.max_params",)
