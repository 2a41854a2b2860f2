"""Model -> optimum: the iso-loss curves (curve.py), THE exact 1-D kernel (exact.py), THE dispatcher
(regimes.py). The GP and its Newton polish (tco.solve.program, tco.solve.polish) are the independent check;
the GP is built and solved by tco.solve.gp, in the GP worker process (tco.solve.worker) when one runs.

The names below load on first use (PEP 562), so the GP worker, which imports `tco.solve.gp`, does not also
import the kernel, the model and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .curve import PlainCurve, RepeatedCurve
    from .exact import ExactSolution, cap_interval, solve_curve
    from .regimes import Regime, solve_model

_HOME = {"PlainCurve": ".curve", "RepeatedCurve": ".curve", "ExactSolution": ".exact", "cap_interval": ".exact",
         "solve_curve": ".exact", "Regime": ".regimes", "solve_model": ".regimes"}

__all__ = ["PlainCurve", "RepeatedCurve", "ExactSolution", "cap_interval", "solve_curve", "Regime",
           "solve_model"]


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
