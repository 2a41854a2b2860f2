"""`solve_frame` a chunk at a time: one DataFrame per chunk of elements, for more elements than memory holds.

    for frame in iter_solve_frame(scenario, {"demand.requests": np.logspace(8, 12, 10**8)},
                                  columns=["optimal_params"]):
        low = min(low, frame["optimal_params"].min())

Each frame holds the rows [start, stop) of the frame `solve_frame` would return, indexed by their global row
numbers (`frame.index` is `RangeIndex(start, stop)`), so `pd.concat(iter_solve_frame(...))` equals
`solve_frame(...)`; memory stays at one chunk's columns whatever the number of elements.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import arrays

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["iter_solve_frame"]


def iter_solve_frame(scenario: "Scenario", overrides: Mapping[str, Any], *, chunk: int | None = None,
                     columns: Sequence[str] | None = None, objective: str | None = None, validate: bool = True,
                     allow_infeasible: bool = False) -> Iterator["pd.DataFrame"]:
    """The rows of `solve_frame(scenario, overrides, ...)` as one DataFrame per `chunk` consecutive elements
    (default `FRAME_CHUNK`, whose chunks are solve_frame's own: the same numbers bit for bit), indexed by global
    row number; `columns`, `objective`, `validate` and `allow_infeasible` as in `solve_frame`. Each frame's
    `attrs["non_finite_rows"]` counts its own rows.

    The overrides, the loss targets and the column names are checked, and the first chunk solved, when this is
    called. Without `allow_infeasible`, the first chunk with an infeasible or non-finite row raises the error
    solve_frame raises (the remaining elements are solved to count the bad rows of all of them); the chunks
    before it have been yielded by then.

    Example:  sum(len(f) for f in iter_solve_frame(scenario, {"training.mfu": np.linspace(0.2, 0.6, 10**6)},
                                                   columns=["optimal_params"]))   # 1000000
    """
    chunk = arrays.FRAME_CHUNK if chunk is None else chunk
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive whole number of elements, got {chunk!r}")
    size, parts = arrays.frame_chunks(scenario, overrides, objective=objective, validate=validate,
                                      allow_infeasible=allow_infeasible, chunk=chunk)
    first = next(parts)
    kept = arrays.kept_columns(scenario, overrides, list(first.columns), columns)
    return _frames(scenario, objective, allow_infeasible, size, first, parts, kept)


def _frames(scenario: "Scenario", objective: str | None, allow_infeasible: bool, size: int,
            first: arrays.FrameChunk, rest: Iterator[arrays.FrameChunk], kept: list[str]) -> Iterator["pd.DataFrame"]:
    import pandas as pd

    for part in itertools.chain([first], rest):
        if not allow_infeasible and (part.infeasible or part.non_finite):
            infeasible, non_finite = part.infeasible, part.non_finite
            for later in rest:  # solve_frame's message counts the bad rows of every element
                infeasible += later.infeasible
                non_finite += later.non_finite
            arrays.raise_bad_rows(scenario, objective, size, infeasible, non_finite)
        frame = pd.DataFrame({name: part.columns[name] for name in kept},
                             index=pd.RangeIndex(part.start, part.stop), copy=False)
        frame.attrs.update({**part.attrs, "non_finite_rows": part.non_finite})
        yield frame

