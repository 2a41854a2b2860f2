"""serving.quantization: the post-training quantization penalty (Kumar et al. 2024 form and a constant), checked
against brute-force solves written here from the loss formula, independently of the solvers."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

import tco
from tco.errors import InfeasibleError, ScenarioError
from tco.model.build import build_model
from tco.scenario import read_yaml, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# Hoffmann et al. 2022 constants, written out so the brute force does not read them from tco.
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
# Kumar et al. 2024 (arXiv 2411.04330), Appendix K, Table 2, typed here from the paper so the tests do not read
# them from tco: C_T, gamma_D, gamma_N, gamma_post and the bias b of e^(-P/gamma_post + b).
C_T, GAMMA_D, GAMMA_N, GAMMA_POST, BIAS = 0.0598, 0.5068, 0.3439, 0.5907, 1.1277
# The same four stated as a user's own constants: no bias (b defaults to 0 with stated constants).
KUMAR = {"form": "kumar2024", "c_t": C_T, "gamma_d": GAMMA_D, "gamma_n": GAMMA_N, "gamma_post": GAMMA_POST}
PUBLISHED = {"form": "kumar2024"}  # no constants: the paper's own fit, bias included

BASE = {
    "name": "quant-test",
    "law": "hoffmann2022",
    "target": {"quality_of": {"params": 70e9, "tokens": 1.4e12}},
    "training": {"hardware": "H100 SXM", "mfu": 0.4, "price_usd_per_hour": 2.0},
    "serving": {"hardware": "H100 SXM", "dtype": "fp8", "decode_mfu": 0.05, "price_usd_per_hour": 2.0,
                "bytes_per_param": 0.5},
    "demand": {"requests": 10e9},
    "attention_flops": False,
}
TARGET = E + A / 70e9**ALPHA + B / 1.4e12**BETA


def scenario(quantization=None, **serving):
    data = copy.deepcopy(BASE)
    data["serving"].update(serving)
    if quantization is not None:
        data["serving"]["quantization"] = quantization
    return scenario_from_dict(data)


def kumar_delta(n, d, bits=4.0, c_t=C_T, bias=0.0):
    return c_t * math.exp(-bits / GAMMA_POST + bias) * d**GAMMA_D / n**GAMMA_N


def smallest_log_tokens(n, delta):
    """log of the smallest D with E + A/N^a + B/D^b + delta(N, D) <= target at this N (NaN if none): the served
    loss falls, then rises, in D, so scan for its minimum and brentq on the falling side."""

    def served(log_d):
        d = math.exp(log_d)
        return E + A / n**ALPHA + B / d**BETA + delta(n, d) - TARGET

    grid = np.linspace(math.log(1e8), math.log(1e16), 400)
    values = np.array([served(x) for x in grid])
    k = int(np.argmin(values))
    if values[k] > 0:
        return math.nan
    return brentq(served, grid[0], grid[k], xtol=1e-14, rtol=1e-15)


def brute_force(model, delta, cost=None):
    """Scan log N along the smallest feasible D, then minimize the cost (default the model's $) over log N."""
    cost = cost or model.usd

    def along(log_n):
        log_d = smallest_log_tokens(math.exp(log_n), delta)
        return math.inf if math.isnan(log_d) else float(cost(math.exp(log_n), math.exp(log_d)))

    grid = np.linspace(np.log(3e9), np.log(3e11), 121)
    values = [along(x) for x in grid]
    k = int(np.argmin(values))
    best = minimize_scalar(along, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]), method="bounded",
                           options={"xatol": 1e-10})
    return math.exp(best.x), math.exp(smallest_log_tokens(math.exp(best.x), delta)), best.fun


