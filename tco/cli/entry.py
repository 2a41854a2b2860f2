"""The `tco` app: the --debug callback, the command table and main(), which turns every TcoError into one line.

Every TcoError becomes one line on stderr and exit status 2; `tco --debug ...` shows the traceback instead.
That includes a stdout that cannot be written (a full disk, a closed pipe): while a command runs, sys.stdout is
guarded so such a failure is an OutputError naming stdout. Ctrl-C is "interrupted" and exit 130; SIGTERM is
turned into an exception (Terminated) so atomic writes clean up, then "terminated" and exit 143.
The commands live in the modules next to this one; each keeps its heavy imports inside the command function,
so `tco --help` stays fast.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import signal
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..errors import OutputError, ScenarioError, TcoError
from ..text import one_line
from ._common import err_console
from .breakeven import breakeven_command, implied_demand_command
from .calibrate import calibrate_command
from .evaluate import evaluate_command
from .catalog import allocate_command, hardware_command, laws_command, loss_command
from .fit import fit_command
from .optimize import optimize_command
from .report import report_command
from .robust import robust_command
from .studies import montecarlo_command, sensitivity_command, sweep_command

__all__ = ["app", "main", "COMMANDS", "Terminated"]

app = typer.Typer(
    name="tco",
    help=(
        "Inference-aware LLM total cost of ownership.\n\n"
        "Chinchilla-optimal training (~20 tokens/param) minimizes training compute only. Once the model's "
        "lifetime inference is priced in, the cheapest model that reaches a loss target is smaller and trained "
        "on more tokens. tco finds it (a geometric program, cross-checked by an exact solve) and reports it "
        "against the design compute-optimal at the same loss (the law's Chinchilla-style point, not Chinchilla's "
        "own 70B/1.4T).\n\n"
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
    ("evaluate", evaluate_command),
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
    ("calibrate", calibrate_command),
)


def _markup_safe(command) -> str:
    """Escape rich markup in a command's option help and docstring (the help rich renders): `pip install
    'tco[dask]'` must not lose `[dask]` as an unknown tag. Returns the command's help text, escaped. Help objects
    shared by several commands (studies' --engine) are escaped once."""
    for param in inspect.signature(command, eval_str=True).parameters.values():
        for info in getattr(param.annotation, "__metadata__", ()):
            if isinstance(getattr(info, "help", None), str) and id(info) not in _ESCAPED:
                info.help = escape(info.help)
                _ESCAPED.add(id(info))
    return escape(inspect.getdoc(command) or "")


_ESCAPED: set[int] = set()
for _name, _command in COMMANDS:
    app.command(_name, help=_markup_safe(_command))(_command)


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


class Terminated(BaseException):
    """Raised by the SIGTERM handler: unwinds like Ctrl-C, so atomic writes remove their temp files."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


class _GuardedStdout:
    """sys.stdout while a command runs: a failed write or flush (a full disk, a closed pipe) is an OutputError
    naming stdout, which main() prints as one line, instead of a traceback."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise _stdout_error(exc) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stdout_error(exc: OSError) -> OutputError:
    # without errno: typer would turn an OSError with errno EPIPE into a silent exit status 1
    return OutputError("stdout", exc.strerror or str(exc))


def _drop_stdout(stream) -> None:
    """After stdout failed: point its file descriptor at /dev/null, so the interpreter's last flush of the
    unwritten rest neither fails again nor prints "Exception ignored" (the `python` docs' advice for EPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # no real file descriptor (an in-process test's capture): nothing is flushed at exit


def _say(message: str) -> None:
    """One line on stderr; nothing more to do if stderr itself is broken."""
    try:
        err_console.print(message, highlight=False, soft_wrap=True)
    except OSError:
        pass


def _run() -> int:
    """Run the app; every way out is an exit status, after at most one line on stderr."""
    try:
        code = app(standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C (KeyboardInterrupt) into this return value, silently
            _say("interrupted")
            return 130
        sys.stdout.flush()  # a full disk or closed pipe on stdout surfaces here at the latest
    except TcoError as exc:
        if _state["debug"]:
            raise
        if isinstance(exc, OutputError) and exc.path == "stdout":
            _drop_stdout(sys.stdout)
        # escape(): scenario text such as "[bold]" or "[/x]" must print as written, not as rich markup;
        # one_line(): a file name or a key with a newline or an escape sequence still gives one visible line.
        # One line per problem (a scenario with several bad fields lists each), every one marked "error:".
        lines = exc.lines() if isinstance(exc, ScenarioError) else [str(exc)]
        for line in lines:
            _say(f"[bold red]error:[/bold red] {escape(one_line(line))}")
        return 2
    except ArithmeticError as exc:  # a float overflow the checks did not foresee: still one line, never a traceback
        if _state["debug"]:
            raise
        _say(f"[bold red]error:[/bold red] the computation failed in floating point ({escape(str(exc))}); "
             "bring the inputs into their documented ranges (README), or run with --debug")
        return 2
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # (other typer versions raise Exit(130) instead)
            _say("interrupted")
        return exc.exit_code
    except typer.Abort:
        _say("aborted")
        return 130
    except _CLICK_ERRORS as exc:  # bad option values, missing arguments: one line, exit 2
        where = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
        _say(f"[bold red]error:[/bold red] {escape(one_line(exc.format_message()))}{where}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Terminated:
        _say("terminated")
        return 143
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console entry point: run the app, turning TcoError into one line on stderr and exit status 2.

    `tco` alone prints the help on stderr and exits 2. Ctrl-C prints "interrupted" and exits 130; SIGTERM prints
    "terminated" and exits 143, after any report being written has removed its temp file.
    """
    if len(sys.argv) <= 1:  # no command: the help, on stderr (stdout is for results), and the usage status
        with contextlib.redirect_stdout(sys.stderr):
            try:
                app(["--help"], standalone_mode=False)
            except OSError:
                pass
        sys.exit(2)
    previous = _install(signal.SIGTERM, _on_sigterm)
    real_stdout = sys.stdout
    sys.stdout = _GuardedStdout(real_stdout)
    try:
        code = _run()
    finally:
        sys.stdout = real_stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


def _install(signum: int, handler):
    """Install a signal handler (only possible in the main thread); the previous one, or None."""
    try:
        return signal.signal(signum, handler)
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        return None
