"""The best loss reachable within a set of caps: what an infeasibility message quotes.

minimize the law's posynomial a0 N^-p + b0 D^-q subject to the caps: a small geometric program, solved only on
the error path (so its compile time never touches a successful run).
"""

from __future__ import annotations

import cvxpy as cp

from ..errors import SolverError
from ..laws import Law
from .constraints import Cap

__all__ = ["best_reachable_loss"]


def best_reachable_loss(law: Law, caps: list[Cap]) -> tuple[float, float, float]:
    """(best loss, N, D) within `caps` under `law`; N or D is inf when the caps leave it unbounded."""
    if all(c.d_exp == 0 for c in caps):  # only sizes capped: the best is infinite data at the largest size
        params = min(c.limit ** (1.0 / c.n_exp) for c in caps)
        return float(law._loss_of_posynomial(law.a0 * params ** (-law.p))), params, float("inf")
    if all(c.n_exp == 0 for c in caps):
        tokens = min(c.limit ** (1.0 / c.d_exp) for c in caps)
        return float(law._loss_of_posynomial(law.b0 * tokens ** (-law.q))), float("inf"), tokens
    # Scale to the caps themselves so the solver sees numbers near 1.
    n_scale = next((c.limit for c in caps if (c.n_exp, c.d_exp) == (1, 0)), 1e10)
    d_scale = next((c.limit for c in caps if (c.n_exp, c.d_exp) == (0, 1)), 1e12)
    n, d = cp.Variable(pos=True), cp.Variable(pos=True)
    objective = law.a0 * n_scale ** (-law.p) * n ** (-law.p) + law.b0 * d_scale ** (-law.q) * d ** (-law.q)
    constraints: list[cp.Constraint] = [
        (n_scale**c.n_exp * d_scale**c.d_exp / c.limit)
        * (n**c.n_exp if c.n_exp else 1) * (d**c.d_exp if c.d_exp else 1) <= 1  # type: ignore[misc]
        for c in caps  # every cap has a nonzero exponent, so no item is a plain bool
    ]
    cp.Problem(cp.Minimize(objective), constraints).solve(gp=True, solver=cp.CLARABEL)
    if n.value is None or d.value is None:
        raise SolverError("the best-reachable-loss problem did not solve")
    params, tokens = float(n.value) * n_scale, float(d.value) * d_scale
    return float(law.loss(params, tokens)), params, tokens
