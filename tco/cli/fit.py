"""`tco fit`: fit a scaling law to your own training runs and write a law file that scenarios can load.

scipy, pandas and matplotlib are imported only when the command runs.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import TcoError
from ._common import console, err_console, print_json

__all__ = ["fit_command", "FitOptionError", "Method", "FitProgress", "progress_wanted"]


class FitOptionError(TcoError, ValueError):
    """A `tco fit` option has an impossible value."""


class Method(str, Enum):
    parametric = "parametric"
    isoflop = "isoflop"


def _budgets(text: str) -> list[float]:
    from ..units import parse_quantity

    items = [part.strip() for part in text.split(",")]
    if any(items) and not all(items):
        raise FitOptionError(f"--budgets: an empty value between commas in {text!r}; write e.g. 1e21,1e23,1e25")
    try:
        values = [parse_quantity(part) for part in items if part]
    except ValueError as exc:
        raise FitOptionError(f"--budgets: {exc}") from None
    if not values or any(v <= 0 for v in values):
        raise FitOptionError(f"--budgets: give positive FLOP budgets separated by commas, got {text!r}")
    if len(set(values)) < len(values):
        raise FitOptionError(f"--budgets: a budget is given twice in {text!r}")
    return values


def _check_options(starts: int, resamples: int, tolerance: float, seed: int = 0) -> None:
    if seed < 0:
        raise FitOptionError(f"--seed: must be at least 0, got {seed}")
    if starts < 1:
        raise FitOptionError(f"--starts: need at least 1 starting point, got {starts}")
    if resamples < 0:
        raise FitOptionError(f"--bootstrap: number of resamples must be >= 0 (0 disables it), got {resamples}")
    if not 0 < tolerance < 1:
        raise FitOptionError(f"--budget-tolerance: a fraction between 0 and 1 (0.1 = 10%), got {tolerance:g}")


def _law_name(name: str | None, out: Path) -> str:
    """--name as the law file will hold it (a name a scenario can load), or the output file's stem, made one
    visible line."""
    from ..text import NAME_MAX_CHARS, check_text, one_line

    if name is None:
        return one_line(out.stem, NAME_MAX_CHARS)
    try:
        return check_text(name, max_chars=NAME_MAX_CHARS)
    except ValueError as exc:
        raise FitOptionError(f"--name: {exc}") from None


def progress_wanted() -> bool:
    """A bar only where someone watches: stderr a terminal (a log file or a CI run gets none). stdout, even
    under --json, never carries it."""
    return sys.stderr.isatty()


class FitProgress:
    """A rich bar on stderr per phase of the fit (multi-start pass, polishing, bootstrap pass, refits): `tco fit`
    takes 15-38 s at the default --starts and --bootstrap, which is too long to sit silent."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "FitProgress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=err_console, transient=True)
            self.bar.start()
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def fit_command(
    csv: Annotated[Path, typer.Argument(help="CSV of training runs: one row per run, with parameters, tokens and "
                                             "final loss columns (other columns are ignored).", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(
        help="Law file to write (YAML). Default: laws/<csv name>.yaml.", show_default=False)] = None,
    method: Annotated[Method, typer.Option(
        help="parametric: Approach 3 (fit E, A, B, alpha, beta). isoflop: Approach 2 (compute-optimal "
             "allocation per FLOP budget), plus the parametric law so the file still loads.")] = Method.parametric,
    params_col: Annotated[str, typer.Option(help="Column with parameter counts N.")] = "params",
    tokens_col: Annotated[str, typer.Option(help="Column with training tokens D.")] = "tokens",
    loss_col: Annotated[str, typer.Option(help="Column with the final loss (nats/token).")] = "loss",
    name: Annotated[Optional[str], typer.Option(help="Law name. Default: the output file's stem.",
                                                show_default=False)] = None,
    starts: Annotated[int, typer.Option(
        help="Grid starting points for L-BFGS-B (4500 = Hoffmann et al.'s grid).")] = 4500,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples (0 disables).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for grid thinning and resampling: same seed, same fit.")] = 0,
    budgets: Annotated[str, typer.Option(
        help="FLOP budgets for the compute-optimal tokens per parameter, comma-separated.")] = "1e21,1e23,1e25",
    budget_tolerance: Annotated[float, typer.Option(
        help="isoflop: runs whose 6ND agree within this fraction share a budget.")] = 0.10,
    plot: Annotated[Optional[Path], typer.Option(
        help="Also write a PNG: observed vs fitted loss, iso-loss contours with the runs.", show_default=False)] = None,
    xlsx: Annotated[Optional[Path], typer.Option(
        help="Also write a workbook with a Fit sheet (constants, bootstrap, residuals).", show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Run even when the projected time exceeds the limits (README, Limits).")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="No progress bar (it is drawn on stderr, only when stderr is a terminal).")] = False,
) -> None:
    """Fit a scaling law L = E + A/N^alpha + B/D^beta to your own training runs; write a law file.

    Approach 3 of Hoffmann et al. as corrected by Besiroglu et al.: L-BFGS-B on the summed Huber loss (delta
    1e-3) of log-space residuals from a grid of starts; bootstrap standard errors and P10/P50/P90. Use the
    result in a scenario with `law: laws/our-law.yaml`.

    Example:  tco fit runs.csv --params-col Parameters --tokens-col Tokens --loss-col "Smoothed Loss"
    """
    from ..atomic import check_output_path
    from ..fit import fit_runs, json_document, read_runs, write_law_file

    _check_options(starts, bootstrap, budget_tolerance, seed)
    flops = _budgets(budgets)
    out = out or Path("laws") / f"{csv.stem}.yaml"
    for path in (out, plot, xlsx):  # a directory or a device fails now, not after the fit
        if path is not None:
            check_output_path(path, inputs=[csv])
    runs = read_runs(csv, params_col=params_col, tokens_col=tokens_col, loss_col=loss_col)
    from ..studies.limits import check_projection, fit_projection

    check_projection(fit_projection(f"--starts {starts:,} and --bootstrap {bootstrap:,}", starts, bootstrap,
                                    len(runs)), allow_large=allow_large)
    columns = {"params": params_col, "tokens": tokens_col, "loss": loss_col}
    with FitProgress(enabled=not quiet and progress_wanted()) as progress:
        result = fit_runs(runs, method=method.value, name=_law_name(name, out), starts=starts, resamples=bootstrap,
                          seed=seed, budgets=flops, budget_tolerance=budget_tolerance, columns=columns,
                          progress=progress if progress.enabled else None)
    written = {"law": str(write_law_file(result, out))}
    if plot is not None:
        from ..fit import write_plot

        written["plot"] = str(write_plot(result, plot))
    if xlsx is not None:
        from ..fit import write_workbook

        written["xlsx"] = str(write_workbook(result, xlsx))
    if json_output:
        print_json(json_document(result, written), allow_nan=False)
        return
    _print(result, written)


def _cell(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print(result, written: dict[str, str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..fit.output import label
    from ..text import one_line

    fit = result.parametric
    boot = result.bootstrap
    title = f"{result.name}: L = E + A/N^alpha + B/D^beta fitted to {len(result.runs)} runs of {result.runs.name}"
    table = Table(title=escape(title), header_style="bold")
    for col in ("quantity", "fitted", "bootstrap SE", "P10", "P50", "P90"):
        table.add_column(col, justify="left" if col == "quantity" else "right", no_wrap=True)
    for key, s in result.summary().items():
        table.add_row(label(key), _cell(s["value"]), _cell(s["stderr"]), _cell(s.get("p10")), _cell(s.get("p50")),
                      _cell(s.get("p90")))
    console.print(table)
    console.print(f"Objective (summed Huber, delta {fit.delta:g}): {fit.objective:.6g}; {fit.n_starts} starts, best "
                  f"{fit.n_polished} polished; {len(fit.optima)} distinct optima, {len(fit.near_best)} within 1% of "
                  f"the best. Bootstrap: {len(boot) if boot else 0} resamples (seed {result.seed}).", highlight=False)
    if result.isoflop is not None:
        _print_isoflop(console, result.isoflop)
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}", highlight=False)
    for kind, path in written.items():
        console.print(f"{kind} written to {escape(one_line(path))}", highlight=False)
    console.print(f"Use it in a scenario:  law: {escape(one_line(written['law']))}", style="dim", highlight=False)


def _print_isoflop(console, iso) -> None:
    from rich.table import Table

    from ..units import format_count

    table = Table(title=f"IsoFLOP (Approach 2): N_opt = {iso.k:.4g} C^{iso.a:.4f}, D_opt = {iso.k_prime:.4g} "
                        f"C^{iso.b:.4f}", header_style="bold")
    for col in ("budget FLOPs", "runs", "N_opt", "D_opt", "D/N", "loss at N_opt"):
        table.add_column(col, justify="right", no_wrap=True)
    for b in iso.budgets:
        table.add_row(f"{b['flops']:.3g}", str(b["n_runs"]), format_count(b["params_opt"]),
                      format_count(b["tokens_opt"]), f"{b['tokens_per_param']:.1f}", f"{b['loss_opt']:.4f}")
    console.print(table)
    console.print("The law: section of the file is the parametric fit of the same runs (see fit.note).", style="dim")
