"""The best loss reachable within a set of caps: what an infeasibility message quotes.

minimize the law's posynomial a0 N^-p + b0 D^-q subject to the caps: a small geometric program (built by
`tco.solve.gp`, like every other), solved only on the error path (so its compile time never touches a
successful run).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SolverError
from ..laws import Law
from ..model.caps import Cap
from ..scenario.fields import PARAMS_RANGE
from .gp import build_log_program, solve_log_program

MAX_PARAMS = PARAMS_RANGE[1]  # the largest model any result may have

__all__ = ["best_reachable_loss", "best_reachable_served_loss"]


def _row(cap, n_scale, d_scale) -> tuple:
    """A cap as the builder's log-form row at the scales (with its extra monomials when it is a posynomial)."""
    row: tuple = (cap.n_exp, cap.d_exp, math.log(n_scale**cap.n_exp * d_scale**cap.d_exp / cap.limit))
    extra = getattr(cap, "extra", ())
    if extra:
        row += (tuple((i, j, math.log(w * n_scale**i * d_scale**j / cap.limit)) for i, j, w in extra),)
    return row


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
    program = build_log_program(  # the loss posynomial is the objective; no loss row, only the caps
        np.log([law.a0 * n_scale ** (-law.p), law.b0 * d_scale ** (-law.q)]), np.array([-law.p, 0.0]),
        np.array([0.0, -law.q]),
        caps=[_row(c, n_scale, d_scale) for c in caps])
    solve_log_program(program)
    if program.x.value is None or program.y.value is None:
        raise SolverError("the convex solver found no best reachable loss within the caps")
    params = float(np.exp(program.x.value)) * n_scale
    tokens = float(np.exp(program.y.value)) * d_scale
    return float(law.loss(params, tokens)), params, tokens


def best_reachable_served_loss(law: Law, penalty, caps: list[Cap]) -> tuple[float, float, float]:
    """(best served loss, N, D) within `caps` when the target also pays the quantization penalty
    k D^gd / N^gn (`tco.model.quantization`): minimize the law's posynomial plus that monomial, a GP with a
    finite optimum in D for any N (the penalty grows with D, the data term falls). Needs a cap that bounds N
    (without one the served loss falls towards E as N grows: every target above E is reachable)."""
    n_scale = next((c.limit for c in caps if (c.n_exp, c.d_exp) == (1, 0)), 1e10)
    d_scale = 20.0 * n_scale
    program = build_log_program(
        np.log([law.a0 * n_scale ** (-law.p), law.b0 * d_scale ** (-law.q),
                penalty.coefficient * d_scale**penalty.gamma_d * n_scale ** (-penalty.gamma_n)]),
        np.array([-law.p, 0.0, -penalty.gamma_n]), np.array([0.0, -law.q, penalty.gamma_d]),
        # and N at most MAX_PARAMS: beyond it the laws mean nothing (and without a cap on N the best is there)
        caps=[*(_row(c, n_scale, d_scale) for c in caps), (1.0, 0.0, math.log(n_scale / MAX_PARAMS))])
    solve_log_program(program)
    if program.x.value is None or program.y.value is None:
        raise SolverError("the convex solver found no best reachable loss within the caps")
    params = min(float(np.exp(program.x.value)) * n_scale, MAX_PARAMS)
    tokens = float(np.exp(program.y.value)) * d_scale
    return float(law.loss(params, tokens) + penalty.delta(params, tokens)), params, tokens