@pytest.mark.parametrize("quantization, delta", [
    (dict(KUMAR), lambda n, d: kumar_delta(n, d)),
    (dict(PUBLISHED), lambda n, d: kumar_delta(n, d, bias=BIAS)),
    ({**KUMAR, "bias": -0.5}, lambda n, d: kumar_delta(n, d, bias=-0.5)),
    ({"form": "constant", "penalty_nats": 0.03}, lambda n, d: 0.03),
], ids=["kumar2024", "kumar2024-published", "kumar2024-bias", "constant"])
def test_optimum_matches_brute_force(quantization, delta):
    s = scenario(quantization)
    result = tco.optimize(s)
    n, d, cost = brute_force(build_model(s), delta)
    assert result.optimal.params == pytest.approx(n, rel=1e-5)
    assert result.optimal.tokens == pytest.approx(d, rel=1e-5)
    assert result.optimal.total_cost_usd == pytest.approx(cost, rel=1e-9)
    # the served loss meets the target exactly; the section's pre-quantization loss is the law's own
    q = result.quantization
    assert result.optimal.loss == pytest.approx(TARGET, rel=1e-12)
    assert q.penalty_nats == pytest.approx(delta(result.optimal.params, result.optimal.tokens), rel=1e-12)
    assert q.pre_quantization_loss == pytest.approx(TARGET - q.penalty_nats, rel=1e-12)


def test_gp_and_exact_agree_before_the_polish():
    result = tco.optimize(scenario(dict(KUMAR)))
    assert result.cross_check.max_rel_diff <= 1e-6
    assert result.cross_check.gp_unpolished_rel_diff <= 1e-6  # the raw GP already agrees with the 1-D solve


def test_penalty_moves_the_optimum_to_fewer_tokens_per_parameter():
    s_plain, s_pen = scenario(), scenario(dict(KUMAR))
    n0, d0, _ = brute_force(build_model(s_plain), lambda n, d: 0.0)
    n1, d1, _ = brute_force(build_model(s_pen), lambda n, d: kumar_delta(n, d))
    assert d1 / n1 < 0.5 * (d0 / n0)  # the penalty grows with D / N: it pushes to larger, shorter-trained models
    result = tco.optimize(s_pen)
    assert result.quantization.without_penalty.tokens_per_param == pytest.approx(d0 / n0, rel=1e-5)
    assert result.optimal.tokens_per_param == pytest.approx(d1 / n1, rel=1e-5)


def test_chinchilla_baseline_is_the_compute_optimum_on_the_penalized_curve():
    s = scenario(dict(KUMAR))
    result = tco.optimize(s)

    n, d, _ = brute_force(build_model(s), lambda n, d: kumar_delta(n, d), cost=lambda n, d: 6 * n * d)
    assert result.chinchilla.params == pytest.approx(n, rel=1e-5)
    assert result.chinchilla.tokens == pytest.approx(d, rel=1e-5)
    assert result.chinchilla.loss == pytest.approx(TARGET, rel=1e-12)
    assert result.quantization.chinchilla_penalty_nats == pytest.approx(
        kumar_delta(result.chinchilla.params, result.chinchilla.tokens), rel=1e-12)


def test_no_penalty_at_the_training_precision_unless_asked():
    bf16 = {"dtype": "bf16", "bytes_per_param": 2.0}
    assert build_model(scenario(dict(KUMAR), **bf16)).quantization is None
    forced = build_model(scenario({**KUMAR, "apply_at_training_precision": True}, **bf16)).quantization
    assert forced is not None and forced.bits == 16
    assert forced.coefficient == pytest.approx(C_T * math.exp(-16 / GAMMA_POST), rel=1e-12)
    # bits default to 8 x the served weight's bytes; a stated value wins
    assert build_model(scenario(dict(KUMAR))).quantization.bits == 4
    assert build_model(scenario({**KUMAR, "bits": 3}, bytes_per_param=0.375)).quantization.bits == 3


@pytest.mark.parametrize("quantization, where", [
    ({**KUMAR, "bits": True}, "serving.quantization.bits"),
    ({**KUMAR, "c_t": 1e9}, "serving.quantization.c_t"),
    ({**KUMAR, "gamma_post": 0}, "serving.quantization.gamma_post"),
    ({**KUMAR, "gamma_d": ".nan"}, "serving.quantization.gamma_d"),
    ({**KUMAR, "apply_at_training_precision": "yes"}, "serving.quantization.apply_at_training_precision"),
    ({"form": "nope"}, "serving.quantization.form"),
    ({"form": "constant"}, "serving.quantization"),
    ({"form": "constant", "penalty_nats": 0.1, "c_t": 0.1}, "serving.quantization"),
    ({**KUMAR, "penalty_nats": 0.1}, "serving.quantization"),
    ({"form": "constant", "penalty_nats": 9}, "serving.quantization.penalty_nats"),
    ({"form": "constant", "penalty_nats": 0.3}, "serving.quantization.penalty_nats"),  # target - 0.3 < E
    ({**KUMAR, "cT": 0.1}, "serving.quantization.cT"),
    ({"form": "kumar2024", "c_t": 0.1}, "serving.quantization"),  # a partial set would mix two fits
    ({"form": "kumar2024", "bias": 1.0}, "serving.quantization"),
    ({**KUMAR, "bias": True}, "serving.quantization.bias"),
    ({**KUMAR, "bias": ".inf"}, "serving.quantization.bias"),
])
def test_hostile_inputs_are_one_line(quantization, where):
    with pytest.raises(ScenarioError) as exc:
        scenario(quantization)
    line = str(exc.value).splitlines()[0]
    assert where in line
    assert len(str(exc.value).splitlines()) == 1


