"""`tco breakeven` and `tco implied-demand`: the demand at which over-training pays, and what published recipes
imply. Heavy imports (the solver, pandas, rich tables) stay inside the functions so `tco --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ._common import PARAMS, TOKENS, console, fail, load, print_json, quantity

__all__ = ["breakeven_command", "implied_demand_command"]


def _count(value) -> str:
    from ..units import format_count

    return "never" if value is None else format_count(value)


def _targets(text: str) -> list[float]:
    """'100,200,500' -> [100.0, 200.0, 500.0]: positive, each once; one line naming the option otherwise."""
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        fail("--tokens-per-param: give one or more positive numbers, e.g. 100,200,500,1000")
    if not all(items):
        fail(f"--tokens-per-param: an empty value between commas in {text!r}; write e.g. 100,200,500,1000")
    targets = [quantity("--tokens-per-param", t) for t in items]
    for i, value in enumerate(targets):
        if value <= 0:
            fail(f"--tokens-per-param: each target must be positive, got {items[i]!r}")
        if value in targets[:i]:
            fail(f"--tokens-per-param: {items[i]!r} is given twice")
    return targets


def breakeven_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/ for examples).",
                                             show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
    tokens_per_param: Annotated[str, typer.Option(
        "--tokens-per-param", help="Tokens-per-parameter targets, comma-separated.")] = "100,200,500,1000",
) -> None:
    """Lifetime inference demand at which over-training starts to pay, saves 1/5/10%, and reaches given
    tokens per parameter (everything else in the scenario fixed; its prompt:generated mix kept).

    Example:  tco breakeven scenarios/chat-assistant-70b-quality.yaml
    """
    from rich.table import Table

    from ..studies.breakeven import breakeven

    targets = _targets(tokens_per_param)
    result = breakeven(load(scenario), tokens_per_param=targets)
    if json_output:
        print_json(result.to_dict(), allow_nan=False)
        return
    table = Table(title=f"Break-even demand: {escape(result.scenario)} ({result.objective} objective, law "
                        f"{escape(result.law)}, "
                        f"loss {result.target_loss:.4f})", header_style="bold")
    # short headers so an 80-column terminal keeps every figure whole; the footnote says what "inference" counts
    columns = ["milestone", "inference", *(["requests"] if result.uses_requests else []), "N", "D", "D/N", "savings"]
    for col in columns:
        table.add_column(col, justify="left" if col == "milestone" else "right", no_wrap=col != "milestone",
                         min_width=14 if col == "milestone" else None)

    def row(label, m):
        if m.inference_tokens is None:
            missing = "n/a" if m.status == "not reported" else "never"
            table.add_row(label, missing, *([missing] if result.uses_requests else []), *["-"] * 4)
            return
        cells = [label, _count(m.inference_tokens), *([_count(m.requests)] if result.uses_requests else [])]
        table.add_row(*cells, _count(m.params), _count(m.tokens), f"{m.tokens_per_param:,.1f}",
                      f"{m.savings_fraction:.1%}")

    # the optimum re-solved at the threshold: the Chinchilla point itself unless caps already move it at zero demand
    row("over-training starts to pay", result.shift)
    for label, milestones in (("saves {:.0%}", result.savings), ("{:,.0f} tokens/param", result.tokens_per_param)):
        for m in milestones:
            row(label.format(m.target), m)
    console.print(table)
    console.print(escape(result.note), style="dim", highlight=False)
    console.print("'inference' is the lifetime inference tokens (prompt + generated) at which the optimum first "
                  "reaches each milestone; 'never' = not up to 1e22 tokens (the caps stop it); 'n/a' = not reported "
                  "(see the note above). Savings are vs the design compute-optimal at the same loss, at the same "
                  "prices.", style="dim", highlight=False)


def implied_demand_command(
    law: Annotated[str, typer.Option(help="Law preset (see `tco laws`) or a law file.")] = "hoffmann2022",
    params: Annotated[Optional[str], typer.Option(help="Parameters N, e.g. 70B.", show_default=False)] = None,
    tokens: Annotated[Optional[str], typer.Option(help="Training tokens D, e.g. 15T.", show_default=False)] = None,
    cost_ratio: Annotated[float, typer.Option(
        help="Inference $ per FLOP / training $ per FLOP (1 = price both by FLOPs).")] = 1.0,
    catalog: Annotated[bool, typer.Option("--catalog", help="Every published recipe in the catalog.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
) -> None:
    """Lifetime inference tokens that would make a published (N, D) the cost-optimal design at its own loss.

    Negative means under-trained: no inference demand makes it optimal (a smaller model trained longer is
    cheaper even with no inference at all).

    Examples:  tco implied-demand --law sardana2024 --params 70B --tokens 15T
               tco implied-demand --law besiroglu2024 --catalog
    """
    from ..studies.breakeven import RECIPES, implied_demand
    from ..errors import TcoError
    from ..scenario.law import resolve_law
    from ..units import format_count

    try:
        the_law = resolve_law(law)
    except TcoError:
        raise
    except ValueError as exc:
        fail(f"--law: {exc}")
    if not cost_ratio > 0:
        fail(f"--cost-ratio must be positive, got {cost_ratio:g}")
    if catalog == (params is not None or tokens is not None) or (not catalog and None in (params, tokens)):
        fail("give --params and --tokens, or --catalog (not both)")
    if not catalog:
        assert params is not None and tokens is not None  # checked just above
        n, d = quantity("--params", params, PARAMS), quantity("--tokens", tokens, TOKENS)
        one = implied_demand(the_law, n, d, cost_ratio)
        if json_output:
            print_json(one.to_dict(), allow_nan=False)
            return
        console.print(f"{escape(the_law.name)}: N = {format_count(n)}, D = {format_count(d)} "
                      f"({one.tokens_per_param:,.1f} "
                      f"tokens/param), loss {one.loss:.4f}\n"
                      f"compute-optimal at the same loss: N = {format_count(float(one.chinchilla_params))}, "
                      f"D = {format_count(float(one.chinchilla_tokens))}\n"
                      f"implied lifetime inference: {one.inference_tokens:.3g} tokens (cost ratio {cost_ratio:g})\n"
                      f"verdict: {escape(str(one.verdict))}", highlight=False)
        return
    rows = implied_demand(the_law, [r.params for r in RECIPES], [r.tokens for r in RECIPES], cost_ratio).to_dict()
    recipes = [{"name": r.name, **{k: rows[k][i] for k in rows if isinstance(rows[k], list)}, "source": r.source}
               for i, r in enumerate(RECIPES)]
    if json_output:
        print_json({"law": the_law.name, "cost_ratio": cost_ratio, "recipes": recipes}, allow_nan=False)
        return
    _print_catalog(the_law.name, cost_ratio, recipes)


def _print_catalog(law_name: str, cost_ratio: float, recipes: list[dict]) -> None:
    from rich.table import Table

    from ..units import format_count

    table = Table(title=f"Implied lifetime inference of published recipes under {escape(law_name)} "
                        f"(cost ratio {cost_ratio:g})", header_style="bold")
    for col in ("recipe", "N", "D", "D/N", "loss", "implied inference tokens", "verdict", "source"):
        table.add_column(col, justify="right" if col in ("N", "D", "D/N", "loss", "implied inference tokens")
                         else "left", overflow="fold")
    for r in recipes:
        table.add_row(r["name"], format_count(r["params"]), format_count(r["tokens"]),
                      f"{r['tokens_per_param']:,.1f}", f"{r['loss']:.4f}", f"{r['inference_tokens']:.3g}",
                      r["verdict"], r["source"])
    console.print(table)
    console.print("Implied inference: the lifetime tokens served (2N FLOPs each) at which the recipe is the "
                  "cheapest design reaching its own loss; negative = under-trained even with no inference.",
                  style="dim", highlight=False)
