"""`tco sweep`, `tco sensitivity`, `tco montecarlo`: thin commands over tco.studies."""

from __future__ import annotations

import itertools
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from ..text import one_line
from ._common import default_report_path, print_json

__all__ = ["sweep_command", "sensitivity_command", "montecarlo_command", "Engine"]


class Engine(str, Enum):
    local = "local"
    dask = "dask"


_ENGINE = typer.Option(help="local, or dask (needs pip install 'tco[dask]'): chunks run on a Dask cluster.")
_SCHEDULER = typer.Option(help="Dask scheduler address; default: a LocalCluster on this machine.")
_CHUNK = typer.Option(help="Scenarios per chunk (memory use grows with it).")
_ALLOW_LARGE = typer.Option("--allow-large", help="Run even when the projected memory, disk or time exceeds the "
                                                  "limits (README, Limits).")


def _console():
    """A console of its own for each command (not the shared one, whose width the tests widen)."""
    from rich.console import Console

    return Console()


def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    vary: Annotated[list[str], typer.Option(
        help="PATH=LOW:HIGH:log:POINTS, PATH=LOW:HIGH:lin:POINTS or PATH=V1,V2,...; repeat for a full grid.",
        show_default=False)],
    out: Annotated[Optional[Path], typer.Option(
        help="Table path: .csv (default reports/<name>-sweep.csv) or .parquet.", show_default=False)] = None,
    xlsx: Annotated[Optional[Path], typer.Option(
        help="Workbook path (default reports/<name>-sweep.xlsx); skipped beyond Excel's row limit.",
        show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the workbook.")] = True,
    engine: Annotated[Engine, _ENGINE] = Engine.local,
    scheduler: Annotated[Optional[str], _SCHEDULER] = None,
    chunk: Annotated[int, _CHUNK] = 1_000_000,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    allow_large: Annotated[bool, _ALLOW_LARGE] = False,
    xlsx_rows: Annotated[int, typer.Option(
        "--xlsx-rows", help="Rows the workbook holds (the table keeps every row); at most 1,048,575.")] = 10_000,
) -> None:
    """Sweep any numeric fields over a full grid; every point is an exact re-optimization.

    Example:  tco sweep scenarios/chat-assistant-70b-quality.yaml --vary demand.requests=1e8:1e12:log:50
              --vary training.price_usd_per_hour=1:4:lin:7
    """
    import numpy as np

    from .. import load_scenario
    from ..atomic import atomic_write, check_output_path
    from ..errors import TcoError
    from ..studies.excel import EXCEL_MAX_ROWS, write_sweep_workbook
    from ..studies.grid import grid_size, iter_grid_sweep, parse_grid, vary_points
    from ..studies.limits import check_count

    chunk = check_count("--chunk", chunk)
    xlsx_rows = check_count("--xlsx-rows", xlsx_rows, maximum=EXCEL_MAX_ROWS)
    points = math.prod(vary_points(spec)[1] for spec in vary)
    axes = parse_grid(vary, chunk=chunk, keep_for_workbook=report and points <= EXCEL_MAX_ROWS,
                      allow_large=allow_large)
    loaded = load_scenario(scenario)
    table = out or default_report_path(loaded.name, "-sweep.csv")
    check_output_path(table, inputs=loaded.input_files)  # a bad path fails now, not after the work
    if table.suffix not in (".csv", ".parquet"):
        raise TcoError(f"--out {table}: use a .csv or .parquet file name")
    workbook = xlsx or default_report_path(loaded.name, "-sweep.xlsx")
    if report:
        check_output_path(workbook, inputs=[table, *loaded.input_files])
    total, keep = grid_size(axes), []
    feasible = 0
    chunks = iter_grid_sweep(loaded, axes, chunk=chunk, engine=engine.value, scheduler=scheduler,
                             progress=not json_output, allow_large=True)  # checked above, with the workbook
    # The first chunk before the table is opened: a bad override or an unreachable scheduler fails here, and
    # leaves no file or folder behind.
    chunks = itertools.chain([next(chunks)], chunks)

    def write_table(tmp: Path) -> None:
        nonlocal feasible
        writer = None
        for index, frame in enumerate(chunks):
            feasible += int(frame["feasible"].sum())
            if report and total <= EXCEL_MAX_ROWS:
                keep.append(frame)
            if table.suffix == ".csv":
                frame.to_csv(tmp, mode="w" if index == 0 else "a", header=index == 0, index=False)
            else:
                writer = _parquet_append(writer, tmp, frame)
        if writer is not None:
            writer.close()

    atomic_write(table, write_table)
    summary: dict[str, Any] = {"scenario": loaded.name, "points": total, "feasible": feasible, "table": str(table)}
    if report and keep:
        import pandas as pd

        frame = pd.concat(keep, ignore_index=True)
        summary["workbook"] = str(write_sweep_workbook(frame, axes, loaded, workbook, max_rows=xlsx_rows, table=table))
        if len(frame) > xlsx_rows:
            summary["workbook_rows"] = xlsx_rows
            typer.echo(f"note: the workbook holds the first {xlsx_rows:,} of {len(frame):,} rows; the full table is "
                       f"in {table} (ask for more with --xlsx-rows N)", err=True)
        ok = frame[frame["feasible"]]
        if len(ok):
            summary["optimal_params_range"] = [float(ok["optimal_params"].min()), float(ok["optimal_params"].max())]
            summary["savings_fraction_range"] = [float(ok["savings_fraction"].min()),
                                                 float(ok["savings_fraction"].max())]
    elif report:
        summary["workbook"] = None
        summary["note"] = f"{total:,} rows exceed Excel's limit; the table is in {table}"
    if json_output:
        print_json(summary)
        return
    console = _console()
    over = ", ".join(f"{escape(p)} ({len(v)} values, {np.min(v):.3g}..{np.max(v):.3g})" for p, v in axes.items())
    console.print(f"{escape(loaded.name)}: {total:,} scenarios ({feasible:,} feasible) over {over}",
                  highlight=False)
    for key in ("optimal_params_range", "savings_fraction_range"):
        if key in summary:
            lo, hi = summary[key]
            fmt = "{:.3g}" if key.startswith("optimal") else "{:.1%}"
            console.print(f"  {key.replace('_', ' ')}: {fmt.format(lo)} .. {fmt.format(hi)}", highlight=False)
    if feasible == 0:
        console.print("warning: no point of the grid has a design that reaches the loss target; "
                      "`tco optimize` on the scenario names the conflicting constraints", style="yellow")
    console.print(escape(one_line(f"table written to {table}" + (f", workbook to {summary['workbook']}"
                                                         if summary.get("workbook") else ""))), highlight=False)


def _parquet_append(writer, path: Path, frame):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from ..errors import TcoError

        raise TcoError("Parquet output needs pyarrow: pip install 'tco[dask]' or pip install pyarrow") from None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
    return writer


def sensitivity_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    pct: Annotated[float, typer.Option(help="Move each input by +- this many percent.")] = 20.0,
    out: Annotated[Optional[Path], typer.Option(
        help="Workbook path (default reports/<name>-sensitivity.xlsx).", show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the workbook.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the ranked table as JSON.")] = False,
) -> None:
    """Tornado: each input moved by +-X% (default 20%), ranked by the change in the optimal total cost.

    The loss target moves its reducible part (target - E); MFUs are capped at 100%.
    """
    from rich.table import Table

    from .. import load_scenario
    from ..atomic import check_output_path
    from ..errors import TcoError
    from ..units import format_count, format_usd
    from ..studies.excel import write_sensitivity_workbook
    from ..studies.sensitivity import sensitivity

    if not 0 < pct < 100:
        raise TcoError(f"--pct must be between 0 and 100, got {pct:g}")
    loaded = load_scenario(scenario)
    path = out or default_report_path(loaded.name, "-sensitivity.xlsx")
    if report:
        check_output_path(path, inputs=loaded.input_files)  # a bad path fails now, not after the work
    frame = sensitivity(loaded, fraction=pct / 100)
    written = write_sensitivity_workbook(frame, loaded, path) if report else None
    if json_output:
        print_json({"scenario": loaded.name, "fraction": pct / 100,
                    **{k: v for k, v in frame.attrs.items() if k.startswith("base_")},
                    "inputs": frame.to_dict(orient="records")})
        return
    table = Table(title=f"{escape(loaded.name)}: optimal total cost {format_usd(frame.attrs['base_total_cost_usd'])}, "
                        f"inputs moved +-{pct:g}%", header_style="bold")
    for column in ("input", "value", "cost at -", "cost at +", "N at -", "N at +"):
        table.add_column(column, justify="left" if column == "input" else "right")
    for row in frame.itertuples():
        table.add_row(escape(row.input), f"{row.base_value:.4g}", f"{row.cost_change_low:+.1%}",
                      f"{row.cost_change_high:+.1%}", format_count(row.params_low), format_count(row.params_high))
    console = _console()
    console.print(table)
    if written:
        console.print(f"report written to {escape(one_line(written))}", highlight=False)


def montecarlo_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with an `uncertainty:` section.",
                                             show_default=False)],
    samples: Annotated[Optional[int], typer.Option(help="Samples (default: the scenario's, else 100,000).",
                                                   show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (default: the scenario's).",
                                                show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Workbook path (default reports/<name>-montecarlo.xlsx).", show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the workbook.")] = True,
    engine: Annotated[Engine, _ENGINE] = Engine.local,
    scheduler: Annotated[Optional[str], _SCHEDULER] = None,
    chunk: Annotated[int, _CHUNK] = 1_000_000,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allow_large: Annotated[bool, _ALLOW_LARGE] = False,
) -> None:
    """Monte Carlo over the scenario's declared distributions: P10/P50/P90 of the optimal design and savings.

    Declare distributions in the scenario:
        uncertainty: {samples: 100000, seed: 0, inputs: {demand.requests: {loguniform: [1B, 20B]}}, law: published}
    """
    from rich.table import Table

    from .. import load_scenario
    from ..atomic import check_output_path
    from ..studies.excel import write_montecarlo_workbook
    from ..studies.montecarlo import monte_carlo

    from ..studies.limits import MAX_SAMPLES, check_count

    if samples is not None:
        check_count("--samples", samples, maximum=MAX_SAMPLES)
    if seed is not None:
        check_count("--seed", seed, minimum=0)
    check_count("--chunk", chunk)
    loaded = load_scenario(scenario)
    path = out or default_report_path(loaded.name, "-montecarlo.xlsx")
    if report:
        check_output_path(path, inputs=loaded.input_files)  # a bad path fails now, not after the work
    result = monte_carlo(loaded, samples=samples, seed=seed, keep_draws=report, chunk=chunk,
                         engine=engine.value, scheduler=scheduler, progress=not json_output,
                         allow_large=allow_large)
    written = write_montecarlo_workbook(result, loaded, path) if report else None
    if json_output:
        print_json({"scenario": loaded.name, **result.to_dict()})
        return
    table = Table(title=f"{escape(loaded.name)}: {result.samples:,} samples (seed {result.seed})", header_style="bold")
    quantile_columns = [c for c in result.summary.columns if c.startswith("p")]
    for column in ("output", "mean", *quantile_columns):
        table.add_column(column.upper() if column.startswith("p") else column,
                         justify="left" if column == "output" else "right")
    for row in result.summary.to_dict(orient="records"):
        fmt = (lambda v: f"{v:.1%}") if "fraction" in row["output"] else (lambda v: f"{v:.4g}")
        table.add_row(escape(row["output"]), *(fmt(row[c]) for c in ("mean", *quantile_columns)))
    console = _console()
    console.print(table)
    for name, value in result.probabilities.items():
        console.print(f"P({name.replace('_', ' ')}) = {value:.1%}", highlight=False)
    for warning in result.warnings:
        console.print(f"warning: {escape(warning)}", style="yellow")
    if written:
        console.print(f"report written to {escape(one_line(written))}", highlight=False)
