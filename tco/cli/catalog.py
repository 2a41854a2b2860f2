"""`tco laws`, `tco hardware`, `tco loss`, `tco allocate`: the presets and the law's closed forms, no scenario."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from ..units import format_count, pf_days
from ._common import FLOPS, PARAMS, TOKENS, console, fail, note_legacy_range, parse_range, print_json, quantity

__all__ = ["laws_command", "hardware_command", "loss_command", "allocate_command"]


def laws_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the scaling-law presets with their constants and sources."""
    from ..laws import MOE_PRESETS, PRESETS, Law, MoELaw

    laws: list[Law | MoELaw] = [*PRESETS.values(), *MOE_PRESETS.values()]
    if json_output:
        print_json([law.to_dict() for law in laws])
        return
    table = Table(title="Scaling-law presets", header_style="bold")
    for col in ("name", "form", "constants", "source"):
        table.add_column(col, overflow="fold")
    for law in laws:
        constants = ", ".join(f"{k}={v:g}" for k, v in law.constants().items())
        table.add_row(escape(law.name), law.form, constants, escape(law.source))
    console.print(table)
    console.print("Chinchilla form: L = E + A/N^alpha + B/D^beta.  Kaplan form: "
                  "L = [(n_c/N)^(alpha_n/alpha_d) + d_c/D]^alpha_d.  MoE form (N active, E experts): "
                  "L = a Eh^delta N^(alpha + gamma ln Eh) + b Eh^omega D^(beta + zeta ln Eh) + c.  "
                  "Custom constants go inline under `law:`.",
                  style="dim")


def hardware_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the accelerator catalog: dense peak FLOPS per dtype, memory, bandwidth, interconnect (link GB/s per
    direction, for tensor-parallel all-reduces), TDP, default price, source."""
    from ..hardware import CATALOG

    if json_output:
        print_json([d.model_dump() for d in CATALOG.values()])
        return
    table = Table(title="Hardware catalog (dense peaks; override any field in a scenario)", header_style="bold")
    for col in ("name", "BF16 TFLOPS", "FP8 TFLOPS", "INT8 TOPS", "memory GB", "TB/s", "link GB/s", "TDP W",
                "$/hour"):
        table.add_column(col, justify="left" if col == "name" else "right")
    for d in CATALOG.values():
        def peak(kind: str, d=d) -> str:
            return f"{d.peak_flops[kind] / 1e12:,.1f}" if kind in d.peak_flops else "-"

        table.add_row(
            escape(d.name), peak("bf16"), peak("fp8"), peak("int8"), f"{d.memory_gb:g}",
            f"{d.bandwidth_gb_per_s / 1000:g}" if d.bandwidth_gb_per_s else "-",
            f"{d.interconnect_gb_per_s:g}" if d.interconnect_gb_per_s else "-", f"{d.tdp_w:g}" if d.tdp_w else "-",
            f"{d.price_usd_per_hour:.2f}" if d.price_usd_per_hour else "-",
        )
    console.print(table)
    console.print("[bold]Sources[/bold]")
    for d in CATALOG.values():
        price = f"; price: {d.price_source}" if d.price_source else "; no default price (set price_usd_per_hour)"
        link = f"; link: {d.interconnect_source}" if d.interconnect_source else ""
        console.print(f"  {escape(d.name)}: {escape(d.source + price + link)}", highlight=False)


def _law(name: str, experts: float | None = None):
    from ..laws import get_law

    try:
        return get_law(name, experts)
    except ValueError as exc:  # an unknown name, or experts on a dense law
        fail(f"--law: {exc}")


def loss_command(
    law: Annotated[str, typer.Option(help="Law preset (see `tco laws`).")] = "hoffmann2022",
    params: Annotated[str, typer.Option(help="Parameters N, e.g. 70B.", show_default=False)] = ...,  # type: ignore[assignment]  # typer: required
    tokens: Annotated[str, typer.Option(help="Training tokens D, e.g. 1.4T.", show_default=False)] = ...,  # type: ignore[assignment]  # typer: required
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Loss of a model with N parameters trained on D tokens, e.g. tco loss --law sardana2024 --params 70B --tokens 1T."""  # noqa: E501
    the_law = _law(law)
    n, d = quantity("--params", params, PARAMS), quantity("--tokens", tokens, TOKENS)
    value = the_law.loss(n, d)
    if json_output:
        sys.stdout.write(json.dumps({"law": the_law.name, "params": n, "tokens": d, "loss": value}) + "\n")
    else:
        console.print(f"{escape(the_law.name)}: L(N={format_count(n)}, D={format_count(d)}) = {value:.6f} nats/token "
                      f"({d / n:,.1f} tokens per parameter)", highlight=False)


