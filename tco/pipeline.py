"""The pipeline: Scenario -> Model -> (feasibility, GP + polish, exact cross-check) -> Result."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .assemble import (CROSS_CHECK_TOLERANCE, advice, assemble_result, check_cross, check_feasible,
                       constraint_reports, design_point, max_rel_diff, quantization_section, shadow_by_difference,
                       with_source)
from .errors import InfeasibleError, SolverError
from .model.build import Model, build_model
from .model.quantization import penalty_caveat
from .results import CrossCheck, Result
from .solve.polish import polish
from .solve.program import solve_gp
from .solve.regimes import chinchilla_point, regimes, solve_model

if TYPE_CHECKING:
    from .scenario import Scenario

# The shared steps live in tco.assemble; these names are kept here for callers of the earlier API.
__all__ = ["optimize", "solve_model_exact", "design_point", "check_feasible", "assemble_result",
           "constraint_reports", "with_source", "CROSS_CHECK_TOLERANCE"]

#: The exact optimum of a Model (the one dispatcher, `tco.solve.regimes.solve_model`), under its old name.
solve_model_exact = solve_model


def optimize(scenario: "Scenario", *, objective: str | None = None) -> Result:
    """Find the lifetime-cost-optimal (N, D) for `scenario` (objective 'usd' or 'flops', default the scenario's).

    Raises InfeasibleError naming the conflicting constraints when no design reaches the loss target, and
    SolverError when the solves disagree, a figure is not finite, or the arithmetic overflows.
    """
    # Floating-point trouble is judged on the result (assemble_result refuses non-finite figures), not printed
    # as numpy warnings; a Python float that overflows becomes one SolverError line.
    from .choice import is_choice, optimize_choice

    if is_choice(scenario):  # candidate expert counts / precisions: one full solve each, the cheapest wins
        return optimize_choice(scenario, lambda variant: optimize(variant, objective=objective))
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return _optimize(scenario, objective)
    except ArithmeticError as exc:
        where = f"{scenario.source}: " if scenario.source else ""
        raise SolverError(f"{where}the solve failed in floating point ({exc}): the inputs are beyond what double "
                          "precision represents; bring them into their documented ranges (README)") from None


def _optimize(scenario: "Scenario", objective: str | None) -> Result:
    model = build_model(scenario, objective)
    if model.unique_tokens is not None:
        from .repeated import optimize_repeated

        return optimize_repeated(scenario, model)
    exact = solve_model(model)
    try:
        if not bool(exact.feasible):
            check_feasible(model)  # raises with the names of the conflicting constraints
        gp = solve_gp(model)
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    params, tokens, mu, polished = _polish(model, gp)
    ex_n, ex_d = float(exact.params), float(exact.tokens)
    ex_obj = float(model.objective_value(ex_n, ex_d))
    rel = max_rel_diff(params, ex_n, tokens, ex_d, float(model.objective_value(params, tokens)), ex_obj)
    raw_rel = max_rel_diff(gp.params, ex_n, gp.tokens, ex_d, gp.objective_value, ex_obj)
    check_cross(scenario, rel, "the convex solver (GP) and the exact 1-D solve")
    warnings: list[str] = []
    cross = CrossCheck(ex_n, ex_d, ex_obj, rel, raw_rel, gp.status, polished, gp.solve_seconds,
                       CROSS_CHECK_TOLERANCE)

    chin_n, chin_d = chinchilla_point(model)
    optimal = design_point(scenario, model, params, tokens)
    chinchilla = design_point(scenario, model, chin_n, chin_d)
    shadow_objective = mu * model.loss.dlog_rhs_dloss if math.isfinite(mu) else shadow_by_difference(model)
    if model.objective == "usd":
        shadow_usd, shadow_flops = shadow_objective, shadow_by_difference(model, measure="flops")
    else:
        shadow_usd, shadow_flops = shadow_by_difference(model, measure="usd"), shadow_objective

    reports = constraint_reports(model, exact.binding, params, tokens, chin_n, chin_d)
    warnings += advice(optimal, chinchilla, reports)
    caveat = penalty_caveat(model.quantization)
    if caveat:
        warnings.append(caveat)
    extra = {"quantization": quantization_section(model, params, tokens, chin_n, chin_d)} if model.quantization else {}
    return assemble_result(scenario, model, optimal, chinchilla, shadow_usd, shadow_flops, reports, cross, warnings,
                           **extra)


def _polish(model: Model, gp):
    """Newton-polish the GP point in each decode regime and keep the cheapest that converged; else the GP's.
    A regime's crossover bound starts with no dual: the active-set loop adds it when the point lies across."""
    best = (gp.params, gp.tokens, np.nan, False)
    best_value = math.inf
    for regime in regimes(model):
        extra = len(regime.model.caps) - len(model.caps)
        n, d, mu, _, ok = polish(regime.model, gp.params, gp.tokens, gp.loss_dual, (*gp.cap_duals, *[0.0] * extra))
        value = float(model.objective_value(n, d)) if ok else math.inf
        if ok and value < best_value:
            best, best_value = (n, d, mu, True), value
    return best
