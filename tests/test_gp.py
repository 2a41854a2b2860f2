"""The cvxpy geometric program: DPP re-solves, solver accuracy, polish, duals as shadow prices."""

import pytest

import tco
from tco.model import build_model
from tco.solve.gp import SOLVER_OPTIONS, compiled_program
from tco.solve.program import gp_request, solve_gp
from tco.solve.regimes import solve_model

SCENARIO = {
    "law": "sardana2024", "target": {"loss": 1.947},
    "training": {"hardware": "A100 80GB", "mfu": 0.5, "price_usd_per_hour": 1.4},
    "serving": {"hardware": "A100 40GB", "dtype": "int8", "prefill_mfu": 0.4, "decode_mfu": 0.2,
                "price_usd_per_hour": 0.6},
    "demand": {"requests": 1e10, "prompt_tokens_per_request": 1000, "generated_tokens_per_request": 250},
}


def scenario(**changes):
    return tco.scenario_from_dict({**SCENARIO, **changes})


def test_problem_is_dpp_and_reused_across_parameter_changes():
    model = build_model(scenario())
    solve_gp(model)
    before = compiled_program.cache_info()
    # training, prefill and decode, each 2 monomials: the weights' FLOPs and the attention FLOPs (N^(2/3))
    shape = tuple((t.n_exp, t.d_exp) for t in model.active_terms)
    assert shape == ((1, 1), (2 / 3, 1), (1, 0), (2 / 3, 0), (1, 0), (2 / 3, 0))
    program = compiled_program((model.loss.p, model.loss.q, shape, (), None, None))
    assert program.dpp
    assert program.program.problem.is_dcp(dpp=True)  # the log form of the GP, DPP: compiled once
    for requests in (1e9, 1e11):
        solve_gp(build_model(scenario(demand={**SCENARIO["demand"], "requests": requests})))
    after = compiled_program.cache_info()
    assert after.misses == before.misses  # same shape, new numbers: no new program was compiled
    # every scenario number is a Parameter: log weights (6 monomials), the loss row's two log coefficients
    assert sorted(p.name() for p in program.program.problem.parameters()) == ["log_loss_a", "log_loss_b",
                                                                              "log_weights"]


@pytest.mark.parametrize("tokens", [2e12, 1e14])
def test_tightened_tolerances_beat_the_defaults(monkeypatch, tokens):
    """Fresh programs (no solver cache to inherit settings from), defaults vs SOLVER_OPTIONS."""
    import math

    from tco.solve import gp

    model = build_model(scenario(objective="flops", demand={"generated_tokens": tokens}))
    exact = float(solve_model(model).params)
    shape, values, (n0, _d0, _f0) = gp_request(model)
    tight = math.exp(gp.GeometricProgram(*shape).solve(values)["x"]) * n0
    monkeypatch.setattr(gp, "SOLVER_OPTIONS", {})
    default = math.exp(gp.GeometricProgram(*shape).solve(values)["x"]) * n0
    assert SOLVER_OPTIONS["tol_gap_rel"] <= 1e-10
    assert abs(tight / exact - 1) < abs(default / exact - 1)
    assert abs(tight / exact - 1) < 1e-5


def test_polish_reaches_machine_precision():
    result = tco.optimize(scenario())
    assert result.cross_check.polished
    assert result.cross_check.max_rel_diff < 1e-10
    assert result.cross_check.gp_status == "optimal"


def _finite_difference(sc, measure, h=1e-5):
    values = []
    for loss in (sc.target_loss - h, sc.target_loss + h):
        r = tco.optimize(tco.scenario_from_dict({**SCENARIO, **_changes_of(sc), "target": {"loss": loss}}))
        values.append(getattr(r.optimal, measure))
    return (values[0] - values[1]) / (2 * h)


def _changes_of(sc):
    return {"constraints": sc.constraints.model_dump(exclude_none=True), "objective": sc.objective}


@pytest.mark.parametrize("constraints", [{}, {"max_params": "15B"}, {"max_tokens": "2.5T"}])
def test_shadow_price_is_the_marginal_cost_of_the_loss_target(constraints):
    sc = scenario(constraints=constraints)
    result = tco.optimize(sc)
    if constraints:
        assert result.binding_constraints  # the cap binds, so the dual comes from the 2-constraint KKT
    expected = _finite_difference(sc, "total_cost_usd")
    assert result.loss_shadow_price_usd_per_nat == pytest.approx(expected, rel=1e-5)
    assert result.loss_shadow_price_usd_per_centinat == pytest.approx(expected / 100, rel=1e-5)


def test_flops_objective_reports_flops_dual_and_usd_slope():
    sc = scenario(objective="flops")
    result = tco.optimize(sc)
    assert result.loss_shadow_price_flops_per_nat == pytest.approx(_finite_difference(sc, "total_flops"), rel=1e-5)
    assert result.loss_shadow_price_usd_per_nat == pytest.approx(_finite_difference(sc, "total_cost_usd"), rel=1e-4)
