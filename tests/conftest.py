"""Shared fixtures."""

import sys

import pytest

from tco import cli


@pytest.fixture
def tco_run(monkeypatch, capsys):
    """Run `tco ARGS...` through its real entry point in-process; returns (exit status, stdout, stderr)."""
    monkeypatch.setattr(cli.console, "_width", 250)  # tables unwrapped, whatever the terminal

    def call(*args):
        monkeypatch.setattr(sys, "argv", ["tco", *map(str, args)])
        with pytest.raises(SystemExit) as stopped:  # main() always ends with sys.exit
            cli.main()
        return (stopped.value.code or 0, *capsys.readouterr())

    return call
