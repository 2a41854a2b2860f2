"""`tco optimize`: the optimum of one scenario, next to the compute-optimal point at the same loss, and its workbook."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..text import one_line
from ._common import (SWEEP_HELP, console, default_report_path, err_console, load, prepare_report, print_json,
                      sweep_option)

__all__ = ["optimize_command", "Objective"]


class Objective(str, Enum):
    usd = "usd"
    flops = "flops"


def optimize_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/ for examples).",
                                             show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
    objective: Annotated[Optional[Objective], typer.Option(
        help="Override the scenario's objective: minimize lifetime $ (usd) or FLOPs (flops).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Workbook path. Default: reports/<scenario name>.xlsx.", show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the Excel workbook.")] = True,
    sweep: Annotated[str, typer.Option(help=SWEEP_HELP)] = "1e9..1e16:50",
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Build the workbook even when its sweep's projected time or memory exceeds the "
                              "limits (README, Limits).")] = False,
    plot: Annotated[Optional[Path], typer.Option(
        help="Also draw the cost along the iso-loss curve (optimum and compute-optimal point marked) and the "
             "breakdown by cost term: a .png or .svg file.", show_default=False)] = None,
) -> None:
    """Find the lifetime-cost-optimal model size N and training tokens D for a scenario.

    Prints the optimum next to the baseline, the law's compute-optimal design at the same loss and prices (the
    JSON's "chinchilla" key; not Chinchilla's own 70B/1.4T), the
    savings, the over-training factor, the shadow price of the loss target and which constraints bind, and
    writes an Excel workbook: inputs, costs as live formulas, a demand sweep with charts, hardware and law.

    Example:  tco optimize scenarios/chat-assistant-70b-quality.yaml --json > result.json
    """
    from .. import optimize as run_optimize
    from ..atomic import check_output_path
    from ..report.terminal import print_result

    sweep_range = sweep_option(sweep, allow_large=allow_large)
    loaded = load(scenario, note=json_output)  # the terminal lists the warnings
    path = out or default_report_path(loaded.name, ".xlsx")
    if report:
        check_output_path(path, inputs=loaded.input_files)  # a bad path fails now, not after the work
    if plot is not None:
        from ..report.plots import check_plot_path

        check_output_path(check_plot_path(plot), inputs=[*loaded.input_files, *([path] if report else [])])
    objective_name = objective.value if objective else None
    if report:
        entry = prepare_report(loaded, objective_name, sweep_range)
        result = entry.result
    else:
        result = run_optimize(loaded, objective=objective_name)
    written = None
    if report:  # the workbook first: stdout shows a result only once every output is written
        from ..report.excel import write_report

        written = write_report(entry, path)
    drawn = None
    if plot is not None:  # matplotlib only here: the plain optimize path never imports it
        from ..report.plots import optimize_figure, write_figure
        from ..studies.isoloss import iso_loss_curve

        drawn = write_figure(optimize_figure(result, iso_loss_curve(loaded, result)), plot)
    if json_output:
        print_json(result.to_dict(), allow_nan=False)
    else:
        print_result(result, console)
    for what, where in (("report", written), ("plot", drawn)):
        if where is not None:
            (err_console if json_output else console).print(f"{what} written to {escape(one_line(where))}",
                                                            highlight=False)
