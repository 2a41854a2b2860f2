"""What a workbook needs solved: the optimum and the demand sweep of one scenario. The exporters in
`tco.report` only read what this returns; they never solve."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..report.excel import ReportEntry

if TYPE_CHECKING:
    from pathlib import Path

    from ..scenario import Scenario

__all__ = ["prepare", "write_workbook"]


def prepare(scenario: "Scenario", *, objective: str | None = None, sweep_points: int = 50,
            sweep_low: float | None = None, sweep_high: float | None = None) -> ReportEntry:
    """Optimize `scenario` and sweep its demand: the inputs of `tco.report.excel.write_report`.

    Example:  entry = prepare(scenario); entry.result.optimal.params; write_report(entry, "reports/x.xlsx")"""
    from ..pipeline import optimize
    from .sweep import DEFAULT_SWEEP_TOKENS, demand_sweep_table

    from ..choice import chosen_scenario

    result = optimize(scenario, objective=objective)
    scenario = chosen_scenario(scenario, result)  # a choice of architectures: the workbook prices the winner
    # numpy columns, not a DataFrame: the optimize path never imports pandas
    sweep = demand_sweep_table(scenario, points=sweep_points, low=sweep_low or DEFAULT_SWEEP_TOKENS[0],
                               high=sweep_high or DEFAULT_SWEEP_TOKENS[1], objective=objective)
    return ReportEntry(scenario, result, sweep)


def write_workbook(scenario: "Scenario", path: "str | Path", *, objective: str | None = None,
                   sweep_points: int = 50) -> "Path":
    """Optimize `scenario` and write the workbook `tco optimize` writes (inputs, live-formula costs, the demand
    sweep with charts, hardware and law), atomically; returns the path.

    Example:  write_workbook(tco.load_scenario("scenarios/sardana-cost-objective.yaml"), "reports/sardana.xlsx")"""
    from ..report.excel import write_report

    return write_report(prepare(scenario, objective=objective, sweep_points=sweep_points), path)
