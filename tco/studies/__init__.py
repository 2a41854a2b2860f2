"""Studies: many solves of one scenario (arrays of overrides, demand sweeps, grids, sensitivity, Monte Carlo,
break-even, robust design), the solves a workbook needs (`prepare`) and the cost along the iso-loss curve. Each
lives in its own module (`tco.studies.sweep`, `tco.studies.montecarlo`, ...); this package imports none of them
until one of its names is used, so `tco --help` and the plain optimize path stay light.

    import tco
    from tco.studies import demand_sweep, grid_sweep, parse_vary, sensitivity, monte_carlo, write_workbook

    scenario = tco.load_scenario("scenarios/sardana-cost-objective.yaml")
    demand_sweep(scenario, points=20)                                    # DataFrame, one row per demand
    grid_sweep(scenario, dict([parse_vary("training.price_usd_per_hour=1..4:4:lin")]))
    sensitivity(scenario, fraction=0.2)                                  # tornado table, ranked
    monte_carlo(tco.load_scenario("scenarios/uncertain-demand-and-law.yaml"), samples=1000, progress=False)
    write_workbook(scenario, "reports/sardana.xlsx")                     # the workbook of `tco optimize`

The README's "Python API" section runs these (its snippets are executed by the tests).
"""

from __future__ import annotations

import importlib
from typing import Any

# Two functions share their module's name: importing the module (as anything that uses it does) would set the
# package attribute to the module, hiding the function from `tco.studies.sensitivity(...)`. Bound here once
# (numpy and the array solver only: nothing heavy), the attribute stays the function.
from .breakeven import breakeven
from .sensitivity import sensitivity

#: public name -> the module of this package that defines it (imported on first use)
_HOMES = {
    "prepare": "workbook", "write_workbook": "workbook",
    "demand_sweep": "sweep",
    "parse_vary": "grid", "grid_sweep": "grid", "iter_grid_sweep": "grid",
    "solve_frame": "arrays", "iter_solve_frame": "stream",
    "monte_carlo": "montecarlo", "MonteCarloResult": "montecarlo",
    "robust_design": "robust", "RobustResult": "robust",
    "Breakeven": "breakeven", "implied_demand": "breakeven",
    "iso_loss_curve": "isoloss", "IsoLossCurve": "isoloss",
    "write_sweep_workbook": "excel", "write_sensitivity_workbook": "excel", "write_montecarlo_workbook": "excel",
}

__all__ = ["breakeven", "sensitivity", "prepare", "write_workbook", "demand_sweep", "parse_vary", "grid_sweep",
           "iter_grid_sweep", "solve_frame", "iter_solve_frame", "monte_carlo", "MonteCarloResult", "robust_design",
           "RobustResult",
           "Breakeven", "implied_demand", "iso_loss_curve", "IsoLossCurve", "write_sweep_workbook",
           "write_sensitivity_workbook", "write_montecarlo_workbook"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tco.studies' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
