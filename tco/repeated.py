"""`optimize()` for scenarios whose unique data is capped and repeated (Muennighoff et al. 2023): no GP.

The answer is the one exact kernel (`tco.solve`) on the repeated-data curve; the cross-check is derivative-free
and uses its own coordinate: the best of a grid in x = log D' along the iso-loss curve, refined by bounded
Brent on the log cost. Costs come from the shared `design_point` at the real (N, D); the loss through the
effective data D' and, with the parameter half (Muennighoff et al. 2023, eq. 6; `data.excess_parameters`), the
effective parameters N' over U_N = N_opt(U): the cross-check writes both inverse maps out again, and
tests/test_excess_params.py compares both solves with a brute-force grid over the real N.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from .assemble import (CROSS_CHECK_TOLERANCE, advice, assemble_result, check_cross, constraint_reports,
                       design_point, max_rel_diff, shadow_by_difference, with_source)
from .errors import InfeasibleError
from .model.repetition import (PARAMS_SATURATION, R_D, R_N, SATURATION, effective_params, effective_tokens,
                               unreachable_message)
from .results import CrossCheck, Result
from .results.sections import DataLimits
from .solve.exact import ExactSolution, cap_interval
from .solve.regimes import chinchilla_point, kernel_cap, model_curve, regime_parts, solve_model
from .units import format_count

if TYPE_CHECKING:
    from .model.build import Model
    from .scenario import Scenario

__all__ = ["optimize_repeated", "solve_repeated", "GP_STATUS"]

GP_STATUS = "not a GP (data repetition): exact 1-D solve"
_GRID = 401


def solve_repeated(model: "Model") -> ExactSolution:
    """The exact optimum (scalar), or InfeasibleError naming the first cap that leaves no design."""
    sol = solve_model(model)
    if bool(sol.feasible):
        return sol
    curve = model_curve(model)
    loss = model.loss
    if not bool(curve.reachable):
        raise InfeasibleError(unreachable_message(model.law, model.target_loss, float(model.unique_tokens),
                                                  loss, model.base_params is not None), ("data.max_unique_tokens",))
    for _, _, caps in regime_parts(model):  # the model's own caps come first, so they are what the error names
        lo, hi = curve.lo, curve.hi
        for cap in caps:
            cap_lo, cap_hi = cap_interval(curve, *kernel_cap(cap))
            lo, hi = max(lo, cap_lo), min(hi, cap_hi)
            if lo > hi:
                name = cap.describe()
                raise InfeasibleError(
                    f"infeasible: {name} and the loss target leave no design with "
                    f"{format_count(float(model.unique_tokens))} unique tokens repeated (Muennighoff et al. 2023); "
                    "relax it, add unique data or raise the loss target", (name, "data.max_unique_tokens"))
    raise InfeasibleError(  # pragma: no cover - the loop above names the cap
        "infeasible: no design reaches the loss target with the unique tokens given")


def _derivative_free_check(model: "Model", sol: ExactSolution):
    """(N, D, objective) of the cheapest point of a 401-point grid in x = log D' over the feasible range,
    refined by bounded Brent on the log cost: no derivative, and another coordinate than the kernel's."""
    from scipy.optimize import minimize_scalar

    loss, unique = model.loss, float(model.unique_tokens)
    base = None if model.base_params is None else float(model.base_params)
    a, p, b, q = loss.a, loss.p, loss.b, loss.q
    def real(log_e, base, r):  # the inverse Muennighoff map, written out again (not the kernel's curve code)
        ratio = np.exp(log_e) / base
        frac = np.clip((ratio - 1.0) / r, 0.0, 1.0 - 1e-300)
        return np.where(ratio <= 1.0, log_e, math.log(base) + np.log1p(-r * np.log1p(-frac)))

    def logs(x):
        x = np.asarray(x, dtype=float)
        log_n = (math.log(a) - np.log1p(-b * np.exp(-q * x))) / p  # log N' on the loss curve
        return (log_n if base is None else real(log_n, base, R_N)), real(x, unique, R_D)

    def log_cost(x):
        # the model's own objective, every regime of a roofline decode at once (its max): a balanced optimum
        # sits on the kink between regimes, which one regime's smooth cost would miss
        log_n, log_d = logs(x)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.log(np.asarray(model.objective_value(np.exp(log_n), np.exp(log_d)), dtype=float))

    x_lo, x_hi = math.log(b) / q, math.log(unique * SATURATION)  # N -> infinity, D -> infinity
    if base is not None:  # N -> infinity at N' = U_N (1 + R*_N), where a N'^-p + b D'^-q = 1 fixes D'
        x_lo = (math.log(b) - math.log1p(-a * (base * PARAMS_SATURATION) ** -p)) / q
    width = x_hi - x_lo
    lo, hi = x_lo + 1e-12 * width, x_hi - 1e-12 * width
    z_lo, z_hi = (float(v) for v in sol.interval)  # x = log D' falls along zeta: the ends swap
    lo, hi = max(lo, (math.log(b) + float(np.logaddexp(0.0, -z_hi))) / q), min(hi, (math.log(b) + float(
        np.logaddexp(0.0, -z_lo))) / q)
    grid = np.linspace(lo, hi, _GRID)
    values = log_cost(grid)
    k = int(np.argmin(values))
    left, right = grid[max(k - 1, 0)], grid[min(k + 1, _GRID - 1)]
    x = float(grid[k])
    if right > left:
        found = minimize_scalar(lambda v: float(log_cost(v)), bounds=(left, right), method="bounded",
                                options={"xatol": 1e-12})
        x = float(found.x) if found.fun <= values[k] else x
    log_n, log_d = logs(x)
    n, d = math.exp(float(log_n)), math.exp(float(log_d))
    return n, d, float(model.objective_value(n, d))


