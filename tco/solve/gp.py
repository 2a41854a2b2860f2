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

import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cvxpy as cp
import numpy as np

from .gp_data import NOT_DPP, SOLVER_ERROR, RooflineLegs

__all__ = ["LogProgram", "RooflineLegs", "build_log_program", "solve_log_program", "SOLVER_OPTIONS",
           "FALLBACK_OPTIONS", "GeometricProgram", "compiled_program", "solve_request"]

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
            return SOLVER_ERROR
    return str(program.problem.status)


class GeometricProgram:
    """minimize sum_k w_k n^i_k d^j_k [+ max(u n, v n + k n^e)]  s.t.  a n^-p + b d^-q [+ c d^gd n^-gn] <= 1,
    c_m n^i_m d^j_m <= 1,
    in the log form above with every number a Parameter, so one compiled program serves every scenario of its
    shape (the bracket is a roofline decode term, `tco.model.costs.RooflineDecodeCost`). Plain numbers in and
    out (`tco.solve.program` builds them from a Model): the GP worker process solves it without the rest of tco.
    """

    def __init__(self, p: float, q: float, term_exps: tuple[tuple[float, float], ...],
                 cap_exps: tuple[tuple, ...], roofline: tuple[float, bool, bool] | None = None,
                 penalty_exps: tuple[float, float] | None = None):
        # the quantization penalty's monomial c D^gd N^-gn: its exponents fix the shape, its log weight a Parameter
        self.log_c = cp.Parameter(name="log_loss_penalty") if penalty_exps is not None else None
        loss_rows: tuple = (cp.Parameter(name="log_loss_a"), p, cp.Parameter(name="log_loss_b"), q)
        self.u, self.v = loss_rows[0], loss_rows[2]
        if penalty_exps is not None:
            loss_rows += (self.log_c, *penalty_exps)
        self.log_w = cp.Parameter(len(term_exps), name="log_weights") if term_exps else None
        # a cap's shape is (i, j) or, for a posynomial cap, (i, j, ((i_k, j_k), ...)): one Parameter per monomial
        self.cap_logs = [[cp.Parameter(name=f"log_cap_{m}_{k}") for k in range(1 + len(_extra_exps(shape)))]
                         for m, shape in enumerate(cap_exps)]
        legs = None
        self.roof: list = []
        if roofline is not None:  # decode = max(compute, memory): log-log convex, so still a GP
            kv_exp, has_kv, has_attention = roofline
            self.roof = [cp.Parameter(name=f"log_roofline_{k}") for k in ("compute", "weights", "kv", "attention")]
            legs = RooflineLegs(self.roof[0], self.roof[1], self.roof[2] if has_kv else None, kv_exp,
                                self.roof[3] if has_attention else None)
        term_i = np.array([i for i, _ in term_exps], dtype=float)
        term_j = np.array([j for _, j in term_exps], dtype=float)
        self.program = build_log_program(
            self.log_w if self.log_w is not None else np.zeros(0), term_i, term_j, loss_rows=loss_rows,
            caps=[_shaped_cap_row(shape, logs) for shape, logs in zip(cap_exps, self.cap_logs)], roofline=legs)
        self.dpp = bool(self.program.problem.is_dcp(dpp=True))  # type: ignore[call-arg]  # cvxpy hides dpp

    def solve(self, values: dict) -> dict:
        """Solve at `values` (`tco.solve.program.gp_request`: log_loss_a, log_loss_b, log_penalty, log_weights,
        roofline, caps); returns status, x = log(N / N0), y = log(D / D0), the log objective, the loss row's and
        each cap's dual and the solve's seconds, as plain numbers (None where the solver gave none)."""
        if not self.dpp:  # pragma: no cover - a cost-model bug: re-solving would recompile every time
            return {"status": NOT_DPP, "seconds": 0.0, "x": None, "y": None, "log_objective": None,
                    "loss_dual": None, "cap_duals": ()}
        for param, value in zip(self.roof, values["roofline"] or ()):
            param.value = value
        self.u.value, self.v.value = values["log_loss_a"], values["log_loss_b"]
        if self.log_c is not None:
            self.log_c.value = values["log_penalty"]
        if self.log_w is not None:
            self.log_w.value = np.asarray(values["log_weights"], dtype=float)
        for params, logs in zip(self.cap_logs, values["caps"]):
            for param, value in zip(params, logs):
                param.value = value
        start = time.perf_counter()
        status = solve_log_program(self.program)
        elapsed = time.perf_counter() - start
        program = self.program
        x, y = program.x.value, program.y.value
        solved = x is not None and y is not None
        loss_dual = program.loss.dual_value if program.loss is not None else None
        return {
            "status": status, "seconds": elapsed,
            "x": float(x) if x is not None and y is not None else None,
            "y": float(y) if x is not None and y is not None else None,
            "log_objective": float(program.problem.value) if solved else None,
            "loss_dual": None if loss_dual is None else float(np.squeeze(loss_dual)),
            "cap_duals": tuple(None if c.dual_value is None else float(np.squeeze(c.dual_value))
                               for c in program.caps),
        }


@lru_cache(maxsize=64)
def compiled_program(shape: tuple) -> GeometricProgram:
    """The program of `shape` = (p, q, term exponents, cap shapes, roofline shape, penalty exponents), compiled
    on first use; later scenarios of the shape are parameter updates (DPP)."""
    return GeometricProgram(*shape)


def solve_request(shape: tuple, values: dict) -> dict:
    """One solve of the cached program of `shape` at `values`: what the GP worker answers per request."""
    return compiled_program(shape).solve(values)


def _extra_exps(shape: tuple) -> tuple:
    return shape[2] if len(shape) > 2 else ()


def _shaped_cap_row(shape: tuple, logs: list) -> tuple:
    """The builder's cap row from a compiled cap shape and its Parameters."""
    i, j = shape[:2]
    extra = _extra_exps(shape)
    if not extra:
        return (i, j, logs[0])
    return (i, j, logs[0], tuple((i_k, j_k, c_k) for (i_k, j_k), c_k in zip(extra, logs[1:])))
