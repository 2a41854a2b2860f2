"""The geometric program's plain data, shared by the process that builds it from a Model (`tco.solve.program`)
and the one that solves it (`tco.solve.gp`, in the GP worker or in-process): no cvxpy, no model, so either side
imports it for nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RooflineLegs", "SOLVED", "INFEASIBLE", "SOLVER_ERROR", "NOT_DPP"]

#: cvxpy's status names (`cvxpy.OPTIMAL`, ...; tests/test_gp.py checks they match), read without importing cvxpy
SOLVED = ("optimal", "optimal_inaccurate")
INFEASIBLE = ("infeasible", "infeasible_inaccurate")
#: what `tco.solve.gp.solve_log_program` returns when the solver raises
SOLVER_ERROR = "solver error"
#: what `tco.solve.gp.GeometricProgram.solve` returns when its program is not DPP (a cost-model bug)
NOT_DPP = "not a DPP program"


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
