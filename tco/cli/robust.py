"""`tco robust`: the cheapest design under a share of sampled scaling laws.

Heavy imports (the solver, rich tables and progress bars) stay inside the functions so `tco --help` stays fast.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape

from ._common import console, fail, load, print_json, quantity

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["robust_command", "parse_stderr", "PROGRESS_AFTER_SECONDS"]

#: The progress bar appears once the solve loop has run this long (and stdout is a terminal, without --json).
PROGRESS_AFTER_SECONDS = 1.0


def parse_stderr(text: str) -> dict[str, float]:
    """'E=0.03,A=124.58' -> {'E': 0.03, 'A': 124.58}; TcoError naming the bad item otherwise."""
    out: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            fail(f"--stderr: expected NAME=VALUE items such as E=0.03,A=124.58, got {item!r}")
        if name.strip() in out:
            fail(f"--stderr: {name.strip()} is given twice")
        out[name.strip()] = quantity("--stderr", value.strip())
        if out[name.strip()] < 0:
            fail(f"--stderr: a standard error cannot be negative, got {item!r}")
    if not out:
        fail("--stderr: give at least one NAME=VALUE, e.g. E=0.03,A=124.58,B=1293.23,alpha=0.02,beta=0.02")
    return out


class _LazyProgress:
    """A rich progress bar that only appears when the solve loop turns out to be slow."""

    def __init__(self, console, enabled: bool):
        self.console, self.enabled, self.start = console, enabled, time.perf_counter()
        self.bar: Progress | None = None  # created once the solves take long enough to show it
        self.task: Any = None  # the bar's rich TaskID

    def __call__(self, done: int, most: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < PROGRESS_AFTER_SECONDS:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("re-solving after each discarded sample"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("solves", total=most)
        self.bar.update(self.task, completed=done, total=most)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def robust_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/ for examples).",
                                             show_default=False)],
    quantile: Annotated[float, typer.Option(
        help="Share of sampled laws under which the design must reach the loss target (0 < q <= 1).")] = 0.9,
    samples: Annotated[int, typer.Option(help="Sampled laws in the program (one loss constraint each).")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (the samples and the 100,000 validation laws).")] = 0,
    stderr: Annotated[Optional[str], typer.Option(
        help="Standard errors of the law constants, e.g. E=0.03,A=124.58,B=1293.23,alpha=0.02,beta=0.02. "
             "Default: the law's published ones, or its law file's bootstrap samples.",
        show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Run even when the projected time or memory exceeds the limits (README, "
                              "Limits).")] = False,
) -> None:
    """The cheapest (N, D) that reaches the loss target under a chosen share of sampled scaling laws.

    Samples the law's constants (published standard errors, --stderr, or a law file's bootstrap samples), puts
    one loss constraint per sample into the scenario's geometric program, discards the most demanding samples
    up to 1 - quantile, and validates the coverage on 100,000 fresh laws. Reports the robust design next to the
    nominal optimum and the cost premium of robustness.

    Example:  tco robust scenarios/sardana-cost-objective.yaml --quantile 0.9 --stderr E=0.01,A=40,B=400
    """
    from ..studies.robust import robust_design

    from ..studies.limits import check_count, check_projection, robust_projection

    check_count("--samples", samples)
    check_count("--seed", seed, minimum=0)
    if not 0 < quantile <= 1:
        fail(f"--quantile must be in (0, 1], got {quantile:g}")
    check_projection(robust_projection(f"--samples {samples:,} at --quantile {quantile:g}", samples, quantile),
                     allow_large=allow_large)
    errors = parse_stderr(stderr) if stderr is not None else None
    loaded = load(scenario)
    progress = _LazyProgress(console, enabled=not json_output and sys.stdout.isatty())
    try:
        result = robust_design(loaded, quantile=quantile, samples=samples, seed=seed, stderr=errors,
                               progress=progress, allow_large=allow_large)
    finally:
        progress.close()
    if json_output:
        print_json(result.to_dict(), allow_nan=False)
        return
    _print(result)


def _print(result) -> None:
    from rich.table import Table

    from ..units import format_count, format_usd

    table = Table(title=f"Robust design: {escape(result.scenario)} ({result.objective} objective, law "
                        f"{escape(result.law)}, "
                        f"loss {result.target_loss:.4f}, {result.quantile:.0%} of sampled laws)",
                  header_style="bold")
    for col in ("", "robust", "nominal optimum", "ratio"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)
    r, n = result.robust, result.nominal
    rows = (("N", r.params, n.params, format_count), ("D", r.tokens, n.tokens, format_count),
            ("D/N", r.tokens_per_param, n.tokens_per_param, lambda v: f"{v:,.1f}"),
            ("loss, nominal law", r.loss, n.loss, lambda v: f"{v:.4f}"),
            ("total cost", r.total_cost_usd, n.total_cost_usd, format_usd),
            ("total FLOPs", r.total_flops, n.total_flops, lambda v: f"{v:.3g}"),
            ("coverage", result.coverage, result.nominal_coverage, lambda v: f"{v:.1%}"))
    for label, robust, nominal, fmt in rows:
        table.add_row(label, fmt(robust), fmt(nominal), f"{robust / nominal:,.3g}x" if nominal else "-")
    console.print(table)
    premium = f"{result.premium:+,.1%}" + (" in $" if result.objective == "usd"
                                           else f" in FLOPs ({result.cost_premium:+,.1%} in $)")
    console.print(
        f"premium of robustness: {premium}\n"
        f"samples: {result.samples} from {escape(result.sample_source)} (seed {result.seed}); {result.unreachable} "
        f"unreachable, {result.dropped} discarded (budget {result.drop_budget}), {result.kept} kept; "
        f"{result.solves} solves, solver status {result.status}\n"
        f"coverage = share of {result.validation_samples:,} fresh sampled laws under which the design reaches "
        "the target", highlight=False)
    for note in result.warnings:
        console.print(f"warning: {escape(note)}", style="yellow", highlight=False)
