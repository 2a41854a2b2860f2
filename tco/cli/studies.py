"""`tco sweep`, `tco sensitivity`, `tco montecarlo`: thin commands over tco.studies."""

from __future__ import annotations

import itertools
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.text import Text

from ..text import one_line
from ._common import default_report_path, load, note_legacy_range, print_json

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
        help="PATH=LOW..HIGH:POINTS (log-spaced), PATH=LOW..HIGH:POINTS:lin (linear), PATH=VALUE or "
             "PATH=V1,V2,...; repeat for a full grid.",
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
    plot: Annotated[Optional[Path], typer.Option(
        help="Also draw optimal N and savings against the first --vary axis, one series per combination of the "
             "others: a .png or .svg file.", show_default=False)] = None,
    xlsx_rows: Annotated[int, typer.Option(
        "--xlsx-rows", help="Rows the workbook holds (the table keeps every row); at most 1,048,575.")] = 10_000,
) -> None:
    """Sweep any numeric fields over a full grid; every point is an exact re-optimization.

    Example:  tco sweep scenarios/chat-assistant-70b-quality.yaml --vary demand.requests=1e8..1e12:50
              --vary training.price_usd_per_hour=1..4:7:lin
    """
    import numpy as np

    from ..assemble import EXTRAPOLATION_TOKENS_PER_PARAM, extrapolation_note
    from ..atomic import atomic_write, check_output_path
    from ..errors import TcoError
    from ..studies.excel import EXCEL_MAX_ROWS, write_sweep_workbook
    from ..studies.grid import grid_size, iter_grid_sweep, parse_grid, vary_points
    from ..studies.limits import check_count
    from ..studies.tables import append_csv

    chunk = check_count("--chunk", chunk)
    xlsx_rows = check_count("--xlsx-rows", xlsx_rows, maximum=EXCEL_MAX_ROWS)
    points = math.prod(vary_points(spec)[1] for spec in vary)
    axes = parse_grid(vary, chunk=chunk, keep_for_workbook=report and points <= EXCEL_MAX_ROWS,
                      allow_large=allow_large)
    loaded = load(scenario)
    table = out or default_report_path(loaded.name, "-sweep.csv")
    check_output_path(table, inputs=loaded.input_files)  # a bad path fails now, not after the work
    if table.suffix not in (".csv", ".parquet"):
        raise TcoError(f"--out {table}: use a .csv or .parquet file name")
    workbook = xlsx or default_report_path(loaded.name, "-sweep.xlsx")
    if report:
        check_output_path(workbook, inputs=[table, *loaded.input_files])
    plotted: list = []  # with --plot: only the columns the figure reads, chunk by chunk
    if plot is not None:
        from ..report.plots import check_plot_path, sweep_rows

        check_output_path(check_plot_path(plot), inputs=[table, *([workbook] if report else []),
                                                         *loaded.input_files])
    for spec in vary:  # an old range spelling still reads, noted once the grid and every output are accepted
        note_legacy_range(f"--vary {spec.partition('=')[0].strip()}", spec.partition("=")[2])
    total, keep = grid_size(axes), []
    feasible, beyond = 0, []  # beyond: the feasible optima's tokens/param above the extrapolation limit

    chunks = iter_grid_sweep(loaded, axes, chunk=chunk, engine=engine.value, scheduler=scheduler,
                             progress=not json_output, allow_large=True)  # checked above, with the workbook
    # The first chunk before the table is opened: a bad override or an unreachable scheduler fails here, and
    # leaves no file or folder behind.
    chunks = itertools.chain([next(chunks)], chunks)

    def write_table(tmp: Path) -> None:
        nonlocal feasible
        writer = None
        for frame in chunks:
            feasible += int(frame["feasible"].sum())
            ratio = frame.loc[frame["feasible"], "optimal_tokens_per_param"].to_numpy()
            beyond.append(ratio[ratio > EXTRAPOLATION_TOKENS_PER_PARAM])
            if report and total <= EXCEL_MAX_ROWS:
                keep.append(frame)
            if plot is not None:
                plotted.append(sweep_rows(frame, axes))  # the drawn series only: memory stays small
            if table.suffix == ".csv":  # through polars: the same values, ~30x faster than to_csv
                writer = append_csv(writer, tmp, frame)
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
    extrapolation = extrapolation_note(np.concatenate(beyond), "feasible sweep optima", out_of=feasible)
    summary["warnings"] = [extrapolation] if extrapolation else []
    if plot is not None:
        import pandas as pd

        from ..report.plots import sweep_figure, write_figure

        summary["plot"] = str(write_figure(sweep_figure(pd.concat(plotted, ignore_index=True), axes, loaded.name),
                                           plot))
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
    for warning in summary["warnings"]:
        console.print(f"warning: {escape(warning)}", style="yellow")
    if feasible == 0:
        console.print("warning: no point of the grid has a design that reaches the loss target; "
                      "`tco optimize` on the scenario names the conflicting constraints", style="yellow")
    console.print(escape(one_line(f"table written to {table}" + (f", workbook to {summary['workbook']}"
                                                         if summary.get("workbook") else "")
                                  + (f", plot to {summary['plot']}" if "plot" in summary else ""))),
                  highlight=False)