def test_kaplan_law_refuses_the_kumar_form():
    data = copy.deepcopy(BASE)
    data["law"] = {"form": "kaplan", "alpha_n": 0.076, "alpha_d": 0.103, "n_c": 6.4e13, "d_c": 1.8e13}
    data["serving"]["quantization"] = dict(KUMAR)
    with pytest.raises(ScenarioError, match="serving.quantization.form"):
        scenario_from_dict(data)


def test_a_size_cap_the_penalty_makes_binding_is_one_line_with_the_best_served_loss():
    data = copy.deepcopy(BASE)
    data["serving"]["quantization"] = {**KUMAR, "bits": 3}
    data["serving"]["bytes_per_param"] = 0.375  # 3-bit weights
    data["constraints"] = {"max_params": 30e9}
    with pytest.raises(InfeasibleError) as exc:
        tco.optimize(scenario_from_dict(data))
    message = str(exc.value)
    assert "serving.quantization" in message and "\n" not in message
    # the best served loss at the cap, brute force: the largest N, the best D for it
    grid = np.exp(np.linspace(np.log(1e10), np.log(1e14), 20001))
    best = min(E + A / 30e9**ALPHA + B / grid**BETA + kumar_delta(30e9, grid, bits=3))
    assert best > TARGET
    quoted = float(message.split("best served loss within it is ")[1].split(" ")[0])
    assert quoted == pytest.approx(best, abs=5e-6)  # quoted to 6 significant digits
    # without the penalty the same cap is fine
    del data["serving"]["quantization"]
    assert tco.optimize(scenario_from_dict(data)).optimal.params <= 30e9 * (1 + 1e-9)


def test_a_binding_deadline_with_the_penalty_agrees_with_the_gp():
    data = copy.deepcopy(BASE)
    data["serving"]["quantization"] = dict(KUMAR)
    free = tco.optimize(scenario_from_dict(data))
    data["constraints"] = {"max_tokens": 0.8 * free.optimal.tokens}
    capped = tco.optimize(scenario_from_dict(data))
    assert capped.binding_constraints == ["constraints.max_tokens"]
    assert capped.optimal.tokens == pytest.approx(0.8 * free.optimal.tokens, rel=1e-9)
    assert capped.cross_check.max_rel_diff <= 1e-6


def test_demand_sweep_solves_the_penalty_per_point():
    from tco.studies.sweep import demand_sweep

    s = scenario(dict(KUMAR))
    demands = np.array([1e11, 1e13, 1e15])
    frame = demand_sweep(s, demands)
    for tokens, row in zip(demands, frame.itertuples()):
        data = copy.deepcopy(BASE)
        data["serving"]["quantization"] = dict(KUMAR)
        data["demand"] = {"prompt_tokens": tokens * 70 / 285, "generated_tokens": tokens * 215 / 285}
        one = tco.optimize(scenario_from_dict(data))
        assert row.params == pytest.approx(one.optimal.params, rel=1e-6)


@pytest.mark.parametrize("study", ["sensitivity", "montecarlo", "robust", "breakeven"])
def test_studies_without_the_penalty_refuse_it(study):
    from tco.studies.breakeven import breakeven
    from tco.studies.montecarlo import monte_carlo
    from tco.studies.robust import robust_design
    from tco.studies.sensitivity import sensitivity

    run = {"sensitivity": sensitivity, "montecarlo": monte_carlo, "robust": robust_design,
           "breakeven": breakeven}[study]
    with pytest.raises(ScenarioError) as exc:
        run(scenario(dict(KUMAR)))
    assert "serving.quantization" in str(exc.value) and f"tco {study}" in str(exc.value)


