"""The cvxpy geometric program, compiled once per problem shape and re-solved by updating parameters (DPP).

The program is built by `tco.solve.gp` (the one builder, in log form). Variables are scaled to the equal-loss
Chinchilla point (n = N / N0, d = D / D0) and the objective to its cost
there, so every number the solver sees is near 1 (raw N ~ 1e10, D ~ 1e12, FLOPs ~ 1e24 make conic solvers
stop "inaccurate"). The scales are folded into parameter values, so they never force a recompile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import cvxpy as cp
import numpy as np

from ..errors import InfeasibleError, SolverError
from ..model.build import Model
from .gp import SOLVER_OPTIONS, RooflineLegs, build_log_program, solve_log_program

__all__ = ["GeometricProgram", "GPSolution", "solve_gp", "gp_terms", "scaled_objective", "scaled_caps",
           "ScaledObjective", "SOLVER_OPTIONS"]

@dataclass(frozen=True)
class GPSolution:
    params: float
    tokens: float
    objective_value: float
    loss_dual: float  # d log(objective*) / d log(loss-constraint right-hand side), >= 0
    cap_duals: tuple[float, ...]
    status: str
    solve_seconds: float


class GeometricProgram:
    """minimize sum_k w_k n^i_k d^j_k [+ max(u n, v n + k n^e)]  s.t.  a n^-p + b d^-q [+ c d^gd n^-gn] <= 1,
    c_m n^i_m d^j_m <= 1,
    in the log form of `tco.solve.gp` with every input a Parameter (the bracket is a roofline decode term,
    `tco.model.costs.RooflineDecodeCost`)."""

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
        if roofline is not None:  # decode = max(compute, memory): log-log convex, so still a GP
            kv_exp, has_kv, has_attention = roofline
            self.roof = [cp.Parameter(name=f"log_roofline_{k}") for k in ("compute", "weights", "kv", "attention")]
            legs = RooflineLegs(self.roof[0], self.roof[1], self.roof[2] if has_kv else None, kv_exp,
                                self.roof[3] if has_attention else None)
        term_i = np.array([i for i, _ in term_exps], dtype=float)
        term_j = np.array([j for _, j in term_exps], dtype=float)
        self.program = build_log_program(
            self.log_w if self.log_w is not None else np.zeros(0), term_i, term_j, loss_rows=loss_rows,
            caps=[_cap_row(shape, logs) for shape, logs in zip(cap_exps, self.cap_logs)], roofline=legs)
        if not self.program.problem.is_dcp(dpp=True):  # type: ignore[call-arg]  # pragma: no cover - cvxpy hides dpp
            raise SolverError("internal: the cost model is not a DPP geometric program")

    def solve(self, model: Model) -> GPSolution:
        loss = model.loss
        n0, d0 = loss.chinchilla_point()  # the scales: the equal-loss Chinchilla point
        objective = scaled_objective(model, n0, d0)
        f0 = objective.f0
        if objective.roofline is not None:
            legs = objective.roofline
            for param, value in zip(self.roof, (legs.log_compute, legs.log_weights, legs.log_kv,
                                                legs.log_attention)):
                param.value = 0.0 if value is None else value  # no KV read (attention): not in the program
        self.u.value = float(np.log(loss.a * n0 ** (-loss.p)))
        self.v.value = float(np.log(loss.b * d0 ** (-loss.q)))
        if self.log_c is not None:
            self.log_c.value = float(np.log(loss.c * d0**loss.gd * n0 ** (-loss.gn)))
        if self.log_w is not None:
            self.log_w.value = objective.log_w
        for params, (_i, _j, log_c, *extra) in zip(self.cap_logs, scaled_caps(model, n0, d0)):
            for param, value in zip(params, (log_c, *[c_k for *_, c_k in (extra[0] if extra else ())])):
                param.value = value
        start = time.perf_counter()
        status = solve_log_program(self.program)
        elapsed = time.perf_counter() - start
        x, y = self.program.x.value, self.program.y.value
        if status == "solver error":
            raise SolverError("the convex solver failed")
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError("the constraints leave no design that reaches the loss target")
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or x is None or y is None:
            raise SolverError(f"the convex solver stopped with status {status!r}")
        assert self.program.loss is not None  # the scenario's program always has its loss row
        return GPSolution(
            params=float(np.exp(x)) * n0,
            tokens=float(np.exp(y)) * d0,
            objective_value=float(np.exp(self.program.problem.value)) * f0,
            loss_dual=float(np.squeeze(self.program.loss.dual_value)),
            cap_duals=tuple(float(np.squeeze(c.dual_value)) for c in self.program.caps),
            status=status,
            solve_seconds=elapsed,
        )


def gp_terms(model: Model):
    """(monomial terms with positive weight, the roofline decode term or None) as the GP takes them: a FLOPs
    objective counts decode as the monomial 2 N per token, a roofline with no demand costs nothing, and the
    roofline's step overhead (outside its max) is monomials."""
    monomials = list(model.active_terms)
    roof = model.roofline
    if roof is not None and (model.objective == "flops" or not roof.usd_per_second > 0):
        monomials += [t for t in roof.pieces("flops", "single") if t.weight(model.objective) > 0]
        roof = None
    if roof is not None:  # the step overhead lies outside the decode max: plain monomials of the objective
        monomials += [t for t in roof.overhead_pieces() if t.weight(model.objective) > 0]
    return monomials, roof


