"""The `tco` command line: a thin typer shell over the Python API (parse -> call -> print).

    entry.py      the app, the --debug callback, the command table, main() (one-line errors, exit 2)
    _common.py    what the commands share (consoles, fail, option parsing); imported only inside tco/cli
    optimize.py report.py catalog.py studies.py robust.py breakeven.py fit.py    the commands

Nothing outside tco/cli imports it; the console entry point is `tco = "tco.cli:main"`. `main` starts the GP
worker (`tco.solve.worker`) before it imports typer and the commands, for the commands that solve the
scenario's GP, so cvxpy's import overlaps everything else the command does; the other names load on first use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from ._common import console
    from .entry import app

__all__ = ["app", "main", "console"]

#: the commands whose work ends in the scenario's GP cross-check (`tco.solve.program.solve_gp`)
GP_COMMANDS = frozenset({"optimize", "evaluate", "report"})


def main() -> None:
    """Console entry point (`tco.cli.entry.main`), after starting the GP worker when the command will use it;
    the worker lives for this command only."""
    from ..solve import worker

    started = _solves_gp(sys.argv[1:]) and worker.prestart()
    try:
        from .entry import main as run

        run()
    finally:
        if started:
            worker.stop()


def _solves_gp(args: list[str]) -> bool:
    """True when `args` run a GP command for real (not its --help)."""
    words = [a for a in args if a != "--debug"]
    return bool(words) and words[0] in GP_COMMANDS and not ({"--help", "-h"} & set(words))


__getattr__, __dir__ = lazy_exports(__name__, {"app": ".entry", "console": "._common"})
