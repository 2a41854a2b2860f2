"""The parameter half of the data-constrained law (Muennighoff et al. 2023, eq. 6): parameters beyond N_opt(U),
the compute-optimal size for the unique tokens, count as N' = U_N + U_N R*_N (1 - exp(-(N/U_N - 1)/R*_N)).
On by default with repeated epochs; `data.excess_parameters: none` keeps the data half alone. Every check here
re-derives the law by hand and solves in its own coordinate (a grid over the real N)."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

import tco
from tco.model.build import build_model
from tco.scenario.load import scenario_from_dict
from tco.studies.arrays import solve_frame
from tco.studies.sweep import demand_sweep

DOMAIN = Path(__file__).resolve().parents[1] / "scenarios" / "data-limited-domain-model.yaml"
R_N_STAR, R_D_STAR = 5.309743, 15.387756  # Muennighoff et al. 2023, appendix A


def _map(x, base, r):
    """Eqs. 5 and 6 written out: X' = X up to the base, then the exponential decay of the excess."""
    x = np.asarray(x, dtype=float)
    return np.where(x <= base, x, base + base * r * (1 - np.exp(-(x / base - 1) / r)))


def _data(unique=100e9, **changes):
    data = tco.load_scenario(DOMAIN).model_dump()
    data["data"]["max_unique_tokens"] = unique
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return data


def _n_opt(law, tokens):
    """N whose compute-optimal data is `tokens`, by root-finding on the law's own allocation (not the closed form)."""
    return brentq(lambda n: math.log(law.compute_optimal_tokens(n) / tokens), 1e6, 1e15, xtol=1e-12, rtol=1e-15)


def _brute_force(scenario, points=200_001):
    """Cheapest point on a grid of the real log N (the exact kernel walks zeta, its cross-check log D'): at each N
    the loss target fixes D' through the law at N', then D through the inverse data map found by bisection."""
    model = build_model(scenario)
    law, target, unique = scenario.resolved_law, scenario.target_loss, scenario.data.max_unique_tokens
    c = law.constants()
    base = _n_opt(law, unique)
    # the smallest N: where even saturated data is just enough; then e^8 (3,000x) beyond it
    n_lo = brentq(lambda n: c["E"] + c["A"] / _map(n, base, R_N_STAR) ** c["alpha"]
                  + c["B"] / (unique * (1 + R_D_STAR)) ** c["beta"] - target, 1e6, 1e16, rtol=1e-15)
    grid = np.linspace(math.log(n_lo), math.log(n_lo) + 8.0, points)[1:]
    for _ in range(3):
        n = np.exp(grid)
        n_eff = _map(n, base, R_N_STAR)
        room = target - c["E"] - c["A"] / n_eff ** c["alpha"]
        d_eff = (c["B"] / np.where(room > 0, room, np.nan)) ** (1 / c["beta"])
        ok = d_eff < unique * (1 + R_D_STAR)
        d_eff = np.where(ok, d_eff, np.nan)
        lo, hi = np.full_like(n, unique * 0.5), np.full_like(n, unique * 1e4)  # bisect D'(D) = d_eff in log D
        for _ in range(200):
            mid = np.sqrt(lo * hi)
            above = _map(mid, unique, R_D_STAR) > d_eff
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        d = np.where(ok, np.sqrt(lo * hi), np.nan)
        cost = np.asarray(model.objective_value(n, d), dtype=float)
        for cap in model.caps:
            cost = np.where(cap.value(n, d) <= cap.limit, cost, np.inf)
        cost = np.where(np.isfinite(cost), cost, np.inf)
        k = int(np.argmin(cost))
        best = (float(cost[k]), float(n[k]), float(d[k]))
        grid = np.linspace(grid[max(k - 2, 0)], grid[min(k + 2, len(grid) - 1)], 20_001)
    return best


def test_base_size_is_the_compute_optimal_size_for_the_unique_tokens():
    scenario = scenario_from_dict(_data())
    model = build_model(scenario)
    assert model.base_params == pytest.approx(_n_opt(scenario.resolved_law, 100e9), rel=1e-10)
    assert model.base_params == pytest.approx(5.1154e9, rel=1e-4)  # muennighoff2023: N_opt(D) = G^2 D, G^2 ~ 0.0512


