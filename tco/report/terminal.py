"""The terminal summary (rich): optimum vs the baseline (the law's compute-optimal point at the same loss, the
results' "chinchilla" design), savings, shadow price, constraints. A FLOPs-objective result leads with FLOPs."""

from __future__ import annotations

import math

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..results import BASELINE_LABEL, DecodeRoofline, Result, ServingPricing, ServingSizing
from .architecture import architecture_table
from ..units import format_count, format_usd

__all__ = ["render_result", "print_result"]

_DESIGN_ROWS = (
    ("Parameters N", "params", format_count),
    ("Training tokens D", "tokens", format_count),
    ("Tokens per parameter", "tokens_per_param", lambda v: f"{v:,.1f}"),
    ("Loss (nats/token)", "loss", lambda v: f"{v:.4f}"),
)
#: How a figure of the cost layout prints, by its number format.
_FORMATTERS = {"flops": lambda v: f"{v:.3e}", "usd": format_usd, "count": lambda v: f"{v:,.0f}"}


#: The baseline's name in table headers and line labels.
_BASELINE = "Compute-optimal"


def _rows(result: Result):
    """The design rows, then every figure of the result's cost layout that has a terminal label; under a FLOPs
    objective the FLOPs figures come first, since they are what was minimized."""
    yield from ((label, key, fmt, False) for label, key, fmt in _DESIGN_ROWS)
    figures = [f for f in result.layout if f.terminal is not None]
    if result.objective == "flops":
        figures.sort(key=lambda f: f.fmt != "flops")  # stable: each group keeps the layout's order
    for f in figures:
        yield f.terminal, f.key, _FORMATTERS.get(f.fmt, lambda v: f"{v:.4g}"), f.optional


def render_result(result: Result) -> Group:
    opt, chin = result.optimal.to_dict(), result.chinchilla.to_dict()
    table = Table(title=None, header_style="bold", expand=False)
    table.add_column("")
    table.add_column("Optimal", justify="right", style="bold green")
    table.add_column(f"{_BASELINE} (same loss)", justify="right")
    table.add_column(f"Optimal / {_BASELINE.lower()}", justify="right", style="dim")
    for label, key, fmt, optional in _rows(result):
        if optional and opt[key] == 0 and chin[key] == 0:
            continue
        ratio = f"{opt[key] / chin[key]:.3f}x" if chin[key] else ""
        table.add_row(label, fmt(opt[key]), fmt(chin[key]), ratio)

    objective = "lifetime $" if result.objective == "usd" else "lifetime FLOPs"
    lines = [
        *_savings_lines(result),
        Text.assemble(("Over-training: ", "bold"),
                      f"D/D_baseline = {result.tokens_factor:.3f}x, N/N_baseline = {result.params_factor:.3f}x"),
        _shadow_line(result),
        Text.assemble(("Binding constraints: ", "bold"),
                      ", ".join(result.binding_constraints) or "none (only the loss target binds)"),
    ]
    for c in result.constraints:
        lines.append(Text(f"  {c.description}: slack {c.relative_slack:.2%}"
                          + (" (binding)" if c.binding else ""), style="dim"))
    lines += _deployment_lines(result)
    cc = result.cross_check
    lines.append(Text(
        (f"Cross-check ({cc.gp_status}): derivative-free Brent vs bisection differ by "
         if cc.gp_status.startswith("not a GP") else
         f"Cross-check: GP (Clarabel, {'polished' if cc.polished else 'unpolished'}) vs exact 1-D solve differ by ")
        + f"{cc.max_rel_diff:.1e} relative (tolerance {cc.tolerance:.0e}: {'ok' if cc.agrees else 'FAILED'})",
        style="dim" if cc.agrees else "bold red"))
    for w in result.warnings:
        lines.append(Text(f"warning: {w}", style="yellow"))
    # Text, not markup: a scenario or law named "[bold red]x[/]" prints as written
    header = Text.assemble((result.scenario, "bold"), f"  law {result.law}, target loss {result.target_loss:.5g}, "
                           f"minimizing {objective}")
    choice = () if result.architecture_choice is None else (architecture_table(result.architecture_choice),)
    return Group(Panel.fit(header), *choice, table, *lines)