@dataclass(frozen=True)
class ScaledObjective:
    """The objective as every geometric program takes it, at the scales (n0, d0) and divided by its value
    there (f0), in logs: monomials log_w + i x + j y and the roofline decode legs, if any."""

    log_w: np.ndarray
    term_i: np.ndarray
    term_j: np.ndarray
    roofline: RooflineLegs | None
    f0: float


def scaled_objective(model: Model, n0: float, d0: float) -> ScaledObjective:
    """Each cost term's GP expression (its monomials, or the roofline's legs) at the scales: the one place
    both the scenario's program and the robust program read the terms."""
    monomials, roof = gp_terms(model)
    raw = np.array([t.weight(model.objective) * n0**t.n_exp * d0**t.d_exp for t in monomials], dtype=float)
    f0 = float(sum(raw.tolist()))  # left to right, as the terms are listed
    legs = None
    if roof is not None:
        leg_values = np.array(roof.gp_legs(n0))
        f0 += float(max(leg_values[0] + leg_values[3], leg_values[1] + leg_values[2]))
        compute, weights, kv, attention = (float(np.log(v / f0)) if v > 0 else None for v in leg_values)
        legs = RooflineLegs(compute, weights, kv, roof.times.kv_exp, attention)
    return ScaledObjective(np.log(raw / f0), np.array([t.n_exp for t in monomials], dtype=float),
                           np.array([t.d_exp for t in monomials], dtype=float), legs, f0)


def scaled_caps(model: Model, n0: float, d0: float) -> list[tuple]:
    """Each cap N^i D^j <= limit as the log-form row i x + j y + log(n0^i d0^j / limit) <= 0; a posynomial cap
    (`Cap.extra`) as (i, j, c, ((i_k, j_k, c_k), ...)) with c_k = log(w_k n0^i_k d0^j_k / limit)."""
    rows: list[tuple] = []
    for cap in model.caps:
        row: tuple = (cap.n_exp, cap.d_exp, float(np.log(n0**cap.n_exp * d0**cap.d_exp / cap.limit)))
        extra = getattr(cap, "extra", ())
        if extra:
            row += (tuple((i, j, float(np.log(w * n0**i * d0**j / cap.limit))) for i, j, w in extra),)
        rows.append(row)
    return rows


def cap_shape(cap) -> tuple:
    """A cap's exponents as the compiled program's shape: (i, j), or (i, j, ((i_k, j_k), ...)) when posynomial."""
    extra = getattr(cap, "extra", ())
    if not extra:
        return (cap.n_exp, cap.d_exp)
    return (cap.n_exp, cap.d_exp, tuple((float(i), float(j)) for i, j, _ in extra))


def _extra_exps(shape: tuple) -> tuple:
    return shape[2] if len(shape) > 2 else ()


def _cap_row(shape: tuple, logs: list) -> tuple:
    """The builder's cap row from a compiled cap shape and its Parameters."""
    i, j = shape[:2]
    extra = _extra_exps(shape)
    if not extra:
        return (i, j, logs[0])
    return (i, j, logs[0], tuple((i_k, j_k, c_k) for (i_k, j_k), c_k in zip(extra, logs[1:])))


@lru_cache(maxsize=64)
def _program(p: float, q: float, term_exps, cap_exps, roofline, penalty_exps=None) -> GeometricProgram:
    return GeometricProgram(p, q, term_exps, cap_exps, roofline, penalty_exps)


def solve_gp(model: Model) -> GPSolution:
    """Solve `model` with the cached program of its shape (compiled on first use, then parameter updates)."""
    monomials, roof = gp_terms(model)
    terms = tuple((t.n_exp, t.d_exp) for t in monomials)
    caps = tuple(cap_shape(c) for c in model.caps)
    shape = None if roof is None else (roof.times.kv_exp, bool(roof.times.kv_s > 0), bool(roof.times.attention_s > 0))
    # one scenario: the exponents are floats (the GP solves scalars; arrays go to the exact kernel)
    loss = model.loss
    penalty = (float(loss.gn), float(loss.gd)) if loss.penalized else None
    args = (float(loss.p), float(loss.q), terms, caps, shape) + ((penalty,) if penalty else ())  # one cache key
    return _program(*args).solve(model)  # per shape, whether or not the caller names the penalty's absence
