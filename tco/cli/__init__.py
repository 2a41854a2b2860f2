"""The `tco` command line: a thin typer shell over the Python API (parse -> call -> print).

    entry.py      the app, the --debug callback, the command table, main() (one-line errors, exit 2)
    _common.py    what the commands share (consoles, fail, option parsing); imported only inside tco/cli
    optimize.py report.py catalog.py studies.py robust.py breakeven.py fit.py    the commands

Nothing outside tco/cli imports it; the console entry point is `tco = "tco.cli:main"`.
"""

from ._common import console
from .entry import app, main

__all__ = ["app", "main", "console"]
