"""The cvxpy geometric program, compiled once per problem shape and re-solved by updating parameters (DPP).

Variables are scaled to the equal-loss Chinchilla point (n = N / N0, d = D / D0) and the objective to its cost
there, so every number the solver sees is near 1 (raw N ~ 1e10, D ~ 1e12, FLOPs ~ 1e24 make conic solvers
stop "inaccurate"). The scales are folded into parameter values, so they never force a recompile.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import lru_cache

import cvxpy as cp
import numpy as np

from ..errors import InfeasibleError, SolverError
from .compile import Model

__all__ = ["GeometricProgram", "GPSolution", "solve_gp", "gp_terms", "SOLVER_OPTIONS"]

#: Clarabel's defaults (gap 1e-8, feasibility 1e-8) leave ~1e-5 relative error in N; these give ~1e-10.
SOLVER_OPTIONS: dict[str, float | int] = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "tol_ktratio": 1e-9,
    "max_iter": 200,
}


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
    """minimize sum_k w_k n^i_k d^j_k [+ max(u n, v n + k n^e)]  s.t.  a n^-p + b d^-q <= 1,  c_m n^i_m d^j_m <= 1
    (all inputs Parameters; the bracket is a roofline decode term, `tco.model.costs.RooflineDecodeCost`)."""

    def __init__(self, p: float, q: float, term_exps: tuple[tuple[int, int], ...],
                 cap_exps: tuple[tuple[int, int], ...], roofline: tuple[float, bool] | None = None):
        self.n = cp.Variable(pos=True, name="params_scaled")
        self.d = cp.Variable(pos=True, name="tokens_scaled")
        self.loss_a = cp.Parameter(pos=True, name="loss_a")
        self.loss_b = cp.Parameter(pos=True, name="loss_b")
        self.weights = [cp.Parameter(pos=True, name=f"weight_{k}") for k in range(len(term_exps))]
        self.cap_coefs = [cp.Parameter(pos=True, name=f"cap_{m}") for m in range(len(cap_exps))]
        self.term_exps, self.cap_exps = term_exps, cap_exps
        parts = [w * self._monomial(i, j) for w, (i, j) in zip(self.weights, term_exps)]
        if roofline is not None:  # decode = max(compute, memory): log-log convex, so still a GP
            kv_exp, has_kv = roofline
            self.roof = [cp.Parameter(pos=True, name=f"roofline_{k}") for k in ("compute", "weights", "kv")]
            memory = self.roof[1] * self.n
            if has_kv:
                memory = memory + (self.roof[2] * self.n**kv_exp if kv_exp else self.roof[2])
            parts.append(cp.maximum(self.roof[0] * self.n, memory))
        objective = cp.sum(cp.hstack(parts))
        self.loss_constraint = self.loss_a * self.n ** (-p) + self.loss_b * self.d ** (-q) <= 1
        self.cap_constraints = [c * self._monomial(i, j) <= 1 for c, (i, j) in zip(self.cap_coefs, cap_exps)]
        self.problem = cp.Problem(cp.Minimize(objective), [self.loss_constraint, *self.cap_constraints])
        # cvxpy's @compute_once decorator types is_dgp as taking no arguments; it takes dpp.
        if not self.problem.is_dgp(dpp=True):  # type: ignore[call-arg]  # pragma: no cover - guards future terms
            raise SolverError("internal: the cost model is not a DPP geometric program")

    def _monomial(self, i: int, j: int):
        factors = [self.n**i if i != 1 else self.n] * (i != 0) + [self.d**j if j != 1 else self.d] * (j != 0)
        out = factors[0]
        for f in factors[1:]:
            out = out * f
        return out

    def solve(self, model: Model) -> GPSolution:
        loss = model.loss
        n0 = (loss.a * (loss.p + loss.q) / loss.q) ** (1 / loss.p)  # equal-loss Chinchilla point: the scales
        d0 = (loss.b * (loss.p + loss.q) / loss.p) ** (1 / loss.q)
        monomials, roof = gp_terms(model)
        raw = [t.weight(model.objective) * n0**t.n_exp * d0**t.d_exp for t in monomials]
        f0 = float(sum(raw))
        if roof is not None:
            times = roof.times
            roof_raw = [roof.usd_per_second * times.compute_s * n0, roof.usd_per_second * times.weights_s * n0,
                        roof.usd_per_second * times.kv_s * n0**times.kv_exp]
            f0 += max(roof_raw[0], roof_raw[1] + roof_raw[2])
            for param, value in zip(self.roof, roof_raw):
                param.value = value / f0
        self.loss_a.value = loss.a * n0 ** (-loss.p)
        self.loss_b.value = loss.b * d0 ** (-loss.q)
        for param, value in zip(self.weights, raw):
            param.value = value / f0
        for param, cap in zip(self.cap_coefs, model.caps):
            param.value = n0**cap.n_exp * d0**cap.d_exp / cap.limit
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # "Solution may be inaccurate" is handled here: the status travels into the cross-check and
                # the Newton polish, so cvxpy's own warning would only be noise on the user's terminal.
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(gp=True, solver=cp.CLARABEL, **SOLVER_OPTIONS)
        except cp.error.SolverError as exc:
            raise SolverError(f"the convex solver failed: {exc}") from None
        elapsed = time.perf_counter() - start
        status = self.problem.status
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError("the constraints leave no design that reaches the loss target")
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or self.n.value is None or self.d.value is None:
            raise SolverError(f"the convex solver stopped with status {status!r}")
        return GPSolution(
            params=float(self.n.value) * n0,
            tokens=float(self.d.value) * d0,
            objective_value=float(self.problem.value) * f0,
            loss_dual=float(np.squeeze(self.loss_constraint.dual_value)),
            cap_duals=tuple(float(np.squeeze(c.dual_value)) for c in self.cap_constraints),
            status=status,
            solve_seconds=elapsed,
        )


def gp_terms(model: Model):
    """(monomial terms with positive weight, the roofline decode term or None) as the GP takes them: a FLOPs
    objective counts decode as the monomial 2 N per token, and a roofline with no demand costs nothing."""
    monomials = list(model.active_terms)
    roof = model.roofline
    if roof is not None and (model.objective == "flops" or not roof.usd_per_second > 0):
        monomials += [t for t in roof.pieces("flops", "single") if t.weight(model.objective) > 0]
        roof = None
    return monomials, roof


@lru_cache(maxsize=64)
def _program(p: float, q: float, term_exps, cap_exps, roofline) -> GeometricProgram:
    return GeometricProgram(p, q, term_exps, cap_exps, roofline)


def solve_gp(model: Model) -> GPSolution:
    """Solve `model` with the cached program of its shape (compiled on first use, then parameter updates)."""
    monomials, roof = gp_terms(model)
    terms = tuple((t.n_exp, t.d_exp) for t in monomials)
    caps = tuple((c.n_exp, c.d_exp) for c in model.caps)
    shape = None if roof is None else (roof.times.kv_exp, bool(roof.times.kv_s > 0))
    return _program(model.loss.p, model.loss.q, terms, caps, shape).solve(model)