def _parameter_half(model: "Model", params: float, chin_n: float) -> dict:
    """The DataLimits fields of the parameter half: U_N, R*_N and each design's N' (nothing without it)."""
    if model.base_params is None:
        return {}
    base = float(model.base_params)
    return dict(excess_parameters="muennighoff2023", base_params=base, r_star_n=R_N,
                effective_params=float(effective_params(params, base)),
                chinchilla_effective_params=float(effective_params(chin_n, base)))


def optimize_repeated(scenario: "Scenario", model: "Model") -> Result:
    start = time.perf_counter()
    try:
        sol = solve_repeated(model)
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    check_n, check_d, check_obj = _derivative_free_check(model, sol)
    elapsed = time.perf_counter() - start
    chin_n, chin_d = chinchilla_point(model)
    params, tokens = float(sol.params), float(sol.tokens)
    objective = float(sol.objective)
    rel = max_rel_diff(params, check_n, tokens, check_d, objective, check_obj)
    # The derivative-free solve finds its minimum from objective values alone, which locates it only to about the
    # square root of their precision: the objectives must agree to the tolerance, (N, D) to its square root.
    located = max(abs(params / check_n - 1), abs(tokens / check_d - 1))
    check_cross(scenario, rel, "the derivative and derivative-free 1-D solves",
                judged=max(abs(objective / check_obj - 1), located**2))
    warnings: list[str] = []
    cross = CrossCheck(check_n, check_d, check_obj, rel, rel, GP_STATUS, False, elapsed, CROSS_CHECK_TOLERANCE)
    optimal = design_point(scenario, model, params, tokens)
    chinchilla = design_point(scenario, model, chin_n, chin_d)
    reports = constraint_reports(model, sol.binding, params, tokens, chin_n, chin_d)
    warnings += advice(optimal, chinchilla, reports)
    unique = float(model.unique_tokens)
    data_limits = DataLimits(
        unique_tokens=unique,
        repetition="muennighoff2023",
        r_star_d=R_D,
        max_effective_tokens=unique * SATURATION,
        epochs=tokens / unique,
        effective_tokens=float(effective_tokens(tokens, unique)),
        chinchilla_epochs=chin_d / unique,
        chinchilla_effective_tokens=float(effective_tokens(chin_d, unique)),
        **_parameter_half(model, params, chin_n),
    )
    shadow_usd = shadow_by_difference(model, "usd")
    shadow_flops = shadow_by_difference(model, "flops")
    return assemble_result(scenario, model, optimal, chinchilla, shadow_usd, shadow_flops, reports, cross,
                           warnings, data_limits=data_limits)