@pytest.mark.parametrize("name, int4_wins", [("quantized-int4-serving", False),
                                             ("quantized-int4-small-penalty", True)])
def test_bundled_int4_versus_fp8(name, int4_wins):
    """Each bundled scenario solved at its int4 weights and at fp8 weights (bytes_per_param 1, so P = 8)."""
    path = SCENARIOS / f"{name}.yaml"
    int4 = tco.load_scenario(path)
    data = read_yaml(path)
    data["serving"]["bytes_per_param"] = 1
    fp8 = scenario_from_dict(data)
    r4, r8 = tco.optimize(int4), tco.optimize(fp8)
    assert r4.quantization.bits == 4 and r8.quantization.bits == 8
    assert (r4.optimal.total_cost_usd < r8.optimal.total_cost_usd) is int4_wins
    # int4 always forces the larger, shorter-trained model; its decode is what may pay for it
    assert r4.optimal.tokens_per_param < r8.optimal.tokens_per_param
    assert r4.optimal.params > r8.optimal.params


def test_workbook_loss_formula_follows_edited_quantization_inputs(tmp_path):
    """The Costs sheet's loss is a live formula of the penalty's inputs: LibreOffice recalculates an edited C_T
    and bits to the loss written here from the formula."""
    import openpyxl
    import test_excel_recalc as recalc_tests

    if recalc_tests.SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from tco.report.excel import write_report
    from tco.studies import prepare

    entry = prepare(tco.load_scenario(SCENARIOS / "quantized-int4-serving.yaml"), sweep_points=5)
    wb = openpyxl.load_workbook(write_report(entry, tmp_path / "q.xlsx"))
    recalc_tests._set_input(wb, "quant_c_t", 0.5)  # multiplies the cell: C_T 0.0299
    recalc_tests._set_input(wb, "quant_bits", 1.25)  # 5 bits
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    (out,) = recalc_tests.recalc([edited], tmp_path / "out")
    values = openpyxl.load_workbook(out, data_only=True)
    sheet, ref = next(values.defined_names["optimal_loss"].destinations)
    n, d = entry.result.optimal.params, entry.result.optimal.tokens
    want = E + A / n**ALPHA + B / d**BETA + kumar_delta(n, d, bits=5, c_t=0.5 * C_T, bias=BIAS)
    assert values[sheet][ref.replace("$", "")].value == pytest.approx(want, rel=1e-9)


def test_workbook_of_the_constant_form_recalculates(tmp_path):
    """Every formula of a constant-penalty workbook, the loss with its + penalty_nats included, recalculates in
    LibreOffice to Python's values."""
    import test_excel_recalc as recalc_tests

    if recalc_tests.SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from tco.report.excel import write_report
    from tco.studies import prepare

    entry = prepare(scenario({"form": "constant", "penalty_nats": 0.03}), sweep_points=5)
    path = write_report(entry, tmp_path / "c.xlsx")
    (out,) = recalc_tests.recalc([path], tmp_path / "out")
    assert recalc_tests.check_every_formula(path, out, recalc_tests.expected_by_name(entry)) >= 40
    assert entry.result.optimal.loss == pytest.approx(TARGET, rel=1e-12)


def test_penalized_gp_is_dpp_and_compiled_once_per_shape():
    from tco.solve.gp import compiled_program
    from tco.solve.program import solve_gp

    solve_gp(build_model(scenario(dict(KUMAR))))
    before = compiled_program.cache_info().misses
    for bits in (3, 5):  # new numbers, same exponents: parameter updates only
        solve_gp(build_model(scenario({**KUMAR, "bits": bits}, bytes_per_param=bits / 8)))
    assert compiled_program.cache_info().misses == before
    model = build_model(scenario(dict(KUMAR)))
    shape = tuple((t.n_exp, t.d_exp) for t in model.active_terms)
    program = compiled_program((model.loss.p, model.loss.q, shape, (), None, (GAMMA_N, GAMMA_D))).program.problem
    assert program.is_dcp(dpp=True)
    assert "log_loss_penalty" in {p.name() for p in program.parameters()}


FLOW_KUMAR = "form: kumar2024, c_t: 0.0598, gamma_d: 0.5068, gamma_n: 0.3439, gamma_post: 0.5907"


