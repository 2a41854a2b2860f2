"""Model -> optimum: the iso-loss curves (curve.py), THE exact 1-D kernel (exact.py), THE dispatcher
(regimes.py). The GP and its Newton polish (tco.solve.program, tco.solve.polish) are the independent check."""

from .curve import PlainCurve, RepeatedCurve
from .exact import ExactSolution, cap_interval, solve_curve
from .regimes import Regime, regimes, solve_model

__all__ = ["PlainCurve", "RepeatedCurve", "ExactSolution", "cap_interval", "solve_curve", "Regime", "regimes",
           "solve_model"]
