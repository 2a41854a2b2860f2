"""The `tco` app: the --debug callback, the command table and main(), which turns every TcoError into one line.

Every TcoError becomes one line on stderr and exit status 2; `tco --debug ...` shows the traceback instead.
The commands live in the modules next to this one; each keeps its heavy imports inside the command function,
so `tco --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..errors import TcoError
from ._common import err_console
from .breakeven import breakeven_command, implied_demand_command
from .catalog import allocate_command, hardware_command, laws_command, loss_command
from .fit import fit_command
from .optimize import optimize_command
from .report import report_command
from .robust import robust_command
from .studies import montecarlo_command, sensitivity_command, sweep_command

__all__ = ["app", "main", "COMMANDS"]

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
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


#: Every command, in the order `tco --help` lists them.
COMMANDS = (
    ("optimize", optimize_command),
    ("report", report_command),
    ("laws", laws_command),
    ("hardware", hardware_command),
    ("loss", loss_command),
    ("allocate", allocate_command),
    ("sweep", sweep_command),
    ("sensitivity", sensitivity_command),
    ("montecarlo", montecarlo_command),
    ("robust", robust_command),
    ("breakeven", breakeven_command),
    ("implied-demand", implied_demand_command),
    ("fit", fit_command),
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)


def _click_errors() -> tuple[type[Any], ...]:
    """The ClickException classes typer may raise: its bundled copy (typer >= 0.20 has no click dependency)
    and click's own (older typer, or click installed beside it); neither is a subclass of the other."""
    found: list[type[Any]] = []
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
        # escape(): scenario text such as "[bold]" or "[/x]" must print as written, not as rich markup.
        # One line per problem (a scenario with several bad fields lists each), every one marked "error:".
        for line in str(exc).splitlines() or [""]:
            err_console.print(f"[bold red]error:[/bold red] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ArithmeticError as exc:  # a float overflow the checks did not foresee: still one line, never a traceback
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/bold red] the computation failed in floating point ({escape(str(exc))}); "
                          "bring the inputs into their documented ranges (README), or run with --debug",
                          highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except _CLICK_ERRORS as exc:  # bad option values, missing arguments: one line, exit 2
        where = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
        err_console.print(f"[bold red]error:[/bold red] {escape(exc.format_message())}{where}", highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
