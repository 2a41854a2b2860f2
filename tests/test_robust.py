"""Robust design under law uncertainty: tco.studies.robust.robust_design and `tco robust`."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import tco
from tco import cli
from tco.errors import InfeasibleError, ScenarioError, TcoError
from tco.model.build import build_model
from tco.model.repetition import effective_tokens
from tco.studies.robust import VALIDATION_SAMPLES, robust_design
from tco.cli.robust import parse_stderr
from tco.scenario import scenario_from_dict
from tco.studies.distributions import replace_law

ROOT = Path(__file__).resolve().parents[1]
# Repeated data included (cutting planes on D'(D)); a choice among architectures and a quantization penalty are
# refused (tests/test_moe.py, tests/test_quantization.py).
SCENARIOS = [p for p in sorted((ROOT / "scenarios").glob("*.yaml"))
             if not tco.load_scenario(p).model.is_choice and tco.load_scenario(p).serving.quantization is None]
COST = ROOT / "scenarios" / "sardana-cost-objective.yaml"
CAPPED = ROOT / "scenarios" / "capped-deadline-and-data.yaml"
ROOFLINE = ROOT / "scenarios" / "roofline-long-context-assistant.yaml"
DOMAIN = ROOT / "scenarios" / "data-limited-domain-model.yaml"  # repeated epochs of capped unique data


def data_half(data: dict) -> dict:
    """tco robust refuses the parameter half of the repeated-data law (its cuts cover D'(D) only): repeated
    scenarios are designed under the data half alone, which is what their nominal optimum is then solved with."""
    if (data.get("data") or {}).get("max_unique_tokens") is not None:
        data["data"] = {**data["data"], "excess_parameters": "none"}
    return data


def load(path: Path) -> tco.Scenario:
    return scenario_from_dict(data_half(yaml.safe_load(path.read_text())), source=path.name, base_dir=path.parent)


def with_law(path: Path, law="besiroglu2024", **changes) -> tco.Scenario:
    data = data_half(yaml.safe_load(path.read_text()))
    data["law"] = law
    data.update(changes)
    return scenario_from_dict(data, source=path.name, base_dir=path.parent)


def one_row_bootstrap(scenario):
    constants = scenario.resolved_law.constants()
    return {"columns": list(constants), "samples": [list(constants.values())]}


# --- one nominal sample is the nominal optimum --------------------------------------------------------------
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_degenerate_bootstrap_reproduces_the_nominal_optimum(path):
    scenario = load(path)
    got = robust_design(scenario, samples=1, quantile=1.0, bootstrap=one_row_bootstrap(scenario))
    nominal = tco.optimize(scenario).optimal
    assert got.robust.params == pytest.approx(nominal.params, rel=1e-6)
    assert got.robust.tokens == pytest.approx(nominal.tokens, rel=1e-6)
    assert got.nominal.total_cost_usd == pytest.approx(nominal.total_cost_usd, rel=1e-12)
    assert abs(got.premium) < 1e-6 and got.dropped == got.unreachable == 0 and got.kept == 1
    assert got.coverage == 1.0 or got.coverage == pytest.approx(got.nominal_coverage)


def test_tiny_standard_errors_reproduce_the_nominal_optimum():
    scenario = with_law(COST)
    tiny = {k: 1e-12 * max(abs(v), 1.0) for k, v in scenario.resolved_law.constants().items()}
    got = robust_design(scenario, samples=1, quantile=1.0, stderr=tiny)
    nominal = tco.optimize(scenario).optimal
    assert got.robust.params == pytest.approx(nominal.params, rel=1e-6)
    assert got.robust.tokens == pytest.approx(nominal.tokens, rel=1e-6)
    assert got.premium == pytest.approx(0.0, abs=1e-6)


# --- three laws, every one met: brute force over D -----------------------------------------------------------
def brute_force(scenario, draws):
    """min cost over a log grid of D, N = the smallest size meeting all sampled laws (refined 4 times)."""
    model = build_model(scenario)
    law = replace_law(scenario.resolved_law, draws)
    a, b = law.A / (model.target_loss - law.E), law.B / (model.target_loss - law.E)
    p, q = law.alpha, law.beta

    def cost(log_d):
        d = np.exp(log_d)[:, None]
        with np.errstate(all="ignore"):
            seen = d if model.unique_tokens is None else effective_tokens(d, float(model.unique_tokens))
            slack = 1.0 - b * seen**-q
            n = np.where(slack > 0, (a / slack) ** (1.0 / p), np.inf).max(axis=1)
        d = d[:, 0]
        ok = np.isfinite(n)
        for cap in model.caps:
            ok &= n**cap.n_exp * d**cap.d_exp <= cap.limit
        return np.where(ok, model.objective_value(np.where(ok, n, 1.0), d), np.inf), n

    lo, hi = np.log(1e9), np.log(1e16)
    for _ in range(5):
        grid = np.linspace(lo, hi, 4001)
        values, n = cost(grid)
        k = int(np.argmin(values))
        step = grid[1] - grid[0]
        lo, hi = grid[k] - 2 * step, grid[k] + 2 * step
    return values[k], n[k], math.exp(grid[k])


@pytest.mark.parametrize("path, binding", [(COST, 2), (CAPPED, 1), (ROOFLINE, 2), (DOMAIN, 2)],
                         ids=["two-laws-bind", "a-cap-binds", "roofline-decode", "repeated-data"])
def test_three_laws_at_quantile_one_match_brute_force(path, binding):
    scenario = with_law(path)
    got = robust_design(scenario, samples=3, quantile=1.0, seed=0,
                        stderr={"A": 150.0, "B": 1000.0, "alpha": 0.02, "beta": 0.02})
    assert got.kept == 3 and got.dropped == 0
    unique = scenario.data.max_unique_tokens if scenario.data.repeats else None
    seen = got.robust.tokens if unique is None else effective_tokens(got.robust.tokens, unique)  # the law sees D'
    losses = replace_law(scenario.resolved_law, got.law_samples).loss(got.robust.params, seen)
    assert np.all(losses <= scenario.target_loss * (1 + 1e-12))
    assert np.sum(losses > scenario.target_loss - 1e-9) == binding  # a vertex of two laws; one law and a cap
    best, n, d = brute_force(scenario, got.law_samples)
    assert got.robust.total_cost_usd == pytest.approx(best, rel=1e-6)
    assert got.robust.total_cost_usd <= best * (1 + 1e-9)  # the grid can only do worse
    assert (got.robust.params, got.robust.tokens) == pytest.approx((n, d), rel=1e-6)


def test_samples_the_caps_rule_out_are_discarded_first():
    scenario, se = with_law(CAPPED), {"A": 150.0, "B": 1000.0, "alpha": 0.02, "beta": 0.02}
    with pytest.raises(InfeasibleError, match="no design that reaches the loss target under 100%"):
        robust_design(scenario, samples=3, quantile=1.0, seed=4, stderr=se)
    got = robust_design(scenario, samples=3, quantile=0.6, seed=4, stderr=se)  # may discard one of three
    losses = replace_law(scenario.resolved_law, got.law_samples).loss(got.robust.params, got.robust.tokens)
    assert got.dropped == 1 and got.solves == 2
    assert np.all(losses[got.kept_mask] <= scenario.target_loss * (1 + 1e-12))
    assert losses[~got.kept_mask][0] == losses.max() > scenario.target_loss


# --- sampling and discarding -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def by_quantile():
    scenario = with_law(COST)
    return scenario, {q: robust_design(scenario, quantile=q, samples=200) for q in (0.5, 0.9, 0.99)}


def test_the_robust_design_meets_every_kept_sample(by_quantile):
    scenario, results = by_quantile
    target = scenario.target_loss
    for q, got in results.items():
        losses = replace_law(scenario.resolved_law, got.law_samples).loss(got.robust.params, got.robust.tokens)
        assert np.all(losses[got.kept_mask] <= target * (1 + 1e-9))
        assert got.drop_budget == math.floor((1 - q) * 200 + 1e-9)
        assert got.dropped + got.unreachable == got.drop_budget
        assert got.kept == 200 - got.dropped - got.unreachable == int(got.kept_mask.sum())
        # the discarded samples are the ones the design fails (up to the ones that no longer bind)
        assert np.sum(losses[~got.kept_mask] > target * (1 + 1e-9)) >= 0.8 * got.dropped


def test_coverage_and_premium_grow_with_the_quantile(by_quantile):
    _, results = by_quantile
    c50, c90, c99 = (results[q].coverage for q in (0.5, 0.9, 0.99))
    noise = 3 * math.sqrt(0.25 / VALIDATION_SAMPLES)
    assert c50 + noise < c90 < c99 - noise
    assert abs(c50 - 0.5) < 0.1 and c90 > 0.8 and c99 > 0.93  # about the quantile, as sampled
    premiums = [results[q].premium for q in (0.5, 0.9, 0.99)]
    assert 0 <= premiums[0] < premiums[1] < premiums[2]
    for got in results.values():
        assert got.nominal_coverage == results[0.9].nominal_coverage < c90
        assert got.cost_premium == got.premium and got.status.startswith("optimal")
        assert any("independently" in w for w in got.warnings)
        json.dumps(got.to_dict(), allow_nan=False)


def test_unreachable_samples_count_as_failures():
    scenario = with_law(COST, target={"loss": 1.87})  # 1.8 SEs of E above E = 1.8172
    got = robust_design(scenario, quantile=0.9, samples=200, stderr={"E": 0.03})
    assert 0 < got.unreachable <= got.drop_budget
    assert got.dropped == got.drop_budget - got.unreachable
    assert not np.any(got.kept_mask & got.unreachable_mask)
    assert any("cannot reach the target" in w for w in got.warnings)
    with pytest.raises(InfeasibleError, match="at or below their irreducible loss"):
        robust_design(scenario, quantile=0.99, samples=200, stderr={"E": 0.03})


# --- where the samples come from ------------------------------------------------------------------------
def test_a_law_file_with_bootstrap_samples_is_used_by_default(tmp_path):
    rng = np.random.default_rng(1)
    base = np.array([1.8172, 482.01, 2085.43, 0.3478, 0.3658])
    rows = base * np.exp(0.01 * rng.standard_normal((50, 5)))
    law = {"law": dict(name="ours", **dict(zip(["E", "A", "B", "alpha", "beta"], base.tolist()))),
           "bootstrap": {"columns": ["E", "A", "B", "alpha", "beta"], "samples": rows.tolist()}}
    (tmp_path / "ours.yaml").write_text(yaml.safe_dump(law))
    data = yaml.safe_load(COST.read_text())
    data["law"] = "ours.yaml"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    got = robust_design(tco.load_scenario(tmp_path / "s.yaml"), quantile=0.9, samples=100)
    assert got.sample_source.startswith("bootstrap samples of") and got.law == "ours"
    assert not any("independently" in w for w in got.warnings)
    assert 0.8 < got.coverage and got.premium >= 0
    drawn = np.column_stack([got.law_samples[f"law.{c}"] for c in ("E", "A", "B", "alpha", "beta")])
    assert all(any(np.allclose(row, r) for r in rows) for row in drawn)  # resampled rows, correlations kept


def test_a_law_without_published_errors_needs_them():
    scenario = tco.load_scenario(COST)  # sardana2024: no published standard errors
    with pytest.raises(ScenarioError, match="no published standard errors; give them with --stderr"):
        robust_design(scenario)
    with pytest.raises(TcoError, match="no constant 'C'"):
        robust_design(scenario, stderr={"C": 1.0})
    with pytest.raises(TcoError, match="quantile"):
        robust_design(scenario, quantile=0.0, stderr={"E": 0.01})


def test_parse_stderr():
    assert parse_stderr("E=0.03, A=124.58,alpha=2e-2") == {"E": 0.03, "A": 124.58, "alpha": 0.02}
    for bad in ("E", "E=", "=1", ",", "E=x"):
        with pytest.raises(TcoError, match="--stderr"):
            parse_stderr(bad)


# --- CLI, in-process through tco.cli:main ----------------------------------------------------------------
def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["tco", *map(str, args)])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    return (stopped.value.code or 0, *capsys.readouterr())


def test_cli_json(monkeypatch, capsys, tmp_path):
    data = yaml.safe_load(COST.read_text())
    data["law"] = "besiroglu2024"
    path = tmp_path / "besiroglu.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = run(monkeypatch, capsys, "robust", path, "--quantile", "0.8", "--samples", "40", "--seed", "2",
                         "--stderr", "E=0.01,A=40,B=400,alpha=0.005,beta=0.005", "--json")
    assert code == 0 and err == ""
    got = json.loads(out)
    expected = robust_design(tco.load_scenario(path), quantile=0.8, samples=40, seed=2,
                             stderr={"E": 0.01, "A": 40, "B": 400, "alpha": 0.005, "beta": 0.005})
    assert got["robust"]["params"] == pytest.approx(expected.robust.params, rel=1e-12)
    assert got["nominal"]["total_cost_usd"] == pytest.approx(expected.nominal.total_cost_usd, rel=1e-12)
    assert got["premium"] == pytest.approx(expected.premium) and got["premium"] >= 0
    assert got["dropped"] == 8 and got["quantile"] == 0.8 and got["samples"] == 40
    assert {"coverage", "nominal_coverage", "unreachable", "status", "warnings"} <= set(got)
    code, out, err = run(monkeypatch, capsys, "robust", path, "--samples", "20")  # the terminal table
    assert code == 0 and "premium of robustness" in out and "nominal optimum" in out


def test_cli_errors_are_one_line(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "robust", COST)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no published standard errors" in err and "--stderr" in err
    code, out, err = run(monkeypatch, capsys, "robust", COST, "--stderr", "E=oops")
    assert code == 2 and err.count("\n") == 1 and "--stderr" in err


def _nominal_outside_the_patch(monkeypatch, scenario):
    """The nominal optimum robust_design compares with, solved before the solver is patched."""
    nominal = tco.optimize(scenario)
    monkeypatch.setattr(sys.modules["tco.pipeline"], "optimize", lambda _scenario: nominal)


def test_programs_clarabel_cannot_solve_fall_back_to_scs(monkeypatch):
    """Clarabel raises (InsufficientProgress) on every form of some sampled-law programs, e.g. --samples 400 with
    stderr E=0.01,A=40,B=400,alpha=0.005,beta=0.005 on the Sardana scenario; then SCS solves the same program and
    the exact polish puts the design on its binding laws. Here Clarabel is made to raise on every call."""
    import cvxpy as cp

    scenario = with_law(COST)
    expected = robust_design(scenario, samples=60, seed=3)
    real_solve, solvers = cp.Problem.solve, []
    _nominal_outside_the_patch(monkeypatch, scenario)

    def clarabel_stalls(problem, *args, solver=None, **kwargs):
        solvers.append(solver)
        if solver == cp.CLARABEL:
            raise cp.error.SolverError("Solver 'CLARABEL' failed. Try another solver, or solve with verbose=True")
        return real_solve(problem, *args, solver=solver, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", clarabel_stalls)
    fallen_back = robust_design(scenario, samples=60, seed=3)
    assert cp.SCS in solvers and solvers.count(cp.CLARABEL) >= 4 * fallen_back.solves
    assert fallen_back.kept == expected.kept and fallen_back.dropped == expected.dropped
    for got, want in ((fallen_back.robust.params, expected.robust.params),
                      (fallen_back.robust.tokens, expected.robust.tokens)):
        assert got == pytest.approx(want, rel=1e-6)
    assert np.array_equal(fallen_back.kept_mask, expected.kept_mask)


def test_when_every_solver_fails_the_error_is_one_line(monkeypatch):
    import cvxpy as cp

    def stalls(problem, *args, **kwargs):
        raise cp.error.SolverError("Solver failed.")

    scenario = with_law(COST)
    _nominal_outside_the_patch(monkeypatch, scenario)
    monkeypatch.setattr(cp.Problem, "solve", stalls)
    with pytest.raises(tco.SolverError, match=r"^the convex solver stopped with status 'solver error' on \d+ sampled"):
        robust_design(scenario, samples=20)


def test_the_parameter_half_is_refused_in_one_line():
    with pytest.raises(ScenarioError) as info:
        robust_design(tco.load_scenario(DOMAIN), samples=3)
    assert str(info.value) == (f"{DOMAIN}: data.excess_parameters: tco robust models only the data half of the "
                               "repeated-data law; set data.excess_parameters: none to design for it")