@pytest.mark.parametrize("quantization, field", [
    ("{form: kumar2024, bits: true}", "serving.quantization.bits"),
    ("{form: kumar2024, c_t: 0.1}", "serving.quantization: form kumar2024 with stated constants needs all of c_t, "
     "gamma_d, gamma_n and gamma_post (missing gamma_d, gamma_n, gamma_post)"),
    ("{form: constant, penalty_nats: 0.3}", "serving.quantization.penalty_nats"),
    ("{" + FLOW_KUMAR + ", bits: 3}", "serving.quantization.bits: bits 3 contradicts bytes_per_param 0.5"),
])
def test_cli_errors_are_one_line_with_exit_status_2(tco_run, tmp_path, quantization, field):
    text = (SCENARIOS / "quantized-int4-serving.yaml").read_text()
    start, end = text.index("  quantization:\n"), text.index("\ndemand:")
    text = text[:start] + f"  quantization: {quantization.splitlines()[0]}" + text[end:]
    if "\n" in quantization:
        text += quantization.split("\n", 1)[1] + "\n"
    path = tmp_path / "q.yaml"
    path.write_text(text)
    code, out, err = tco_run("optimize", path, "--no-report")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and field in err, err


def test_cli_json_has_the_quantization_block(tco_run):
    import json

    code, out, _ = tco_run("optimize", SCENARIOS / "quantized-int4-serving.yaml", "--json", "--no-report")
    assert code == 0
    block = json.loads(out)["quantization"]
    assert block["form"] == "kumar2024" and block["bits"] == 4
    data = json.loads(out)
    for point, key in (("optimal", "penalty_nats"), ("chinchilla", "chinchilla_penalty_nats")):
        n, d = data[point]["params"], data[point]["tokens"]
        assert block[key] == pytest.approx(kumar_delta(n, d, bias=BIAS), rel=1e-12)
        assert data[point]["loss"] == pytest.approx(TARGET, rel=1e-12)  # the served loss meets the target


def test_a_constant_penalty_with_a_size_cap_quotes_the_served_loss():
    data = copy.deepcopy(BASE)
    data["serving"]["quantization"] = {"form": "constant", "penalty_nats": 0.1}
    data["constraints"] = {"max_params": 5e9}
    with pytest.raises(InfeasibleError) as exc:
        tco.optimize(scenario_from_dict(data))
    message = str(exc.value)
    quoted = float(message.split("best loss within it is ")[1].split(" ")[0])
    assert quoted == pytest.approx(E + A / 5e9**ALPHA + 0.1, abs=5e-6)  # infinite data at the cap, plus the penalty
    assert "serving.quantization" in message


