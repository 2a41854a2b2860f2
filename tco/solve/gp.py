"""The one builder of every geometric program tco solves, in its convex log form.

With x = log(N / N0) and y = log(D / D0) (scaled so every number is near 1), each program is

    minimize   log sum_k exp(log_w_k + i_k x + j_k y)   [ + a decode roofline leg t, see below ]
    subject to log(exp(u_m - p_m x) + exp(v_m - q_m y)) <= 0      one row per loss law (none for `reach`)
               i_c x + j_c y + c_c <= 0                           one row per monomial cap

and a roofline decode term max(compute N + attention N^e, weights N + kv N^e) enters through an epigraph
variable t with t >= log(exp(log_compute + x) + exp(log_attention + e x)) and
t >= log(exp(log_weights + x) + exp(log_kv + e x)). A cap may be a posynomial (the training deadline with
attention FLOPs): its row is log(sum_k exp(i_k x + j_k y + c_k)) <= 0. This is exactly the program
cvxpy's DGP mode produces from the posynomial form; writing it once here lets the scenario's GP
(`tco.solve.program`, compiled once per shape with Parameters and re-solved), the robust GP with one loss row
per sampled law (`tco.studies.robust`) and the best-reachable-loss program of infeasibility messages
(`tco.solve.reach`) share it. Inputs may be numbers, arrays or cvxpy Parameters (every expression stays DPP).

With repeated data the loss rows see the effective data e = log(D' / D0), a third variable, and the real data
must buy it: y >= H(e), where H (the log of the inverse Muennighoff map) is convex and increasing. That is not
a DCP expression, so it enters as tangent cuts y >= H(e_k) + H'(e_k)(e - e_k), which the caller adds until the
solution lies on H (Kelley's cutting planes; `tco.studies.robust`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import cvxpy as cp

__all__ = ["LogProgram", "RooflineLegs", "build_log_program", "solve_log_program", "SOLVER_OPTIONS",
           "FALLBACK_OPTIONS"]

#: Clarabel's defaults (gap 1e-8, feasibility 1e-8) leave ~1e-5 relative error in N; these give ~1e-10.
SOLVER_OPTIONS: dict[str, float | int] = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "tol_ktratio": 1e-9,
    "max_iter": 200,
}

#: SCS (first-order, a different algorithm from Clarabel's interior point) for programs Clarabel stalls on
#: (InsufficientProgress on hundreds of sampled laws); tight eps so its answer is ~1e-8, which the callers' exact
#: polish then puts on the binding constraints.
FALLBACK_OPTIONS: dict[str, float | int] = {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200_000}


@dataclass(frozen=True)
class RooflineLegs:
    """Log weights of the roofline decode legs (compute, weights, KV, attention compute) and the KV (and
    attention) exponent of N; `log_kv` is None when decode reads no KV cache, `log_attention` when attention
    FLOPs are not counted."""

    log_compute: Any
    log_weights: Any
    log_kv: Any
    kv_exp: float
    log_attention: Any = None


@dataclass(frozen=True)
class LogProgram:
    problem: cp.Problem
    x: cp.Variable  # log(N / N0)
    y: cp.Variable  # log(D / D0)
    loss: Any  # the loss constraint (one row per law), or None
    caps: tuple[Any, ...]
    effective: Any = None  # log(D' / D0) with repeated data, else None


def build_log_program(log_w, term_i, term_j, *, loss_rows=None, caps=(), roofline: RooflineLegs | None = None,
                      sum_objective: bool = False, exp_loss: bool = False, data_cuts=None,
                      max_effective=None) -> LogProgram:
    """The program of the module docstring.

    `log_w`, `term_i`, `term_j`: the objective's monomials (vectors; `log_w` may be a Parameter).
    `loss_rows`: (u, p, v, q), scalars or vectors of one row per law, or None for no loss constraint; a row
    (u, p, v, q, w, gn, gd) adds the quantization penalty's monomial exp(w - gn x + gd y) (`tco.model.quantization`).
    `caps`: (i, j, c) per monomial cap, or (i, j, c, extra) with extra = ((i_k, j_k, c_k), ...) for a
    posynomial cap (one row log(exp(i x + j y + c) + sum_k exp(i_k x + j_k y + c_k)) <= 0).
    `sum_objective` minimizes sum exp(.) instead of its log, and `exp_loss` writes
    the loss rows as exp(.) + exp(.) <= 1: equivalent forms, for a solver that stalls on one of them.
    `data_cuts` ((H_k, slope_k, e_k) per cut) and `max_effective` (log of the saturation U (1 + R*_D) / D0): the
    loss rows see the effective data e instead of y (repeated data, see the module docstring).
    """
    x, y = cp.Variable(name="log_params_scaled"), cp.Variable(name="log_tokens_scaled")
    parts = [log_w + cp.multiply(term_i, x) + cp.multiply(term_j, y)] if len(term_i) else []
    constraints = []
    if roofline is not None:  # the decode max: the objective pushes t down onto the larger leg
        t = cp.Variable(name="log_decode_scaled")
        memory = (roofline.log_weights + x if roofline.log_kv is None
                  else cp.log_sum_exp(cp.hstack([roofline.log_weights + x, roofline.log_kv + roofline.kv_exp * x])))
        compute = (roofline.log_compute + x if roofline.log_attention is None else cp.log_sum_exp(
            cp.hstack([roofline.log_compute + x, roofline.log_attention + roofline.kv_exp * x])))
        constraints += [t >= compute, t >= memory]
        parts.append(cp.reshape(t, (1,), order="F"))
    z = cp.hstack(parts) if len(parts) > 1 else parts[0]
    objective = cp.sum(cp.exp(z)) if sum_objective else cp.log_sum_exp(z)
    loss, effective, data = None, None, y
    if data_cuts is not None:
        effective = data = cp.Variable(name="log_effective_tokens_scaled")
        constraints += [y >= h + slope * (effective - e) for h, slope, e in data_cuts]
        constraints.append(effective <= max_effective)
    if loss_rows is not None:
        u, p, v, q, *penalty = loss_rows
        rows = [u - cp.multiply(p, x), v - cp.multiply(q, data)]
        if penalty:  # the quantization penalty c D^gd N^-gn: a third monomial, log w - gn x + gd y
            w, gn, gd = penalty
            rows.append(w - cp.multiply(gn, x) + cp.multiply(gd, data))
        loss = (sum(cp.exp(r) for r in rows) <= 1 if exp_loss
                else cp.log_sum_exp(cp.vstack(rows), axis=0) <= 0)
        constraints.insert(0, loss)
    cap_constraints = tuple(_cap_row(x, y, *cap) <= 0 for cap in caps)
    problem = cp.Problem(cp.Minimize(objective), [*constraints, *cap_constraints])
    return LogProgram(problem, x, y, loss, cap_constraints, effective)


def _cap_row(x, y, i, j, c, extra=()):
    """The log of a cap's left side over its limit: linear for a monomial cap, log-sum-exp for a posynomial."""
    lead = i * x + j * y + c
    if not extra:
        return lead
    return cp.log_sum_exp(cp.hstack([lead, *[i_k * x + j_k * y + c_k for i_k, j_k, c_k in extra]]))


def solve_log_program(program: LogProgram, *, fallback: bool = False) -> str:
    """Solve with Clarabel at tight tolerances, or with SCS when `fallback`; returns the status ("solver error"
    when the solver raises).

    "Solution may be inaccurate" is not printed: the status travels into the caller's checks."""
    solver, options = (cp.SCS, FALLBACK_OPTIONS) if fallback else (cp.CLARABEL, SOLVER_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            program.problem.solve(solver=solver, **options)
        except cp.error.SolverError:
            return "solver error"
    return str(program.problem.status)
