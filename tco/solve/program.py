"""The scenario's geometric program as plain numbers, solved by the GP worker process or in-process.

`gp_request` reads the Model's cost terms and caps into the program's shape (its exponents: the compiled
program's cache key) and values (every scenario number, in logs). The program itself is built and solved by
`tco.solve.gp` (the one builder, in log form), in the GP worker (`tco.solve.worker`, which the command line
starts at once, so cvxpy's ~1.5 s import runs beside the rest of the command) or, when no worker runs, here.
Either way the same code solves the same numbers, so the answer is the same to the bit (tests/test_gp_worker.py).

Variables are scaled to the equal-loss Chinchilla point (n = N / N0, d = D / D0) and the objective to its cost
there, so every number the solver sees is near 1 (raw N ~ 1e10, D ~ 1e12, FLOPs ~ 1e24 make conic solvers
stop "inaccurate"). The scales are folded into parameter values, so they never force a recompile. This module
does not import cvxpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InfeasibleError, SolverError
from . import worker
from .gp_data import INFEASIBLE, NOT_DPP, SOLVED, SOLVER_ERROR, RooflineLegs

if TYPE_CHECKING:
    from ..model.build import Model

__all__ = ["GPSolution", "solve_gp", "gp_request", "gp_terms", "scaled_objective", "scaled_caps",
           "ScaledObjective"]


@dataclass(frozen=True)
class GPSolution:
    params: float
    tokens: float
    objective_value: float
    loss_dual: float  # d log(objective*) / d log(loss-constraint right-hand side), >= 0
    cap_duals: tuple[float, ...]
    status: str
    solve_seconds: float


def solve_gp(model: "Model") -> GPSolution:
    """Solve `model`'s GP: in the GP worker when one runs, else with the cached program of its shape here."""
    shape, values, (n0, d0, f0) = gp_request(model)
    reply = worker.solve(shape, values)  # None: no worker runs, or it failed (then its error is ours to meet)
    if reply is None:
        from .gp import solve_request  # imported here: cvxpy is only needed once we solve in this process

        reply = solve_request(shape, values)
    status = reply["status"]
    if status == NOT_DPP:  # pragma: no cover - a cost-model bug
        raise SolverError("internal: the cost model is not a DPP geometric program")
    if status == SOLVER_ERROR:
        raise SolverError("the convex solver failed")
    if status in INFEASIBLE:
        raise InfeasibleError("the constraints leave no design that reaches the loss target")
    if status not in SOLVED or reply["x"] is None:
        raise SolverError(f"the convex solver stopped with status {status!r}")
    return GPSolution(
        params=float(np.exp(reply["x"])) * n0,  # np.exp, as ever: the same bits as before the worker existed
        tokens=float(np.exp(reply["y"])) * d0,
        objective_value=float(np.exp(reply["log_objective"])) * f0,
        loss_dual=reply["loss_dual"],
        cap_duals=tuple(reply["cap_duals"]),
        status=status,
        solve_seconds=reply["seconds"],
    )


def gp_request(model: "Model") -> tuple[tuple, dict, tuple[float, float, float]]:
    """(shape, values, scales (N0, D0, f0)) of `model`'s program: `tco.solve.gp.GeometricProgram(*shape)` solved
    at `values`, plain numbers that a worker process reads as they are."""
    monomials, roof = gp_terms(model)
    terms = tuple((t.n_exp, t.d_exp) for t in monomials)
    caps = tuple(cap_shape(c) for c in model.caps)
    roof_shape = (None if roof is None
                  else (roof.times.kv_exp, bool(roof.times.kv_s > 0), bool(roof.times.attention_s > 0)))
    # one scenario: the exponents are floats (the GP solves scalars; arrays go to the exact kernel)
    loss = model.loss
    penalty = (float(loss.gn), float(loss.gd)) if loss.penalized else None
    shape = (float(loss.p), float(loss.q), terms, caps, roof_shape, penalty)
    n0, d0 = loss.chinchilla_point()  # the scales: the equal-loss Chinchilla point
    objective = scaled_objective(model, n0, d0)
    legs = objective.roofline
    values = {
        "log_loss_a": float(np.log(loss.a * n0 ** (-loss.p))),
        "log_loss_b": float(np.log(loss.b * d0 ** (-loss.q))),
        "log_penalty": float(np.log(loss.c * d0**loss.gd * n0 ** (-loss.gn))) if penalty else None,
        "log_weights": tuple(float(w) for w in objective.log_w),
        # no KV read (or no attention FLOPs): that leg is not in the program, its Parameter a placeholder 0
        "roofline": None if legs is None else tuple(0.0 if v is None else float(v) for v in (
            legs.log_compute, legs.log_weights, legs.log_kv, legs.log_attention)),
        "caps": tuple((float(log_c), *[float(c_k) for *_, c_k in (extra[0] if extra else ())])
                      for _i, _j, log_c, *extra in scaled_caps(model, n0, d0)),
    }
    return shape, values, (float(n0), float(d0), float(objective.f0))


def gp_terms(model: "Model"):
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


def scaled_objective(model: "Model", n0: float, d0: float) -> ScaledObjective:
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


def scaled_caps(model: "Model", n0: float, d0: float) -> list[tuple]:
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


