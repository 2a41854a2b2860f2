"""Vectorized exact solving: the one kernel elementwise against its scalar solves, and against the cvxpy path."""

from pathlib import Path

import numpy as np
import pytest

import tco
from tco.solve.exact import solve_exact
from tco.studies.arrays import numeric_paths, solve_frame, validate_overrides

ROOT = Path(__file__).resolve().parents[1]
LAWS = ["hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023", "kaplan2020"]


def random_problems(n, seed=0):
    rng = np.random.default_rng(seed)
    a, b, p, q = (np.empty(n) for _ in range(4))
    for i in range(n):
        law = tco.get_law(LAWS[i % len(LAWS)])
        size = 10 ** rng.uniform(8, 12)
        c = law.constraint(law.loss(size, law.compute_optimal_tokens(size)))
        a[i], b[i], p[i], q[i] = c.a, c.b, c.p, c.q
    kt = 6 * 10 ** rng.uniform(-19, -17, n)
    ki = 2 * 10 ** rng.uniform(-14, 2, n)
    kd = np.where(rng.random(n) < 0.5, 0.0, 10 ** rng.uniform(-12, -5, n))
    n_c, d_c = (a * (p + q) / q) ** (1 / p), (b * (p + q) / p) ** (1 / q)
    caps = (np.where(rng.random(n) < 0.5, np.inf, n_c * 10 ** rng.uniform(-0.5, 0.5, n)),
            np.where(rng.random(n) < 0.5, np.inf, d_c * 10 ** rng.uniform(-0.5, 1, n)),
            np.where(rng.random(n) < 0.5, np.inf, n_c * d_c * 10 ** rng.uniform(-0.2, 1, n)))
    return a, p, b, q, kt, ki, kd, caps


def test_arrays_solve_exactly_as_one_element_at_a_time_including_caps_and_infeasibility():
    a, p, b, q, kt, ki, kd, (n_max, d_max, nd_max) = random_problems(2000)
    terms = [(1, 1, kt), (1, 0, ki), (0, 1, kd)]
    caps = [(1, 0, n_max), (0, 1, d_max), (1, 1, nd_max)]
    batch = solve_exact(a, p, b, q, terms, caps)
    assert 0.5 < batch.feasible.mean() < 0.95  # both feasible and infeasible cases are exercised
    assert np.all(np.isnan(batch.params[~batch.feasible]))
    for k in range(0, 2000, 97):
        one = solve_exact(a[k], p[k], b[k], q[k], [(i, j, w[k]) for i, j, w in terms],
                          [(i, j, lim[k]) for i, j, lim in caps])
        assert bool(one.feasible) == batch.feasible[k]
        assert np.array_equal(one.binding, batch.binding[:, k])
        if batch.feasible[k]:
            assert float(one.params) == pytest.approx(batch.params[k], rel=1e-14)
            assert float(one.tokens) == pytest.approx(batch.tokens[k], rel=1e-14)


def _scenario(**changes):
    data = tco.load_scenario(ROOT / "scenarios" / "capped-deadline-and-data.yaml").model_dump()
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return tco.scenario_from_dict(data)


def test_array_scenarios_agree_with_the_cvxpy_path_to_1e9():
    base = _scenario()
    rng = np.random.default_rng(3)
    overrides = {
        "demand.requests": 10 ** rng.uniform(8, 12, 12),
        "training.price_usd_per_hour": rng.uniform(1, 4, 12),
        "serving.decode_mfu": rng.uniform(0.01, 0.3, 12),
        "target.chinchilla_optimal_params": 10 ** rng.uniform(9.5, 10.8, 12),
        "constraints.max_tokens": 10 ** rng.uniform(12, 13.5, 12),
        "data.cost_usd_per_token": 10 ** rng.uniform(-9, -6, 12),
    }
    frame = solve_frame(base, overrides, allow_infeasible=True)
    checked = 0
    for i, row in frame.iterrows():
        one = _scenario(**{k: float(v[i]) for k, v in overrides.items()})
        try:
            result = tco.optimize(one)
        except tco.InfeasibleError:
            assert not row["feasible"]
            continue
        assert row["feasible"]
        assert row["optimal_params"] == pytest.approx(result.optimal.params, rel=1e-9)
        assert row["optimal_tokens"] == pytest.approx(result.optimal.tokens, rel=1e-9)
        assert row["optimal_total_cost_usd"] == pytest.approx(result.optimal.total_cost_usd, rel=1e-9)
        assert row["chinchilla_total_cost_usd"] == pytest.approx(result.chinchilla.total_cost_usd, rel=1e-12)
        assert [row[f"binds:{c.name}"] for c in result.constraints] == [c.binding for c in result.constraints]
        checked += 1
    assert checked >= 8


def test_law_constants_can_vary_per_element():
    base = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    alphas = np.array([0.32, 0.336, 0.35])
    frame = solve_frame(base, {"law.alpha": alphas})
    for alpha, params in zip(alphas, frame["optimal_params"]):
        data = base.model_dump()
        data["law"] = {**tco.get_law("sardana2024").constants(), "alpha": float(alpha)}
        assert params == pytest.approx(tco.optimize(tco.scenario_from_dict(data)).optimal.params, rel=1e-9)


def test_overrides_are_validated_with_field_paths():
    base = tco.load_scenario(ROOT / "scenarios" / "sardana-cost-objective.yaml")
    with pytest.raises(tco.ScenarioError, match=r"training\.price_usd_per_hour: must be a positive price"):
        validate_overrides(base, {"training.price_usd_per_hour": np.array([1.0, -2.0])})
    with pytest.raises(tco.ScenarioError, match=r"serving\.decode_mfu: must be a fraction"):
        validate_overrides(base, {"serving.decode_mfu": np.array([0.5, 1.5])})
    with pytest.raises(tco.ScenarioError, match="cannot vary 'training.colour'"):
        validate_overrides(base, {"training.colour": np.array([1.0])})
    with pytest.raises(tco.ScenarioError, match="irreducible"):
        solve_frame(base, {"target.loss": np.array([1.9, 1.6])})
    assert {"demand.requests", "training.mfu", "constraints.max_params", "law.alpha"} <= set(numeric_paths(base))