def _savings_lines(result: Result) -> list[Text]:
    """Savings against the baseline in the objective's unit first: a FLOPs objective's headline is FLOPs, and its
    dollars (at the scenario's prices, which did not choose the design) follow, dimmed."""
    s = result.savings
    usd = f"{format_usd(s.total_cost_usd)} ({s.fraction:.2%}) of lifetime cost"
    flops = f"{s.total_flops:.3e} FLOPs ({s.flops_fraction:.2%}) of lifetime FLOPs"
    if result.objective == "usd":
        return [Text.assemble((f"Savings vs {BASELINE_LABEL}: ", "bold"), f"{usd}, {flops}")]
    return [Text.assemble((f"FLOPs saved vs {BASELINE_LABEL}: ", "bold"), flops),
            Text(f"  at the scenario's prices (not the objective) the two designs' costs differ by {usd}",
                 style="dim")]


def _shadow_line(result: Result) -> Text:
    """The loss target's shadow price, in the objective's unit first."""
    usd = f"{format_usd(result.loss_shadow_price_usd_per_centinat)} per 0.01 nats"
    flops = f"{result.loss_shadow_price_flops_per_nat / 100:.3e} FLOPs per 0.01 nats"
    first, second = (usd, flops) if result.objective == "usd" else (flops, usd)
    return Text.assemble(("Shadow price of the loss target: ", "bold"), f"{first} ({second})")


def _deployment_lines(result: Result) -> list[Text]:
    """Training cluster sizing, renting vs owning, and the time value of demand, where the scenario has them."""
    lines = []
    sizing = result.sizing.training if result.sizing is not None else None
    if sizing is not None:
        lines.append(Text.assemble(("Training cluster: ", "bold"),
                                   f"{sizing.gpus_needed:,.0f} GPUs finish the optimum in the deadline's "
                                   f"{sizing.deadline_days:g} days; on the deadline's "
                                   f"{sizing.deadline_gpus:,.0f} GPUs it takes "
                                   f"{sizing.days_needed:,.1f} days"))
        lines.append(Text(f"  {_BASELINE} design: {sizing.chinchilla_gpus_needed:,.0f} GPUs in the deadline's "
                          f"days, {sizing.chinchilla_days_needed:,.1f} days on its GPUs", style="dim"))
    lines += _roofline_lines(result.decode_roofline)
    lines += _pricing_lines(result.serving_pricing)
    lines += _serving_sizing_lines(result.sizing.serving if result.sizing is not None else None)
    for phase, own in result.ownership.phases() if result.ownership is not None else ():
        text = f"{phase}: owned {format_usd(own.owned_usd_per_hour)}/device-hour"
        if own.rented_usd_per_hour is not None:
            text += (f" vs rented {format_usd(own.rented_usd_per_hour)}; total cost owned "
                     f"{format_usd(own.owned_total_cost_usd)} vs rented {format_usd(own.rented_total_cost_usd)}"
                     f" ({own.cheaper} is cheaper)")
        lines.append(Text.assemble(("Own vs rent, ", "bold"), text))
    demand = result.inputs.demand if result.inputs is not None else None
    if demand is not None and ((demand.samples_per_request or 1.0) != 1.0
                               or (demand.reasoning_tokens_per_request or 0.0) != 0.0):
        lines.append(Text.assemble(("Reasoning demand: ", "bold"),
                                   f"{demand.samples_per_request:g} samples x "
                                   f"({demand.reasoning_tokens_per_request:,.0f} reasoning + "
                                   f"{demand.generated_tokens_per_request:,.0f} answer tokens) per "
                                   f"request over one {demand.prompt_tokens_per_request:,.0f}-token prompt prefilled "
                                   f"once: {format_count(demand.lifetime_generated_tokens)} generated tokens priced"))
    tv = result.time_value
    if tv is not None:
        lines.append(Text.assemble(("Demand horizon: ", "bold"),
                                   f"{tv.years:g} years, growth {tv.growth_per_year:.0%}/year, discount "
                                   f"{tv.discount_rate:.0%}: {format_count(tv.nominal_requests)} requests "
                                   f"served, present value {format_count(tv.pv_requests)} (mid-year convention)"))
    qs = result.quantization
    if qs is not None:
        moved = "" if qs.without_penalty is None else (
            f"; without it the optimum would be {format_count(qs.without_penalty.params)} parameters at "
            f"{qs.without_penalty.tokens_per_param:,.0f} tokens/param")
        lines.append(Text.assemble(("Quantized serving: ", "bold"),
                                   f"{qs.form} penalty at {qs.bits:g} bits adds {qs.penalty_nats:.4g} nats at the "
                                   f"optimum (pre-quantization loss {qs.pre_quantization_loss:.4f}) and "
                                   f"{qs.chinchilla_penalty_nats:.4g} at the {_BASELINE.lower()} baseline{moved}"))
    dl = result.data_limits
    if dl is not None:
        lines.append(Text.assemble(("Data limits: ", "bold"),
                                   f"{format_count(dl.unique_tokens)} unique tokens repeated for {dl.epochs:.2f} "
                                   f"epochs = {format_count(dl.effective_tokens)} effective tokens (Muennighoff "
                                   f"et al. 2023; the {_BASELINE.lower()} baseline trains "
                                   f"{dl.chinchilla_epochs:.2f} epochs)"))
        if dl.base_params is not None and dl.effective_params is not None:
            lines.append(Text.assemble(("Excess parameters: ", "bold"),
                                       f"beyond U_N = {format_count(dl.base_params)}, compute-optimal for the "
                                       f"unique tokens, parameters decay (eq. 6): N' = "
                                       f"{format_count(dl.effective_params)} at the optimum, "
                                       f"{format_count(dl.chinchilla_effective_params or 0.0)} at the baseline"))
    return lines


