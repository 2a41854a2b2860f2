"""The `tco` command line: a thin shell over the Python API (parse -> call -> print).

Every TcoError becomes one line on stderr and exit status 2; `tco --debug ...` shows the traceback instead.
"""

from __future__ import annotations

import json
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import TcoError
from .units import format_count, format_usd, parse_quantity, pf_days

__all__ = ["app", "main"]

app = typer.Typer(
    name="tco",
    help=(
        "Inference-aware LLM total cost of ownership.\n\n"
        "Chinchilla-optimal training (~20 tokens/param) minimizes training compute only. Once the model's "
        "lifetime inference is priced in, the cheapest model that reaches a loss target is smaller and trained "
        "on more tokens. tco finds it (a geometric program, cross-checked by an exact solve) and reports it "
        "against the Chinchilla point at the same loss.\n\n"
        "Start with:  tco optimize scenarios/chat-assistant-70b-quality.yaml"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
_out = Console()
_err = Console(stderr=True)
_state = {"debug": False}


class Objective(str, Enum):
    usd = "usd"
    flops = "flops"


def _fail(message: str) -> NoReturn:
    raise TcoError(message)  # main() prints it as one line and exits 2


def _quantity(option: str, text: str) -> float:
    try:
        return parse_quantity(text)
    except ValueError as exc:
        _fail(f"{option}: {exc}")


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


_SWEEP_HELP = "Lifetime inference tokens swept in the workbook, as LOW..HIGH[:POINTS] (log-spaced)."


@app.command()
def optimize(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/ for examples).",
                                             show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
    objective: Annotated[Optional[Objective], typer.Option(
        help="Override the scenario's objective: minimize lifetime $ (usd) or FLOPs (flops).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Workbook path. Default: reports/<scenario name>.xlsx.", show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the Excel workbook.")] = True,
    sweep: Annotated[str, typer.Option(help=_SWEEP_HELP)] = "1e9..1e16:50",
) -> None:
    """Find the lifetime-cost-optimal model size N and training tokens D for a scenario.

    Prints the optimum next to the Chinchilla (compute-optimal, same loss) design at the same prices, the
    savings, the over-training factor, the shadow price of the loss target and which constraints bind, and
    writes an Excel workbook: inputs, costs as live formulas, a demand sweep with charts, hardware and law.

    Example:  tco optimize scenarios/chat-assistant-70b-quality.yaml --json > result.json
    """
    from . import load_scenario
    from . import optimize as run_optimize
    from .report.terminal import print_result

    loaded = load_scenario(scenario)
    objective_name = objective.value if objective else None
    if report:
        entry = _prepare(loaded, objective_name, sweep)
        result = entry.result
    else:
        result = run_optimize(loaded, objective=objective_name)
    if json_output:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        print_result(result, _out)
    if report:
        from .report.excel import write_report

        path = out or Path("reports") / f"{_safe_filename(result.scenario)}.xlsx"
        written = write_report(entry, path)
        (_err if json_output else _out).print(f"report written to {written}", highlight=False)


def _prepare(scenario, objective: str | None, sweep: str):
    from .report.excel import prepare

    low, high, points = _range("--sweep", sweep, default_points=50)
    if points < 2:
        _fail("--sweep: give at least 2 points")
    return prepare(scenario, objective=objective, sweep_points=points, sweep_low=low, sweep_high=high)


@app.command()
def report(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario files to compare (one also works).",
                                                    show_default=False)],
    out: Annotated[Path, typer.Option(help="Workbook path.")] = Path("reports/compare.xlsx"),
    sweep: Annotated[str, typer.Option(help=_SWEEP_HELP)] = "1e9..1e16:50",
) -> None:
    """Write one workbook comparing several scenarios side by side (a Comparison sheet plus each one's sheets).

    Example:  tco report scenarios/sardana-cost-objective.yaml scenarios/capped-deadline-and-data.yaml
    """
    from . import load_scenario
    from .report.excel import write_report

    entries = [_prepare(load_scenario(path), None, sweep) for path in scenarios]
    for entry in entries:
        r = entry.result
        _out.print(f"{r.scenario}: N = {format_count(r.optimal.params)}, D = {format_count(r.optimal.tokens)}, "
                   f"total {format_usd(r.optimal.total_cost_usd)}, saves {r.savings.fraction:.1%} vs Chinchilla",
                   highlight=False)
    _out.print(f"report written to {write_report(entries, out)}", highlight=False)


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "scenario"


@app.command()
def laws(json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List the scaling-law presets with their constants and sources."""
    from .laws import PRESETS

    if json_output:
        sys.stdout.write(json.dumps([law.to_dict() for law in PRESETS.values()], indent=2) + "\n")
        return
    table = Table(title="Scaling-law presets", header_style="bold")
    for col in ("name", "form", "constants", "source"):
        table.add_column(col, overflow="fold")
    for law in PRESETS.values():
        constants = ", ".join(f"{k}={v:g}" for k, v in law.constants().items())
        table.add_row(law.name, law.form, constants, law.source)
    _out.print(table)
    _out.print("Chinchilla form: L = E + A/N^alpha + B/D^beta.  Kaplan form: "
               "L = [(n_c/N)^(alpha_n/alpha_d) + d_c/D]^alpha_d.  Custom constants go inline under `law:`.",
               style="dim")


@app.command()
def hardware(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the accelerator catalog: dense peak FLOPS per dtype, memory, bandwidth, TDP, default price, source."""
    from .hardware import CATALOG

    if json_output:
        sys.stdout.write(json.dumps([d.model_dump() for d in CATALOG.values()], indent=2) + "\n")
        return
    table = Table(title="Hardware catalog (dense peaks; override any field in a scenario)", header_style="bold")
    for col in ("name", "BF16 TFLOPS", "FP8 TFLOPS", "INT8 TOPS", "memory GB", "TB/s", "TDP W", "$/hour"):
        table.add_column(col, justify="left" if col == "name" else "right")
    for d in CATALOG.values():
        peak = lambda k, d=d: f"{d.peak_flops[k] / 1e12:,.1f}" if k in d.peak_flops else "-"  # noqa: E731
        table.add_row(
            d.name, peak("bf16"), peak("fp8"), peak("int8"), f"{d.memory_gb:g}",
            f"{d.bandwidth_gb_per_s / 1000:g}" if d.bandwidth_gb_per_s else "-", f"{d.tdp_w:g}" if d.tdp_w else "-",
            f"{d.price_usd_per_hour:.2f}" if d.price_usd_per_hour else "-",
        )
    _out.print(table)
    _out.print("[bold]Sources[/bold]")
    for d in CATALOG.values():
        price = f"; price: {d.price_source}" if d.price_source else "; no default price (set price_usd_per_hour)"
        _out.print(f"  {d.name}: {d.source}{price}", highlight=False)


def _law(name: str):
    from .laws import get_law

    return get_law(name)


@app.command()
def loss(
    params: Annotated[str, typer.Option(help="Parameters N, e.g. 70B.", show_default=False)],
    tokens: Annotated[str, typer.Option(help="Training tokens D, e.g. 1.4T.", show_default=False)],
    law: Annotated[str, typer.Option(help="Law preset (see `tco laws`).")] = "hoffmann2022",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Loss of N parameters trained on D tokens, e.g. tco loss --law sardana2024 --params 70B --tokens 1T."""
    the_law = _law(law)
    n, d = _quantity("--params", params), _quantity("--tokens", tokens)
    if n <= 0 or d <= 0:
        _fail("--params and --tokens must be positive")
    value = the_law.loss(n, d)
    if json_output:
        sys.stdout.write(json.dumps({"law": the_law.name, "params": n, "tokens": d, "loss": value}) + "\n")
    else:
        _out.print(f"{the_law.name}: L(N={format_count(n)}, D={format_count(d)}) = {value:.6f} nats/token "
                   f"({d / n:,.1f} tokens per parameter)", highlight=False)


def _range(option: str, text: str, default_points: int | None = None) -> tuple[float, float, int]:
    """'LOW..HIGH[:N]' -> (low, high, n). Without :N, one point per decade unless a default is given."""
    lo_text, _, rest = text.partition("..")
    hi_text, _, count = rest.partition(":")
    if not rest:
        _fail(f"{option}: expected LOW..HIGH or LOW..HIGH:POINTS, got {text!r}")
    lo, hi = _quantity(option, lo_text), _quantity(option, hi_text)
    if not 0 < lo < hi:
        _fail(f"{option}: range {text!r} must go from a smaller positive value to a larger one")
    if count.strip():
        if not count.strip().isdigit():
            _fail(f"{option}: the number of points after ':' must be a whole number, got {count!r}")
        n = int(count)
    else:
        n = default_points or max(int(round(np.log10(hi / lo))) + 1, 2)
    return lo, hi, n


def _budgets(text: str) -> list[float]:
    """'1e24' -> [1e24]; '1e20..1e24' -> one per decade; '1e20..1e24:9' -> 9 log-spaced budgets."""
    if ".." not in text:
        return [_quantity("--flops", text)]
    lo, hi, n = _range("--flops", text)
    return list(np.logspace(np.log10(lo), np.log10(hi), n))


@app.command()
def allocate(
    flops: Annotated[str, typer.Option(help="Budget in FLOPs (1e24), or a range 1e20..1e24 (one per decade) "
                                            "or 1e20..1e24:9 (9 log-spaced).", show_default=False)],
    law: Annotated[str, typer.Option(help="Law preset (see `tco laws`).")] = "hoffmann2022",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compute-optimal N and D for training budgets, next to the ~20-tokens-per-parameter rule of thumb.

    Shows where the fitted law and the rule of thumb disagree: Hoffmann's rounded constants give ~50-70 tokens
    per parameter, Besiroglu et al.'s refit about 20.
    """
    the_law = _law(law)
    rows = []
    for c in _budgets(flops):
        n, d = the_law.allocate(c)
        n20 = (c / 120.0) ** 0.5  # 6 N (20 N) = C
        rows.append({
            "flops": c, "pf_days": pf_days(c), "params": n, "tokens": d, "tokens_per_param": d / n,
            "loss": the_law.loss(n, d), "rule_of_thumb_params": n20, "rule_of_thumb_tokens": 20 * n20,
            "rule_of_thumb_loss": the_law.loss(n20, 20 * n20),
        })
    if json_output:
        sys.stdout.write(json.dumps({"law": the_law.name, "allocations": rows}, indent=2) + "\n")
        return
    table = Table(title=f"Compute-optimal allocation under {the_law.name}", header_style="bold")
    for col in ("FLOPs", "PF-days", "N", "D", "D/N", "loss", "N@20", "D@20", "loss@20"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(f"{r['flops']:.3g}", f"{r['pf_days']:,.3g}", format_count(r["params"]),
                      format_count(r["tokens"]), f"{r['tokens_per_param']:.1f}", f"{r['loss']:.4f}",
                      format_count(r["rule_of_thumb_params"]), format_count(r["rule_of_thumb_tokens"]),
                      f"{r['rule_of_thumb_loss']:.4f}")
    _out.print(table)
    _out.print("N@20, D@20, loss@20: the ~20 tokens-per-parameter rule of thumb at the same budget.", style="dim")


# --- commands that live with their feature modules, registered here --------------------------------------
# (each module keeps its heavy imports inside the command function, so `tco --help` stays fast)
from .breakeven_cli import breakeven_command, implied_demand_command  # noqa: E402
from .fit.cli import fit_command  # noqa: E402
from .robust_cli import robust_command  # noqa: E402
from .uncertainty.cli import montecarlo_command, sensitivity_command, sweep_command  # noqa: E402

for _name, _command in (
    ("sweep", sweep_command),
    ("sensitivity", sensitivity_command),
    ("montecarlo", montecarlo_command),
    ("robust", robust_command),
    ("breakeven", breakeven_command),
    ("implied-demand", implied_demand_command),
    ("fit", fit_command),
):
    app.command(_name)(_command)


def _click_errors() -> tuple[type[Any], ...]:
    """The ClickException classes typer may raise: its bundled copy (typer >= 0.20 has no click dependency)
    and click's own (older typer, or click installed beside it); neither is a subclass of the other."""
    found: list[type[Any]] = []  # found at run time: the checker knows neither class
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(__import__(module, fromlist=["ClickException"]).ClickException)
        except ImportError:
            continue
    return tuple(found)


_CLICK_ERRORS = _click_errors()


def main() -> None:
    """Console entry point: run the app, turning TcoError into one line on stderr and exit status 2."""
    try:
        code = app(standalone_mode=False)
    except TcoError as exc:
        if _state["debug"]:
            raise
        # escape(): scenario text such as "[bold]" or "[/x]" must print as written, not as rich markup
        _err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _err.print("aborted")
        sys.exit(130)
    except _CLICK_ERRORS as exc:  # bad option values, missing arguments: one line, exit 2
        where = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
        _err.print(f"[bold red]error:[/bold red] {escape(exc.format_message())}{where}", highlight=False,
                   soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