def _parquet_append(writer, path: Path, frame):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from ..errors import TcoError

        raise TcoError("Parquet output needs pyarrow: pip install pyarrow") from None
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

    from ..atomic import check_output_path
    from ..errors import TcoError
    from ..units import format_count, format_usd
    import numpy as np

    from ..assemble import extrapolation_note
    from ..studies.excel import write_sensitivity_workbook
    from ..studies.sensitivity import sensitivity

    if not 0 < pct < 100:
        raise TcoError(f"--pct must be between 0 and 100, got {pct:g}")
    loaded = load(scenario)
    path = out or default_report_path(loaded.name, "-sensitivity.xlsx")
    if report:
        check_output_path(path, inputs=loaded.input_files)  # a bad path fails now, not after the work
    frame = sensitivity(loaded, fraction=pct / 100)
    written = write_sensitivity_workbook(frame, loaded, path) if report else None
    ratios = np.concatenate([[frame.attrs["base_tokens"] / frame.attrs["base_params"]],
                             frame["tokens_low"] / frame["params_low"], frame["tokens_high"] / frame["params_high"]])
    extrapolation = extrapolation_note(ratios, "designs of the tornado (the base optimum and each moved input's)")
    warnings = [extrapolation] if extrapolation else []
    if json_output:
        print_json({"scenario": loaded.name, "fraction": pct / 100,
                    **{k: v for k, v in frame.attrs.items() if k.startswith("base_")},
                    "inputs": frame.to_dict(orient="records"), "warnings": warnings})
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
    for warning in warnings:
        console.print(f"warning: {escape(warning)}", style="yellow")
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
    plot: Annotated[Optional[Path], typer.Option(
        help="Also draw the distributions of the optimal N and of the savings, median and P10/P90 marked: a "
             ".png or .svg file.", show_default=False)] = None,
) -> None:
    """Monte Carlo over the scenario's declared distributions: median and P10/P90 of the optimal design and savings.

    A heavy tail (mean above P90, so the mean drifts with the sample count) is flagged with the sampled inputs
    that drive it (rank correlation).

    Declare distributions in the scenario:
        uncertainty: {samples: 100000, seed: 0, inputs: {demand.requests: {loguniform: [1B, 20B]}}, law: published}
    """

    from ..atomic import check_output_path
    from ..studies.excel import write_montecarlo_workbook
    from ..studies.montecarlo import monte_carlo

    from ..studies.limits import MAX_SAMPLES, check_count

    if samples is not None:
        check_count("--samples", samples, maximum=MAX_SAMPLES)
    if seed is not None:
        check_count("--seed", seed, minimum=0)
    check_count("--chunk", chunk)
    loaded = load(scenario)
    path = out or default_report_path(loaded.name, "-montecarlo.xlsx")
    if report:
        check_output_path(path, inputs=loaded.input_files)  # a bad path fails now, not after the work
    if plot is not None:
        from ..report.plots import check_plot_path

        check_output_path(check_plot_path(plot), inputs=[*loaded.input_files, *([path] if report else [])])
    result = monte_carlo(loaded, samples=samples, seed=seed, keep_draws=report or plot is not None, chunk=chunk,
                         engine=engine.value, scheduler=scheduler, progress=not json_output,
                         allow_large=allow_large)
    written = write_montecarlo_workbook(result, loaded, path) if report else None
    drawn = None
    if plot is not None:
        from ..report.plots import montecarlo_figure, write_figure

        drawn = write_figure(montecarlo_figure(result, loaded.name), plot)
    if json_output:
        print_json({"scenario": loaded.name, **result.to_dict(), **({"plot": str(drawn)} if drawn else {})})
        return
    console = _console()
    console.print(_montecarlo_table(result, loaded.name))
    for name, value in result.probabilities.items():
        label = name.replace("_", " ").replace("chinchilla design", "compute-optimal design")
        console.print(f"P({label}) = {value:.1%}", highlight=False)
    for warning in result.warnings:
        console.print(f"warning: {escape(warning)}", style="yellow")
    for what, where in (("report", written), ("plot", drawn)):
        if where:
            console.print(f"{what} written to {escape(one_line(where))}", highlight=False)


def _montecarlo_table(result, name: str):
    """Median and P10/P90 first (they converge as samples grow), then the mean, marked where the tail is heavy
    (mean above P90: the mean drifts with the sample count), then any other quantile the scenario asks for."""
    from rich.table import Table

    from ..units import format_count, format_usd

    table = Table(title=f"{escape(name)}: {result.samples:,} samples (seed {result.seed})", header_style="bold")
    summary = {row["output"]: row for row in result.summary.to_dict(orient="records")}
    extra = [c for c in result.summary.columns if c.startswith("p") and c not in ("p10", "p50", "p90")]
    for column in ("output", "median", "P10", "P90", "mean", "tail", *(c.upper() for c in extra)):
        table.add_column(column, justify="left" if column in ("output", "tail") else "right")
    for stats in result.headline:
        out = stats.output
        fmt = ((lambda v: f"{v:.1%}") if "fraction" in out else format_usd if out.endswith("_usd") else
               format_count if out in ("optimal_params", "optimal_tokens") else (lambda v: f"{v:,.4g}"))
        table.add_row(_MC_LABELS.get(out, escape(out)), fmt(stats.median), fmt(stats.p10), fmt(stats.p90),
                      Text(fmt(stats.mean), style="yellow" if stats.heavy_tail else ""),
                      Text("heavy", style="yellow") if stats.heavy_tail else "", *(fmt(summary[out][c]) for c in extra))
    return table


#: Monte Carlo outputs in words (the JSON keeps the names).
_MC_LABELS = {"optimal_params": "optimal N", "optimal_tokens": "optimal D", "optimal_tokens_per_param": "optimal D/N",
              "optimal_total_cost_usd": "optimal total cost", "savings_total_cost_usd": "savings",
              "savings_fraction": "savings share", "nominal_design_cost_usd": "nominal optimum's cost",
              "chinchilla_design_cost_usd": "compute-optimal design's cost"}