def _roofline_lines(roof: DecodeRoofline | None) -> list[Text]:
    """What bounds decode at each design under the serving roofline (`tco.results.deployment.decode_roofline`)."""
    if roof is None:
        return []
    crossover = roof.crossover_params
    where = ("memory bound at every size" if math.isinf(crossover) else
             "compute bound at every size" if crossover == 0 else
             f"compute bound below N* = {format_count(crossover)} parameters, memory bound above"
             if roof.memory_bound_above else
             f"memory bound below N* = {format_count(crossover)} parameters, compute bound above")
    lines = [Text.assemble(("Decode roofline: ", "bold"),
                           f"batch {roof.batch_size:g}, {roof.context_tokens:,.0f} tokens of context, "
                           f"{roof.bandwidth_efficiency:.0%} of HBM bandwidth, compute at "
                           f"{roof.compute_efficiency:.0%} of peak; {where}")]
    for label, d in (("Optimal", roof.optimal), (_BASELINE, roof.chinchilla)):
        lines.append(Text(
            f"  {label}: {d.bound} bound, {d.device_seconds_per_token * 1e3:.4g} device-ms per "
            f"generated token (compute {d.compute_seconds_per_token * 1e3:.4g}, memory "
            f"{d.memory_seconds_per_token * 1e3:.4g}{_overhead(d)}), {d.time_per_output_token_ms:.3g} ms per "
            f"output token at the batch, effective decode MFU {d.effective_decode_mfu:.2%}, "
            f"{_per_million(d.usd_per_million_generated_tokens)} per 1M generated tokens", style="dim"))
    return lines


