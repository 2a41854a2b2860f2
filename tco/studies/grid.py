"""Grid sweeps over any numeric scenario fields: `--vary demand.requests=1e8:1e12:log:50`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TcoError
from ..units import parse_quantity
from .arrays import solve_frame, validate_overrides
from .engine import DEFAULT_CHUNK, run_chunks

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["parse_vary", "grid_sweep", "iter_grid_sweep", "grid_size"]


def parse_vary(spec: str) -> tuple[str, np.ndarray]:
    """'PATH=LOW:HIGH:log|lin:POINTS' or 'PATH=V1,V2,...' -> (path, values). Counts accept 70B, 1.4T, ..."""
    path, sep, values = spec.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise TcoError(f"--vary {spec!r}: expected PATH=LOW:HIGH:log:POINTS, PATH=LOW:HIGH:lin:POINTS or "
                       "PATH=V1,V2,...")
    try:
        if ":" in values:
            parts = values.split(":")
            if len(parts) != 4 or parts[2] not in ("log", "lin"):
                raise ValueError("the range form is LOW:HIGH:log:POINTS or LOW:HIGH:lin:POINTS")
            low, high, scale, count = parse_quantity(parts[0]), parse_quantity(parts[1]), parts[2], int(parts[3])
            if count < 1:
                raise ValueError("POINTS must be at least 1")
            if scale == "log":
                if low <= 0 or high <= 0:
                    raise ValueError("a log range needs positive ends")
                return path, np.logspace(np.log10(low), np.log10(high), count)
            return path, np.linspace(low, high, count)
        return path, np.array([parse_quantity(v) for v in values.split(",")])
    except ValueError as exc:
        raise TcoError(f"--vary {spec!r}: {exc}") from None


def grid_size(axes: Mapping[str, np.ndarray]) -> int:
    return int(np.prod([len(v) for v in axes.values()])) if axes else 0


def _grid_overrides(axes: Mapping[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    shape = tuple(len(v) for v in axes.values())
    index = np.unravel_index(np.arange(start, stop), shape)
    return {path: np.asarray(values)[i] for (path, values), i in zip(axes.items(), index)}


def iter_grid_sweep(scenario: "Scenario", axes: Mapping[str, np.ndarray], *, objective: str | None = None,
                    chunk: int = DEFAULT_CHUNK, engine: str = "local", scheduler: str | None = None,
                    progress: bool = True):
    """Yield the full grid's result frames chunk by chunk (for grids larger than memory)."""
    if not axes:
        raise TcoError("give at least one --vary")
    duplicate = [p for p in axes if list(axes).count(p) > 1]
    if duplicate:
        raise TcoError(f"--vary {duplicate[0]} given twice")
    validate_overrides(scenario, axes)

    def work(index, start, stop):
        return solve_frame(scenario, _grid_overrides(axes, start, stop), objective=objective, validate=False,
                           allow_infeasible=True)

    yield from run_chunks(work, grid_size(axes), chunk=chunk, engine=engine, scheduler=scheduler,
                          progress=progress, description="sweeping")


def grid_sweep(scenario: "Scenario", axes: Mapping[str, np.ndarray], **options) -> "pd.DataFrame":
    """The full grid (every combination of the axes' values) as one DataFrame; infeasible rows are NaN."""
    import pandas as pd

    return pd.concat(list(iter_grid_sweep(scenario, axes, **options)), ignore_index=True)