def test_the_loss_is_the_papers_eq_17():
    """L = E + A / N'^alpha + B / D'^beta with both effective maps (appendix A, eq. 17) at a design beyond U_N."""
    scenario = scenario_from_dict(_data())
    model = build_model(scenario)
    c, base = scenario.resolved_law.constants(), _n_opt(scenario.resolved_law, 100e9)
    n, d = 3 * base, 8 * 100e9
    by_hand = c["E"] + c["A"] / float(_map(n, base, R_N_STAR)) ** c["alpha"] + c["B"] / float(
        _map(d, 100e9, R_D_STAR)) ** c["beta"]
    assert model.loss_of(n, d) == pytest.approx(by_hand, rel=1e-14)
    below = scenario.resolved_law.loss(0.5 * base, _map(d, 100e9, R_D_STAR))  # below U_N, N' = N
    assert model.loss_of(0.5 * base, d) == pytest.approx(below, rel=1e-14)
    assert float(_map(1e30, base, R_N_STAR)) == pytest.approx(base * (1 + R_N_STAR), rel=1e-12)


def test_the_issue_figure_33_against_41_percent():
    """Issue 14 part 3: 100B unique tokens at 13B-Chinchilla quality, 33% savings with the full law against 41%
    with the data half alone. The scenario: scenarios/data-limited-domain-model.yaml (muennighoff2023 law, 3B
    requests of 70 + 215 tokens, H100 prices) at max_unique_tokens 100B, under the 6 N D / 2 N convention the
    figure was written in (attention_flops: false, training.goodput: 1)."""
    plain = _data(**{"attention_flops": False, "training.goodput": 1.0})
    full = tco.optimize(scenario_from_dict(plain))
    half = tco.optimize(scenario_from_dict(_data(**{"attention_flops": False, "training.goodput": 1.0,
                                                    "data.excess_parameters": "none"})))
    assert half.savings.fraction == pytest.approx(0.409, abs=5e-4)
    assert full.savings.fraction == pytest.approx(0.334, abs=5e-4)
    # why: the 14B data-half baseline is far beyond U_N = 5.1B and worth only 11B effective parameters, so the
    # full law's baseline is a smaller model on more epochs, and the optimum gains less against it
    assert half.chinchilla.params > 2.5 * full.data_limits.base_params
    assert full.chinchilla.params < half.chinchilla.params and full.chinchilla.tokens > half.chinchilla.tokens
    for result in (full, half):
        assert result.optimal.loss == pytest.approx(result.target_loss, rel=1e-10)
        assert result.chinchilla.loss == pytest.approx(result.target_loss, rel=1e-10)
    assert half.data_limits.base_params is None and full.data_limits.excess_parameters == "muennighoff2023"


@pytest.mark.parametrize("changes", [
    {},                                          # the optimum above U_N, the baseline far above
    {"data.max_unique_tokens": 30e9},            # the parameter half dominates: 15B on 36 epochs
    {"constraints.max_params": 5e9},             # a size cap below U_N binds
    {"constraints.max_tokens": 600e9},           # a cap on the real D binds
    {"demand.requests": 30e9},                   # heavy demand: small model, many epochs
])
def test_brute_force_agrees(changes):
    data = _data(**{k: v for k, v in changes.items() if k != "data.max_unique_tokens"})
    if "data.max_unique_tokens" in changes:
        data["data"]["max_unique_tokens"] = changes["data.max_unique_tokens"]
    scenario = scenario_from_dict(data)
    result = tco.optimize(scenario)
    cost, n, d = _brute_force(scenario)
    assert result.optimal.total_cost_usd <= cost * (1 + 1e-9)
    assert result.optimal.total_cost_usd == pytest.approx(cost, rel=1e-6)
    assert result.optimal.params == pytest.approx(n, rel=1e-3)
    assert result.cross_check.agrees and "not a GP" in result.cross_check.gp_status


def test_off_switch_gives_the_data_half():
    full = tco.optimize(scenario_from_dict(_data()))
    half = tco.optimize(scenario_from_dict(_data(**{"data.excess_parameters": "none"})))
    assert half.optimal.total_cost_usd < full.optimal.total_cost_usd  # the data half overstates what N buys
    # at 300B unique tokens N_opt(U) = 15.3B: neither design exceeds it, so the parameter half changes nothing
    at300 = [tco.optimize(scenario_from_dict(_data(300e9, **{"data.excess_parameters": v})))
             for v in ("muennighoff2023", "none")]
    assert at300[0].optimal.params == pytest.approx(at300[1].optimal.params, rel=1e-9)
    assert at300[0].data_limits.base_params > at300[0].chinchilla.params