def _pricing_lines(pricing: ServingPricing | None) -> list[Text]:
    """Which serving pricing is in force and the fleet the optimum's serving cost pays for (`tco.model.fleet`)."""
    if pricing is None:
        return []
    text = (f"{pricing.mode} ({pricing.summary}): {format_usd(pricing.billed_usd_per_device_hour)} per busy "
            "device-hour" + ("" if pricing.mode == "busy" else
                             f" ({format_usd(pricing.held_usd_per_device_hour)} per held device-hour / "
                             f"{pricing.utilization_in_force:.1%} utilization)"))
    lines = [Text.assemble(("Serving pricing: ", "bold"), text)]
    if pricing.whole_gpu_fleet is not None and pricing.fleet_devices is not None:
        lines.append(Text(
            f"  optimum: {pricing.busy_devices:,.2f} devices busy on average, {pricing.fleet_devices:,.2f} priced"
            + (f", {pricing.peak_fleet_devices:,.2f} at the peak x (1 + headroom)"
               if pricing.peak_fleet_devices is not None else "")
            + f"; whole-GPU fleet {pricing.whole_gpu_fleet:,} GPUs averaging "
            f"{pricing.whole_gpu_fleet_average_utilization:.1%}, {format_usd(pricing.whole_gpu_fleet_cost_usd)} "
            "over the horizon (reported, not optimized)", style="dim"))
    return lines


def _serving_sizing_lines(serving: ServingSizing | None) -> list[Text]:
    """The serving fleet for the peak request rate, for both designs (`tco.results.deployment.serving_sizing`)."""
    if serving is None:
        return []
    lines = [Text.assemble(("Serving fleet at peak: ", "bold"),
                           f"{serving.peak_requests_per_second:,.6g} requests/s x "
                           f"({serving.prompt_tokens_per_request:,.0f} prompt + "
                           f"{serving.generated_tokens_per_request:,.0f} generated tokens), "
                           f"{serving.devices_per_replica:g} device(s) per replica, "
                           f"{serving.headroom:.0%} headroom")]
    for label, d in (("optimal", serving.optimal), ("chinchilla", serving.chinchilla)):
        name = "Optimal" if label == "optimal" else _BASELINE
        if d.replicas is None:
            lines.append(Text(f"  {name}: not sized", style="yellow"))
        else:
            lines.append(Text(
                f"  {name}: {d.replicas:,} replicas = {d.gpus:,} GPUs; batch {d.batch_size} "
                f"({d.batch_limited_by}-limited), {d.time_per_output_token_ms:.2f} ms per output token "
                f"({d.bound}-bound), {d.tokens_per_second_per_replica:,.0f} tokens/s per replica; "
                f"{_per_million(d.usd_per_million_generated_tokens)} per 1M generated tokens at full load, "
                f"{_per_million(d.usd_per_million_generated_tokens_at_peak)} at the peak fleet"
                + (f", lifetime average {_per_million(d.lifetime_usd_per_million_generated_tokens)}"
                   if d.lifetime_usd_per_million_generated_tokens is not None else "")
                + (f"; priced at {serving.utilization_priced:.0%} utilization, the sized fleet averages "
                   f"{d.average_utilization:.0%} ({format_usd(d.fleet_cost_usd)} over the horizon)"
                   if d.average_utilization is not None and d.fleet_cost_usd is not None else "")))
        for w in d.warnings:
            lines.append(Text(f"  warning ({name.lower()}): {w}", style="yellow"))
    for n in serving.notes:
        lines.append(Text(f"  note: {n}", style="dim"))
    return lines


def _per_million(value: float | None) -> str:
    """$ per 1M tokens is often cents: three decimals below $1."""
    return format_usd(value) if value is None or abs(value) >= 1 else f"${value:.3f}"


def print_result(result: Result, console: Console | None = None) -> None:
    (console or Console()).print(render_result(result))


def _overhead(bound) -> str:
    """', overhead X' when the serving step model adds time outside the roofline max."""
    extra = bound.overhead_seconds_per_token
    return f", overhead {extra * 1e3:.4g}" if extra else ""