def _budgets(text: str, allow_large: bool = False) -> list[float]:
    """'1e24' -> [1e24]; '1e20..1e24' -> one per decade; '1e20..1e24:9' -> 9 log-spaced budgets.

    Budgets must be positive; a range needs at least 2 points, and more than the limits allow
    (`tco.studies.limits`) are refused before any is built unless allow_large."""
    from ..studies.limits import allocate_projection, check_projection

    if ".." not in text and ":" not in text:  # one budget; a range (or its old spelling) otherwise
        budget = quantity("--flops", text)
        if budget <= 0:
            fail(f"--flops: a training budget must be positive, got {text!r}")
        return [quantity("--flops", text, FLOPS)]
    lo, hi, n = parse_range("--flops", text)
    for end in (lo, hi):
        quantity("--flops", f"{end!r}", FLOPS)
    if n < 2:
        fail(f"--flops: a range needs at least 2 points, got {n} in {text!r} (for one budget give it alone)")
    check_projection(allocate_projection(f"--flops {text}", n), allow_large=allow_large)
    note_legacy_range("--flops", text)
    return list(np.logspace(np.log10(lo), np.log10(hi), n))


def allocate_command(
    flops: Annotated[str, typer.Option(help="Budget in FLOPs (1e24), or a range 1e20..1e24 (one per decade) "
                                            "or 1e20..1e24:9 (9 log-spaced).", show_default=False)] = ...,  # type: ignore[assignment]  # typer: required
    law: Annotated[str, typer.Option(help="Law preset (see `tco laws`).")] = "hoffmann2022",
    experts: Annotated[str | None, typer.Option(
        help="Experts per layer, for an MoE law (ludziejewski2025): N is then the ACTIVE parameter count and "
             "total_params what the model holds (top-1 routing).", show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Run even when the projected time or memory exceeds the limits (README, "
                              "Limits).")] = False,
) -> None:
    """Compute-optimal N and D for training budgets, next to the ~20-tokens-per-parameter rule of thumb.

    Shows where the fitted law and the rule of thumb disagree: Hoffmann's rounded constants give ~50-70 tokens
    per parameter, Besiroglu et al.'s refit about 20.
    """
    from ..assemble import extrapolation_note
    from ..model.experts import total_per_active

    budgets = _budgets(flops, allow_large)
    count = None if experts is None else _experts(experts)
    the_law = _law(law, count)
    ratio = 1.0 if count is None else total_per_active(count, 1.0)
    rows = []
    for c in budgets:
        n, d = the_law.allocate(c)  # 6 N_act D = C: training FLOPs follow the active parameters
        n20 = (c / 120.0) ** 0.5  # 6 N (20 N) = C
        rows.append({
            "flops": c, "pf_days": pf_days(c), "params": n, "tokens": d, "tokens_per_param": d / n,
            "loss": the_law.loss(n, d), "rule_of_thumb_params": n20, "rule_of_thumb_tokens": 20 * n20,
            "rule_of_thumb_loss": the_law.loss(n20, 20 * n20),
            **({} if count is None else {"experts": count, "total_params": n * ratio}),
        })
    ratios = [r["tokens_per_param"] for r in rows]
    extrapolation = extrapolation_note(ratios[0] if len(rows) == 1 else ratios,
                                       "the allocation" if len(rows) == 1 else "allocations")
    warnings = [extrapolation] if extrapolation else []
    if json_output:
        print_json({"law": the_law.name, "allocations": rows, "warnings": warnings})
        return
    table = Table(title=f"Compute-optimal allocation under {escape(the_law.name)}", header_style="bold")
    for col in ("FLOPs", "PF-days", "N", "D", "D/N", "loss", "N@20", "D@20", "loss@20"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(f"{r['flops']:.3g}", f"{r['pf_days']:,.3g}", format_count(r["params"]),
                      format_count(r["tokens"]), f"{r['tokens_per_param']:.1f}", f"{r['loss']:.4f}",
                      format_count(r["rule_of_thumb_params"]), format_count(r["rule_of_thumb_tokens"]),
                      f"{r['rule_of_thumb_loss']:.4f}")
    console.print(table)
    console.print("N@20, D@20, loss@20: the ~20 tokens-per-parameter rule of thumb at the same budget.", style="dim")
    for warning in warnings:
        console.print(f"warning: {escape(warning)}", style="yellow")
    if count is not None:
        console.print(f"E = {count:g} experts, top-1: N and N@20 are ACTIVE parameters; the model holds "
                      f"{ratio:.4g}x as many in total ((4 + 9 E) / 13, Ludziejewski et al. 2025's architecture): "
                      + ", ".join(format_count(r["total_params"]) for r in rows), highlight=False)


def _experts(text: str) -> float:
    """--experts: a whole number of experts in the scenario field's range."""
    from ..scenario.architecture import EXPERTS_RANGE

    value = quantity("--experts", text)
    lo, hi = EXPERTS_RANGE
    if not (value.is_integer() and lo <= value <= hi):
        fail(f"--experts: a whole number of experts in [{lo}, {hi}], got {text!r}")
    return value