def test_studies_solve_the_parameter_half_in_bulk():
    """The vectorized kernel sees U_N per element (it follows the unique tokens and the law): a sweep over the
    unique tokens, the demand sweep and break-even's re-solves equal scalar optimizations."""
    base = _data()
    scenario = scenario_from_dict(base)
    uniques = np.array([30e9, 100e9, 300e9])
    frame = solve_frame(scenario, {"data.max_unique_tokens": uniques})
    for k, u in enumerate(uniques):
        one = tco.optimize(scenario_from_dict(_data(u)))
        assert frame["optimal_params"].iloc[k] == pytest.approx(one.optimal.params, rel=1e-9)
        assert frame["optimal_total_cost_usd"].iloc[k] == pytest.approx(one.optimal.total_cost_usd, rel=1e-9)
        assert frame["chinchilla_params"].iloc[k] == pytest.approx(one.chinchilla.params, rel=1e-9)
    own = scenario.demand.lifetime_prompt_tokens + scenario.demand.lifetime_generated_tokens
    sweep = demand_sweep(scenario, np.array([own / 10, own]))
    result = tco.optimize(scenario)
    assert sweep["params"].iloc[1] == pytest.approx(result.optimal.params, rel=1e-9)
    assert sweep["chinchilla_params"].iloc[1] == pytest.approx(result.chinchilla.params, rel=1e-9)
    heavier = copy.deepcopy(base)
    heavier["demand"]["requests"] /= 10
    assert sweep["params"].iloc[0] == pytest.approx(tco.optimize(scenario_from_dict(heavier)).optimal.params,
                                                    rel=1e-9)


def test_the_bundled_large_baseline_scenario():
    """scenarios/data-limited-large-baseline.yaml's comments and the README quote these figures."""
    path = DOMAIN.parent / "data-limited-large-baseline.yaml"
    result = tco.optimize(tco.load_scenario(path))
    dl = result.data_limits
    assert (result.optimal.params, result.optimal.tokens) == (pytest.approx(6.297e9, rel=1e-3),
                                                              pytest.approx(827.6e9, rel=1e-3))
    assert (result.chinchilla.params, result.chinchilla.tokens) == (pytest.approx(12.19e9, rel=1e-3),
                                                                    pytest.approx(306.5e9, rel=1e-3))
    assert result.savings.fraction == pytest.approx(0.2915, abs=1e-4)
    assert dl.base_params == pytest.approx(5.115e9, rel=1e-3)
    assert dl.chinchilla_effective_params == pytest.approx(11.34e9, rel=1e-3)
    assert dl.epochs == pytest.approx(8.28, abs=0.01) and dl.chinchilla_epochs == pytest.approx(3.06, abs=0.01)
    data = tco.load_scenario(path).model_dump()
    data["data"]["excess_parameters"] = "none"
    half = tco.optimize(scenario_from_dict(data))
    assert half.savings.fraction == pytest.approx(0.3668, abs=1e-4)
    assert half.chinchilla.params == pytest.approx(14.26e9, rel=1e-3)


def test_a_balanced_roofline_optimum_under_the_full_law():
    """The roofline scenario of tests/test_roofline.py at 2T unique tokens: under the full law the optimum sits on
    the kink between the compute- and memory-bound decode regimes (27.0B > U_N = 23.2B); both solves find it and
    a brute-force grid over D' (N from N' through the inverse parameter map) agrees."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_roofline import scenario as roofline_scenario

    from tco.model.repetition import R_N, SATURATION, real_tokens

    s = roofline_scenario(serving={"batch_size": 231.4}, data={"max_unique_tokens": "2T"})
    result, model = tco.optimize(s), build_model(s)
    assert result.decode_roofline.optimal.bound == "balanced" and result.optimal.params > model.base_params
    assert result.cross_check.max_rel_diff <= 1e-6
    loss = model.loss
    x = np.linspace(np.log(loss.b) / loss.q + 1e-9, np.log(2e12 * SATURATION) - 1e-9, 400_001)
    n_eff = (loss.a / (1 - loss.b * np.exp(-loss.q * x))) ** (1 / loss.p)
    costs = model.objective_value(real_tokens(n_eff, model.base_params, R_N), real_tokens(np.exp(x), 2e12))
    best = float(np.nanmin(costs))
    assert result.optimal.total_cost_usd <= best * (1 + 1e-12)
    assert result.optimal.total_cost_usd == pytest.approx(best, rel=1e-7)