def _kernel_brute_force(curve, terms, cap=None):
    """min over log N of the cost at the smallest feasible D, with an optional cap N^i D^j <= L, by scipy."""
    a, p, b, q, c, gn, gd = (float(v) for v in (curve.a, curve.p, curve.b, curve.q, curve.c, curve.gn, curve.gd))

    def g(x, y):
        return a * math.exp(-p * x) + b * math.exp(-q * y) + c * math.exp(gd * y - gn * x) - 1.0

    def y_lo(x):
        y_star = (math.log(q * b / (gd * c)) + gn * x) / (q + gd)
        if g(x, y_star) > 0:
            return math.nan
        return brentq(lambda y: g(x, y), y_star - 200.0, y_star, xtol=1e-15, rtol=1e-15) if g(x, y_star) < 0 else y_star

    def cost(x):
        y = y_lo(x)
        if math.isnan(y) or (cap is not None and cap[0] * x + cap[1] * y > math.log(cap[2])):
            return math.inf
        return sum(w * math.exp(i * x + j * y) for i, j, w in terms)

    grid = np.linspace(0.0, 45.0, 4001)
    values = np.array([cost(x) for x in grid])
    k = int(np.argmin(values))
    best = minimize_scalar(cost, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]), method="bounded",
                           options={"xatol": 1e-12})
    candidates = [(best.fun, best.x)]
    if cap is not None:  # a binding cap: the optimum is a root of the cap along the boundary (brentq, both ends)
        def slack(x):
            return cap[0] * x + cap[1] * y_lo(x) - math.log(cap[2])

        inside = np.isfinite(values)
        for i in np.flatnonzero(inside[1:] != inside[:-1]):
            lo, hi = grid[i], grid[i + 1]
            if not (math.isnan(y_lo(lo)) or math.isnan(y_lo(hi))):
                root = brentq(slack, lo, hi, xtol=1e-15, rtol=1e-15)
                candidates.append((sum(w * math.exp(i_ * root + j * y_lo(root)) for i_, j, w in terms), root))
    value, x = min(candidates)
    return math.exp(x), value


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's Brent meets the brute force's inf beyond a cap
@pytest.mark.parametrize("seed", range(8))
def test_penalized_kernel_matches_a_brute_force_on_random_constraints(seed):
    from tco.solve.penalized import PenalizedCurve, solve_penalized

    rng = np.random.default_rng(seed)
    p, q = rng.uniform(0.2, 0.5, 2)
    n0, d0 = 10 ** rng.uniform(8, 11), 10 ** rng.uniform(10, 13)
    gn, gd = rng.uniform(0.2, 0.6, 2)
    numbers = (0.3 * n0**p, p, 0.3 * d0**q, q, 0.2 * n0**gn / d0**gd, gn, gd)  # each term ~0.3 near (n0, d0)
    curve = PenalizedCurve(*(np.asarray(v) for v in numbers))
    terms = [(1, 1, 6.0), (1, 0, 10 ** rng.uniform(10, 14)), (0, 1, 10 ** rng.uniform(-2, 1))]
    sol = solve_penalized(curve, terms)
    n, cost = _kernel_brute_force(curve, terms)
    assert float(sol.objective) == pytest.approx(cost, rel=1e-9)
    assert float(sol.params) == pytest.approx(n, rel=1e-4)
    # a product cap halfway (in logs) between the smallest N D on the boundary and the free optimum's binds
    smallest = solve_penalized(curve, [(1, 1, 6.0)])
    limit = math.sqrt(float(smallest.params * smallest.tokens) * float(sol.params * sol.tokens))
    capped = solve_penalized(curve, terms, [(1, 1, limit)])
    n_c, cost_c = _kernel_brute_force(curve, terms, (1, 1, limit))
    assert bool(capped.binding[0])
    assert float(capped.objective) == pytest.approx(cost_c, rel=1e-7)
    assert float(capped.params * capped.tokens) == pytest.approx(limit, rel=1e-9)


def test_each_precision_candidate_pays_the_penalty_of_its_own_bits():
    data = read_yaml(SCENARIOS / "quantized-int4-serving.yaml")
    data["serving"].pop("bytes_per_param")
    data["serving"]["precisions"] = ["bf16", "fp8", "int8"]
    chosen = tco.optimize(scenario_from_dict(data, base_dir=SCENARIOS))
    rows = chosen.to_dict()["architecture_choice"]["candidates"]
    for row, dtype in zip(rows, ("bf16", "fp8", "int8")):
        one = copy.deepcopy(data)
        del one["serving"]["precisions"]
        one["serving"]["dtype"] = dtype
        alone = tco.optimize(scenario_from_dict(one, base_dir=SCENARIOS))
        assert row["precision"] == dtype
        assert row["total_cost_usd"] == pytest.approx(alone.optimal.total_cost_usd, rel=1e-6)
        # bf16 weights are not quantized (16 bits = the training dtype); 8-bit ones pay the 8-bit penalty
        penalty = None if alone.quantization is None else alone.quantization.penalty_nats
        if dtype == "bf16":
            assert penalty is None
        else:
            n, d = alone.optimal.params, alone.optimal.tokens
            assert penalty == pytest.approx(kumar_delta(n, d, bits=8.0, bias=BIAS), rel=1e-9)
    assert chosen.optimal.total_cost_usd == min(r["total_cost_usd"] for r in rows)


