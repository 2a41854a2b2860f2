"""`tco report`: one workbook comparing several scenarios side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..text import one_line
from ._common import SWEEP_HELP, console, load, prepare_report, sweep_option

__all__ = ["report_command"]


def report_command(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario files to compare (one also works).",
                                                    show_default=False)],
    out: Annotated[Path, typer.Option(help="Workbook path.")] = Path("reports/compare.xlsx"),
    sweep: Annotated[str, typer.Option(help=SWEEP_HELP)] = "1e9..1e16:50",
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Build the workbook even when its sweeps' projected time or memory exceeds the "
                              "limits (README, Limits).")] = False,
) -> None:
    """Write one workbook comparing several scenarios side by side (a Comparison sheet plus each one's sheets).

    Example:  tco report scenarios/sardana-cost-objective.yaml scenarios/capped-deadline-and-data.yaml
    """
    from ..atomic import check_output_path
    from ..report.excel import write_report
    from ..results import BASELINE_LABEL
    from ..units import format_count, format_usd

    sweep_range = sweep_option(sweep, workbooks=len(scenarios), allow_large=allow_large)
    loaded = [load(path, note=False) for path in scenarios]  # each result lists its warnings
    inputs: list[str | Path] = [*scenarios, *(f for s in loaded for f in s.input_files)]
    check_output_path(out, inputs=inputs)  # a directory or a device fails now, not after the solves
    entries = [prepare_report(s, None, sweep_range) for s in loaded]
    written = write_report(entries, out)  # the workbook first: stdout shows results only once it is written
    for entry in entries:
        r = entry.result
        # in the objective's unit: a FLOPs-objective scenario leads with FLOPs, not with dollars it did not minimize
        total, saved = ((f"{format_usd(r.optimal.total_cost_usd)}", f"{r.savings.fraction:.1%}") if r.objective == "usd"
                        else (f"{r.optimal.total_flops:.3e} FLOPs", f"{r.savings.flops_fraction:.1%} of FLOPs"))
        console.print(f"{escape(r.scenario)}: N = {format_count(r.optimal.params)}, "
                      f"D = {format_count(r.optimal.tokens)}, total {total}, saves {saved} vs {BASELINE_LABEL}",
                      highlight=False)
        for warning in r.warnings:
            console.print(f"  warning: {escape(one_line(warning))}", style="yellow", highlight=False)
    console.print(f"report written to {escape(one_line(written))}", highlight=False)
