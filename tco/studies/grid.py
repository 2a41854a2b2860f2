"""Grid sweeps over any numeric scenario fields: `--vary demand.requests=1e8..1e12:50`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TcoError
from ..ranges import Span, parse_values
from .arrays import solve_frame, validate_overrides
from .engine import DEFAULT_CHUNK, run_chunks
from .limits import SWEEP_ROW_MEMORY, SWEEP_ROW_SECONDS, Projection, check_count, check_projection, sweep_projection

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["parse_vary", "vary_points", "parse_grid", "grid_sweep", "iter_grid_sweep", "grid_size"]


def _parse_vary(spec: str) -> tuple[str, Span | np.ndarray]:
    """(path, Span) for a range, (path, values) for a list (`tco.ranges`); nothing large is built."""
    path, sep, values = spec.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise TcoError(f"--vary {spec!r}: expected PATH=LOW..HIGH:POINTS (log-spaced), PATH=LOW..HIGH:POINTS:lin "
                       "or PATH=V1,V2,...")
    return path, parse_values(f"--vary {path}", values)


def vary_points(spec: str) -> tuple[str, int]:
    """(path, number of values) of a --vary spec, checked, without building its values."""
    path, parsed = _parse_vary(spec)
    return path, parsed.points if isinstance(parsed, Span) else len(parsed)


def parse_vary(spec: str) -> tuple[str, np.ndarray]:
    """'PATH=LOW..HIGH:POINTS[:lin]' or 'PATH=V1,V2,...' -> (path, values) (`tco.ranges`; the old
    'PATH=LOW:HIGH:log|lin:POINTS' still reads). Counts accept 70B, 1.4T, ...

    Example:  parse_vary("demand.requests=1e8..1e12:5") -> ("demand.requests", array([1e8, ..., 1e12]))"""
    path, parsed = _parse_vary(spec)
    return path, parsed.values() if isinstance(parsed, Span) else parsed


def parse_grid(specs: Sequence[str], *, chunk: int = DEFAULT_CHUNK, keep_for_workbook: bool = False,
               allow_large: bool = False) -> dict[str, np.ndarray]:
    """Every --vary spec -> the grid's axes: a path given twice, or a grid over the size limits
    (`tco.studies.limits`, unless allow_large), is refused before any value is built."""
    if not specs:
        raise TcoError("give at least one --vary")
    sizes: dict[str, int] = {}
    for spec in specs:
        path, count = vary_points(spec)
        if path in sizes:
            raise TcoError(f"--vary {path}: the path is given twice; give each path once (a list or a range)")
        sizes[path] = count
    points = math.prod(sizes.values())
    check_projection(sweep_projection(f"--vary grid {' x '.join(f'{n:,}' for n in sizes.values())}", points,
                                      chunk, keep_for_workbook=keep_for_workbook), allow_large=allow_large)
    return dict(parse_vary(spec) for spec in specs)


def grid_size(axes: Mapping[str, np.ndarray]) -> int:
    return math.prod(len(v) for v in axes.values()) if axes else 0


def _grid_overrides(axes: Mapping[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    shape = tuple(len(v) for v in axes.values())
    index = np.unravel_index(np.arange(start, stop), shape)
    return {path: np.asarray(values)[i] for (path, values), i in zip(axes.items(), index)}


def iter_grid_sweep(scenario: "Scenario", axes: Mapping[str, np.ndarray], *, objective: str | None = None,
                    chunk: int = DEFAULT_CHUNK, engine: str = "local", scheduler: str | None = None,
                    progress: bool = True, allow_large: bool = False):
    """Yield the full grid's result frames chunk by chunk (for grids larger than memory).

    A grid over the size limits of `tco.studies.limits` is refused unless allow_large.

    Example:  for frame in iter_grid_sweep(scenario, axes, chunk=100_000, progress=False): frame.to_csv(...)"""
    if not axes:
        raise TcoError("give at least one --vary")
    chunk = check_count("chunk", chunk)
    check_projection(sweep_projection("the grid", grid_size(axes), chunk), allow_large=allow_large)
    validate_overrides(scenario, axes)

    def work(index, start, stop):
        return solve_frame(scenario, _grid_overrides(axes, start, stop), objective=objective, validate=False,
                           allow_infeasible=True)

    yield from run_chunks(work, grid_size(axes), chunk=chunk, engine=engine, scheduler=scheduler,
                          progress=progress, description="sweeping")


def grid_sweep(scenario: "Scenario", axes: Mapping[str, np.ndarray], **options) -> "pd.DataFrame":
    """The full grid (every combination of the axes' values) as one DataFrame; infeasible rows are NaN.

    The whole frame is held in memory, so it is what the size limits check (unless allow_large=True).

    Example:  grid_sweep(scenario, dict([parse_vary("demand.requests=1e8..1e12:5"),
                                         parse_vary("training.price_usd_per_hour=1,2,4")]), progress=False)"""
    import pandas as pd

    points = grid_size(axes)
    check_projection(Projection("the grid", points, memory_bytes=points * SWEEP_ROW_MEMORY,
                                seconds=points * SWEEP_ROW_SECONDS), allow_large=options.get("allow_large", False))
    return pd.concat(list(iter_grid_sweep(scenario, axes, **options)), ignore_index=True)
