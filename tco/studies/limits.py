"""Size limits, checked before a study starts: counts must be whole and positive, and a run whose projected
memory, disk or time exceeds the documented limits is refused unless the caller allows it (`--allow-large`).

The per-row figures were measured on the shared 2-core development machine (README, "Limits"):

- a sweep row is ~800 bytes in memory (the chunk's frame) and ~780 bytes of CSV; writing a 1M-point sweep took
  ~40 s (the CSV writer dominates), so 40 us a row;
- a Monte Carlo sample keeps 9 floats twice (the chunks' arrays and the draws frame) and its chunk's working
  arrays need ~1 kB an element; 100,000 samples take ~0.2-0.5 s, so 5 us a sample;
- `tco robust` solves a program with one loss row per sample once per discarded sample: ~0.5 ms per row and
  solve (100 samples at q = 0.9: ~1 s, 300: ~3.4 s), plus the 100,000-law validation;
- an allocation row costs ~50 us and ~2 kB (a dict and its table row);
- `tco fit` on 250 runs (benchmarks/bench_fit.py): ~1.5 ms a start and ~17 ms a bootstrap resample, both
  growing with the runs;
- a row of a workbook's demand sweep (`--sweep` of optimize and report) costs ~0.7 ms and ~15 kB while the
  workbook is built (a 20,000-point sweep: ~13 s, 350 MB).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from ..errors import TcoError

__all__ = [
    "MAX_MEMORY_BYTES", "MAX_DISK_BYTES", "MAX_SECONDS", "MAX_SAMPLES", "ALLOW_FLAG", "Projection", "check_count",
    "check_projection", "sweep_projection", "montecarlo_projection", "robust_projection", "allocate_projection",
    "workbook_sweep_projection", "fit_projection",
]

#: Limits a run must stay under unless allowed explicitly (`--allow-large`, or allow_large=True in Python).
MAX_MEMORY_BYTES = 4e9
MAX_DISK_BYTES = 4e9
MAX_SECONDS = 600.0
#: The hard cap on Monte Carlo samples (the same as the scenario's `uncertainty.samples`), even when allowed.
MAX_SAMPLES = 1_000_000_000
ALLOW_FLAG = "--allow-large"

SWEEP_ROW_MEMORY = 800.0
SWEEP_ROW_DISK = 800.0
SWEEP_ROW_SECONDS = 40e-6
MONTECARLO_SAMPLE_MEMORY = 160.0
MONTECARLO_CHUNK_ELEMENT_MEMORY = 1000.0
MONTECARLO_SAMPLE_SECONDS = 5e-6
ROBUST_ROW_SOLVE_SECONDS = 5e-4
ROBUST_SAMPLE_MEMORY = 20e3
ROBUST_VALIDATION_SECONDS = 1.0
FIT_START_SECONDS = 1.5e-3
FIT_RESAMPLE_SECONDS = 17e-3
FIT_REFERENCE_RUNS = 250
WORKBOOK_SWEEP_ROW_SECONDS = 0.7e-3
WORKBOOK_SWEEP_ROW_MEMORY = 15e3
ALLOCATE_ROW_SECONDS = 50e-6
ALLOCATE_ROW_MEMORY = 2e3


@dataclass(frozen=True)
class Projection:
    """What a run would need: `what` names the input that sets its size (e.g. "--samples 100000")."""

    what: str
    rows: int
    memory_bytes: float = 0.0
    disk_bytes: float = 0.0
    seconds: float = 0.0
    unit: str = "rows"


def check_count(name: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number >= minimum (and <= maximum): the value as an int, or a TcoError naming `name`."""
    if isinstance(value, bool):
        raise TcoError(f"{name}: expected a whole number, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]  # ints and numpy integers; else TypeError
    except TypeError:
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            number = int(value)
        else:
            raise TcoError(f"{name}: expected a whole number, got {value!r}") from None
    if number < minimum:
        raise TcoError(f"{name}: must be at least {minimum:,}, got {number:,}")
    if maximum is not None and number > maximum:
        raise TcoError(f"{name}: must be at most {maximum:,}, got {number:,}")
    return number


def _size(value: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value / 1e3:,.0f} kB"


def _duration(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:,.0f} days"
    if seconds >= 3_600:
        return f"{seconds / 3_600:,.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds:,.0f} s"


def check_projection(projection: Projection, *, allow_large: bool = False) -> None:
    """Refuse a run over the limits, before it starts, with one line naming what sets its size."""
    if allow_large:
        return
    over = []
    if projection.memory_bytes > MAX_MEMORY_BYTES:
        over.append(f"~{_size(projection.memory_bytes)} of memory (limit {_size(MAX_MEMORY_BYTES)})")
    if projection.disk_bytes > MAX_DISK_BYTES:
        over.append(f"~{_size(projection.disk_bytes)} on disk (limit {_size(MAX_DISK_BYTES)})")
    if projection.seconds > MAX_SECONDS:
        over.append(f"~{_duration(projection.seconds)} (limit {_duration(MAX_SECONDS)})")
    if over:
        raise TcoError(f"{projection.what}: {projection.rows:,} {projection.unit} would need {', '.join(over)}; "
                       f"make it smaller, or pass {ALLOW_FLAG} to run it anyway")


def sweep_projection(what: str, points: int, chunk: int, *, keep_for_workbook: bool = False) -> Projection:
    """A grid of `points` rows streamed in chunks (kept whole, and written to a workbook, when it gets one)."""
    memory, seconds = min(points, chunk) * SWEEP_ROW_MEMORY, points * SWEEP_ROW_SECONDS
    if keep_for_workbook:
        memory = points * (SWEEP_ROW_MEMORY + WORKBOOK_SWEEP_ROW_MEMORY)
        seconds += points * WORKBOOK_SWEEP_ROW_SECONDS
    return Projection(what, points, memory_bytes=memory, disk_bytes=points * SWEEP_ROW_DISK, seconds=seconds)


def montecarlo_projection(what: str, samples: int, chunk: int) -> Projection:
    return Projection(what, samples, unit="samples",
                      memory_bytes=samples * MONTECARLO_SAMPLE_MEMORY
                      + min(samples, chunk) * MONTECARLO_CHUNK_ELEMENT_MEMORY,
                      seconds=samples * MONTECARLO_SAMPLE_SECONDS)


def robust_projection(what: str, samples: int, quantile: float) -> Projection:
    solves = math.floor((1 - quantile) * samples + 1e-9) + 1
    return Projection(what, samples, unit="samples", memory_bytes=samples * ROBUST_SAMPLE_MEMORY,
                      seconds=ROBUST_ROW_SOLVE_SECONDS * samples * solves + ROBUST_VALIDATION_SECONDS)


def allocate_projection(what: str, budgets: int) -> Projection:
    return Projection(what, budgets, unit="budgets", memory_bytes=budgets * ALLOCATE_ROW_MEMORY,
                      seconds=budgets * ALLOCATE_ROW_SECONDS)


def workbook_sweep_projection(what: str, points: int, workbooks: int = 1) -> Projection:
    """The demand sweep sheet of `workbooks` workbooks, `points` rows each."""
    return Projection(what, points * workbooks, memory_bytes=points * workbooks * WORKBOOK_SWEEP_ROW_MEMORY,
                      seconds=points * workbooks * WORKBOOK_SWEEP_ROW_SECONDS)


def fit_projection(what: str, starts: int, resamples: int, runs: int) -> Projection:
    """`tco fit`: the grid of starts, then `resamples` bootstrap refits, on `runs` training runs."""
    scale = max(runs, FIT_REFERENCE_RUNS) / FIT_REFERENCE_RUNS
    return Projection(what, starts + resamples, unit="fits",
                      seconds=(starts * FIT_START_SECONDS + resamples * FIT_RESAMPLE_SECONDS) * scale)
