"""What the command modules of tco/cli share: the consoles, the one-line failure and option parsing.

Private to the package (only tco/cli/* imports it); the names are public so the command modules import them
without reaching into another module's privates. Heavy imports stay inside the functions so `tco --help` stays
fast.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from ..errors import TcoError
from ..text import one_line
from ..scenario.fields import PARAMS_RANGE, PARAMS_WHY, TOKENS_RANGE, TOKENS_WHY, range_message
from ..units import parse_quantity

__all__ = [
    "console",
    "err_console",
    "SWEEP_HELP",
    "fail",
    "quantity",
    "parse_range",
    "note_legacy_range",
    "safe_filename",
    "default_report_path",
    "print_json",
    "prepare_report",
    "load",
]

#: stdout for tables and messages (the tests widen it through `tco.cli.console`), and stderr for errors
console = Console()
err_console = Console(stderr=True)

SWEEP_HELP = "Lifetime inference tokens swept in the workbook, as LOW..HIGH:POINTS (log-spaced)."


def fail(message: str) -> NoReturn:
    raise TcoError(message)  # main() prints it as one line and exits 2


def quantity(option: str, text: str, within: tuple[float, float, str, str] | None = None) -> float:
    """'70B' -> 7e10; a TcoError naming the option otherwise. `within` = (low, high, why, unit): the plausible
    range the scenario fields use too (e.g. `PARAMS`), refused outside it with the same words."""
    try:
        value = parse_quantity(text)
    except ValueError as exc:
        fail(f"{option}: {exc}")
    if within is not None and not within[0] <= value <= within[1]:
        fail(f"{option}: {range_message(*within)}, got {value:g}")
    return value


#: Plausible ranges of the sizes CLI options take, as the scenario fields have them (tco.scenario.fields).
PARAMS = (*PARAMS_RANGE, PARAMS_WHY, "parameters")
TOKENS = (*TOKENS_RANGE, TOKENS_WHY, "tokens")
#: Training budgets: 6 N D over those ranges.
FLOPS = (6 * PARAMS_RANGE[0] * TOKENS_RANGE[0], 6 * PARAMS_RANGE[1] * TOKENS_RANGE[1],
         "6 N D for the parameter and token ranges", "FLOPs")


def parse_range(option: str, text: str, default_points: int | None = None) -> tuple[float, float, int]:
    """A log-spaced 'LOW..HIGH[:POINTS]' (`tco.ranges`, the syntax of every command) -> (low, high, points).
    Without POINTS, one point per decade unless a default is given. The caller prints `note_legacy_range` once
    its own checks pass (a refused value stays one line)."""
    from ..ranges import parse_span

    span = parse_span(option, text, default_points=default_points)
    if span.scale != "log":
        fail(f"{option}: this range is log-spaced; drop ':lin' from {text!r}")
    if not 0 < span.low < span.high:
        fail(f"{option}: range {text!r} must go from a smaller positive value to a larger one")
    return span.low, span.high, span.points


def note_legacy_range(option: str, text: str) -> None:
    """One stderr line naming the new spelling when a range is written the old way (`tco.ranges.legacy_note`)."""
    from ..ranges import legacy_note

    note = legacy_note(option, text)
    if note is not None:
        err_console.print(f"note: {escape(one_line(note))}", highlight=False, soft_wrap=True)


def safe_filename(name: str) -> str:
    """A scenario name as a file name: runs of other characters become '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "scenario"


def default_report_path(name: str, suffix: str) -> Path:
    """reports/<name><suffix>, the default output of the commands that write files."""
    return Path("reports") / f"{safe_filename(name)}{suffix}"


def print_json(data, *, allow_nan: bool = True) -> None:
    """One indented JSON document on stdout (bypassing rich, so nothing is wrapped or highlighted)."""
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=allow_nan) + "\n")


def sweep_option(sweep: str, *, workbooks: int = 1, allow_large: bool = False) -> tuple[float, float, int]:
    """`--sweep LOW..HIGH[:POINTS]` of optimize and report as (low, high, points): at least 2 points, within the
    limits for `workbooks` workbooks (checked even with --no-report, so a bad value is never silently ignored)."""
    from ..studies.limits import check_projection, workbook_sweep_projection

    low, high, points = parse_range("--sweep", sweep, default_points=50)
    if points < 2:
        fail(f"--sweep: give at least 2 points, got {points}")
    check_projection(workbook_sweep_projection(f"--sweep {sweep}", points, workbooks), allow_large=allow_large)
    note_legacy_range("--sweep", sweep)
    return low, high, points


def prepare_report(scenario, objective: str | None, sweep: tuple[float, float, int]):
    """Solve a scenario and its workbook's demand sweep (`sweep_option`'s (low, high, points)): a report entry."""
    from ..studies import prepare

    low, high, points = sweep
    return prepare(scenario, objective=objective, sweep_points=points, sweep_low=low, sweep_high=high)


def load(path: Path, *, note: bool = True):
    """load_scenario, plus one stderr line per catalog alias resolved ('H100' is the catalog's 'H100 SXM'), so
    the device priced is never a silent choice. note=False where the command's own output already lists the
    result's warnings, which carry the same line (`tco.assemble.hardware_notes`)."""
    from .. import load_scenario
    from ..assemble import hardware_notes

    scenario = load_scenario(path)
    if note:
        for line in hardware_notes(scenario):
            err_console.print(f"note: {escape(one_line(line))}", highlight=False, soft_wrap=True)
    return scenario
