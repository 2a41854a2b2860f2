"""`optimize()` for scenarios whose unique data is capped and repeated (Muennighoff et al. 2023): no GP.

The exact 1-D solve of `tco.model.repetition` (bisection on the analytic derivative along the iso-loss curve)
is the answer; a derivative-free bounded Brent search on the same curve is the cross-check. Costs come from
the shared `design_point` at the real (N, D); the loss through the effective data D'.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from .errors import InfeasibleError
from .model.regimes import regimes
from .model.repetition import R_D, SATURATION, effective_tokens, solve_repetition
from .results import CrossCheck, Result
from .results.sections import DataLimits

if TYPE_CHECKING:
    from .model.compile import Model
    from .scenario import Scenario

__all__ = ["optimize_repeated", "GP_STATUS"]

GP_STATUS = "not a GP (data repetition): exact 1-D solve"


def _solve(model: "Model", *, chinchilla: bool = False, law=None, target=None):
    """The repetition solve; with a serving roofline, per decode regime (tco.model.regimes), the cheaper kept."""
    loss = model.loss
    if chinchilla:
        return solve_repetition(loss.a, loss.p, loss.b, loss.q, float(model.unique_tokens), [(1, 1, 6.0)], [],
                                law=law, target_loss=target)
    best, error = None, None
    for regime in regimes(model):
        part = regime.model
        try:
            sol = solve_repetition(
                loss.a, loss.p, loss.b, loss.q, float(model.unique_tokens),
                [(t.n_exp, t.d_exp, t.weight(model.objective)) for t in part.terms],
                [(c.n_exp, c.d_exp, c.limit) for c in part.caps], cap_names=tuple(c.describe() for c in part.caps),
                law=law, target_loss=target)
        except InfeasibleError as exc:  # the model's own caps come first, so they are what the error names
            error = error or exc
            continue
        sol = dataclasses.replace(sol, binding=sol.binding[:len(model.caps)])
        if best is None or sol.objective_value < best.objective_value:
            best = sol
    if best is None:
        assert error is not None  # every regime failed, so one raised
        raise error
    return best


def optimize_repeated(scenario: "Scenario", model: "Model") -> Result:
    from .optimize import (CROSS_CHECK_TOLERANCE, _advice, _max_rel, _shadow_by_difference, assemble_result,
                           constraint_reports, design_point, with_source)

    start = time.perf_counter()
    try:
        sol = _solve(model, law=model.law, target=model.target_loss)
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    elapsed = time.perf_counter() - start
    chin = _solve(model, chinchilla=True, law=model.law, target=model.target_loss)
    params, tokens = sol.params, sol.tokens
    rel = _max_rel(params, sol.check_params, tokens, sol.check_tokens, sol.objective_value, sol.check_objective)
    warnings: list[str] = []
    if rel > CROSS_CHECK_TOLERANCE:
        warnings.append(f"the derivative and derivative-free 1-D solves differ by {rel:.2g} (relative)")
    cross = CrossCheck(sol.check_params, sol.check_tokens, sol.check_objective, rel, rel, GP_STATUS, False,
                       elapsed, CROSS_CHECK_TOLERANCE)
    optimal = design_point(scenario, model, params, tokens)
    chinchilla = design_point(scenario, model, chin.params, chin.tokens)
    reports = constraint_reports(model, sol.binding, params, tokens, chin.params, chin.tokens)
    warnings += _advice(optimal, reports)
    unique = float(model.unique_tokens)
    data_limits = DataLimits(
        unique_tokens=unique,
        repetition="muennighoff2023",
        r_star_d=R_D,
        max_effective_tokens=unique * SATURATION,
        epochs=tokens / unique,
        effective_tokens=float(effective_tokens(tokens, unique)),
        chinchilla_epochs=chin.tokens / unique,
        chinchilla_effective_tokens=float(effective_tokens(chin.tokens, unique)),
    )
    # solve_model_exact routes models with unique_tokens to the repetition solver, so differences work here too
    shadow_usd = _shadow_by_difference(model, "usd")
    shadow_flops = _shadow_by_difference(model, "flops")
    return assemble_result(scenario, model, optimal, chinchilla, shadow_usd, shadow_flops, reports, cross,
                           warnings, data_limits=data_limits)
