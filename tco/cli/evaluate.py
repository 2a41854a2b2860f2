"""`tco evaluate`: a proposed design (N, D) priced exactly like the optimum, with its training time and serving."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..units import format_count
from ._common import PARAMS, TOKENS, console, load, print_json, quantity

__all__ = ["evaluate_command"]


def evaluate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/ for examples).",
                                             show_default=False)],
    params: Annotated[str, typer.Option(help="Parameters N of the design, e.g. 30B or 3e10.",
                                        show_default=False)] = ...,  # type: ignore[assignment]  # typer: required
    tokens: Annotated[str, typer.Option(help="Training tokens D of the design, e.g. 3T or 3e12.",
                                        show_default=False)] = ...,  # type: ignore[assignment]  # typer: required
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
) -> None:
    """Price a design you already have in mind (N parameters trained on D tokens) the way the optimum is priced.

    Prints the design's loss against the target, its training and inference costs next to the optimum's, how
    much more it costs (excess), the caps it breaks, its training GPU-hours (and days on the deadline's cluster),
    and how it serves on one replica of serving.devices_per_replica devices at serving.batch_size: time per
    output token (one decode step at the average context), time to first token (one prompt of
    prompt_tokens_per_request on an idle replica), tokens per second per device, memory per replica and what
    bounds the step. With serving.roofline the step includes the calibrated per-layer overhead and
    tensor-parallel all-reduces (README, "Serving step model").

    JSON keys: design and optimal (the fields of `tco optimize --json`'s optimal), excess_cost_usd, training,
    serving, meets_target, violated_constraints, notes.

    Example:  tco evaluate scenarios/roofline-long-context-assistant.yaml --params 30B --tokens 3T
    """
    from .. import evaluate

    n, d = quantity("--params", params, PARAMS), quantity("--tokens", tokens, TOKENS)
    result = evaluate(load(scenario, note=json_output), params=n, tokens=d)
    if json_output:
        print_json(result.to_dict(), allow_nan=False)
        return
    _print(result)


def _print(result) -> None:
    design, optimal = result.design, result.optimal
    table = Table(title=f"{escape(result.scenario)}: the design next to the optimum", header_style="bold")
    for col in ("", "design", "optimal"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("Parameters N", format_count(design.params), format_count(optimal.params))
    table.add_row("Training tokens D", format_count(design.tokens), format_count(optimal.tokens))
    table.add_row("Loss", f"{design.loss:.5f}", f"{optimal.loss:.5f}")
    for key, label in (("training_cost_usd", "Training cost"), ("inference_cost_usd", "Inference cost"),
                       ("total_cost_usd", "Total cost")):
        table.add_row(label, f"${getattr(design, key):,.0f}", f"${getattr(optimal, key):,.0f}")
    console.print(table)
    verdict = "meets" if result.meets_target else "misses"
    more = "more" if result.excess_cost_usd >= 0 else "less"  # a design that misses the target can cost less
    console.print(f"The design {verdict} the loss target {result.target_loss:.5f} and costs "
                  f"${abs(result.excess_cost_usd):,.0f} ({abs(result.excess_cost_fraction):.1%}) {more} than the "
                  "optimum.", highlight=False)
    if result.violated_constraints:
        console.print(f"It breaks {escape(', '.join(result.violated_constraints))}.", style="bold red",
                      highlight=False)
    t = result.training
    line = f"Training: {t.gpu_hours:,.0f} GPU-hours"
    if t.days_on_deadline_gpus is not None:
        line += (f", {t.days_on_deadline_gpus:,.1f} days on the deadline's {t.deadline_gpus:,.0f} GPUs "
                 f"(deadline {t.deadline_days:g} days)")
    console.print(line, highlight=False)
    s = result.serving
    if s is not None:
        fits = "" if s.fits is None else (" (fits)" if s.fits else f" (does NOT fit {s.replica_memory_gb:g} GB)")
        console.print(
            f"Serving ({s.step_model}) on {s.devices_per_replica:g} device(s) per replica at batch "
            f"{s.batch_size:g}, {s.context_tokens:,.0f} tokens of context: {s.time_per_output_token_ms:.3g} ms per "
            f"output token ({s.bound} bound), {s.time_to_first_token_ms:.3g} ms to the first token, "
            f"{s.generated_tokens_per_second_per_device:,.0f} generated tokens/s per device, "
            f"{s.memory_gb_per_replica:,.1f} GB per replica{fits}", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", style="dim", highlight=False)
