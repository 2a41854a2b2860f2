"""Studies: many solves of one scenario (arrays of overrides, demand sweeps, grids, sensitivity, Monte Carlo,
break-even, robust design), and the solves a workbook needs (`prepare`). Each lives in its own module
(`tco.studies.sweep`, `tco.studies.montecarlo`, ...); this package imports none of them until asked, so
`tco --help` and the plain optimize path stay light."""

from __future__ import annotations

from typing import Any

__all__ = ["prepare"]


def __getattr__(name: str) -> Any:
    if name == "prepare":
        from .workbook import prepare

        return prepare
    raise AttributeError(f"module 'tco.studies' has no attribute {name!r}")