def test_weight_only_int4_on_fp8_is_a_precision_candidate_priced_like_its_own_run():
    """{weights: int4, compute: fp8} serves 4-bit weights at fp8's peak: the candidate equals the bundled int4
    file solved alone (bytes_per_param 0.5), and it pays the 4-bit penalty; it loses to fp8 under the published fit and
    wins under the small-penalty file's C_T 0.002."""
    for name, winner in (("quantized-int4-serving.yaml", "fp8"),
                         ("quantized-int4-small-penalty.yaml", "4-bit weights on fp8")):
        data = read_yaml(SCENARIOS / name)
        alone = tco.optimize(scenario_from_dict(copy.deepcopy(data), base_dir=SCENARIOS))
        data["serving"].pop("bytes_per_param")
        data["serving"]["precisions"] = ["fp8", {"weights": "int4", "compute": "fp8"}]
        chosen = tco.optimize(scenario_from_dict(data, base_dir=SCENARIOS)).to_dict()["architecture_choice"]
        rows = {row["precision"]: row for row in chosen["candidates"]}
        assert rows["4-bit weights on fp8"]["total_cost_usd"] == pytest.approx(alone.optimal.total_cost_usd, rel=1e-9)
        assert chosen["candidates"][chosen["winner"]]["precision"] == winner


@pytest.mark.parametrize("precisions, message", [
    (["fp8", {"weights": "int4", "compute": "int4"}], r"serving\.precisions\.1: H200 SXM has no 'int4' peak"),
    (["int4"], r"serving\.precisions\.0: H200 SXM has no 'int4' peak.*give \{weights: int4, compute: \.\.\.\}"),
    ([{"weights": "int3", "compute": "fp8"}], r"serving\.precisions\.0: no weight width known for dtype 'int3'"),
    (["fp8", {"weights": "fp8", "compute": "fp8"}], r"serving\.precisions\.1: precisions repeat weights fp8"),
    ([{"weights": "int4"}], r"serving\.precisions\.0\.compute: missing required field"),
])
def test_bad_precision_candidates_are_one_line(precisions, message):
    data = read_yaml(SCENARIOS / "quantized-int4-serving.yaml")
    data["serving"].pop("bytes_per_param")
    data["serving"]["precisions"] = precisions
    with pytest.raises(ScenarioError, match=message) as info:
        scenario_from_dict(data, base_dir=SCENARIOS)
    assert "\n" not in str(info.value)


def test_an_empty_precision_list_is_refused_not_ignored():
    data = read_yaml(SCENARIOS / "quantized-int4-serving.yaml")
    data["serving"].pop("bytes_per_param")
    data["serving"]["precisions"] = []
    with pytest.raises(ScenarioError, match=r"serving\.precisions: List should have at least 1 item"):
        scenario_from_dict(data, base_dir=SCENARIOS)


def test_published_fit_is_the_papers_table_and_carries_its_caveat():
    """No constants stated: Kumar et al. 2024's Table 2 prices the penalty, k = C_T e^(-P/gamma_post + b), and
    every output says where that fit was measured; stated constants carry no such warning."""
    published = build_model(scenario(dict(PUBLISHED))).quantization
    assert (published.c_t, published.gamma_d, published.gamma_n, published.gamma_post, published.bias) == (
        C_T, GAMMA_D, GAMMA_N, GAMMA_POST, BIAS)
    assert published.published and "Table 2" in published.source
    assert published.coefficient == pytest.approx(C_T * math.exp(-4 / GAMMA_POST + BIAS), rel=1e-15)
    result = tco.optimize(scenario(dict(PUBLISHED)))
    assert result.quantization.published_constants and result.quantization.bias == BIAS
    assert any("Kumar et al. 2024's published fit" in w for w in result.warnings)
    stated = tco.optimize(scenario(dict(KUMAR)))
    assert not stated.quantization.published_constants and stated.quantization.bias == 0
    assert not any("published fit" in w for w in stated.warnings)


def test_a_sweep_of_the_published_fit_prices_each_point_like_its_own_optimize():
    """A sweep re-validates the scenario with every field dumped (unset constants as None): the published fit must
    stay the published fit there, and each point equal the optimum solved alone."""
    from tco.studies import grid_sweep, parse_vary

    path = SCENARIOS / "quantized-int4-serving.yaml"
    frame = grid_sweep(tco.load_scenario(path), dict([parse_vary("training.mfu=0.3,0.5")]))
    assert bool(frame["feasible"].all())
    for mfu, params in zip((0.3, 0.5), frame["optimal_params"]):
        data = read_yaml(path)
        data["training"]["mfu"] = mfu
        alone = tco.optimize(scenario_from_dict(data, base_dir=SCENARIOS))
        assert alone.quantization.published_constants
        assert params == pytest.approx(alone.optimal.params, rel=1e-9)
