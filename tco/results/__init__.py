"""The results phase: typed answers. `Result` (one solved scenario) with its designs (`DesignPoint`, figures and a
breakdown by cost term), the caps at the optimum and the cross-check against the exact solve.

Nothing here solves: the values are computed by the pipeline (`tco.optimize`, `tco.realism`, `tco.repeated`)."""

from .result import ConstraintReport, CrossCheck, DesignPoint, Result, Savings

__all__ = [
    "Result",
    "DesignPoint",
    "Savings",
    "ConstraintReport",
    "CrossCheck",
]
