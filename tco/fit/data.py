"""Training runs for `tco fit`: read a CSV of (parameters, tokens, final loss), validate every cell.

Every problem is a `FitDataError` (a TcoError): one line naming the file, the row and the column, e.g.
``runs.csv: row 3 (file line 4), column 'tokens': -5 is not positive``. Rows are counted from 1 for the first
run; the header is file line 1.

Limits: the file must be a regular file (not a FIFO, device or directory) of at most `MAX_CSV_BYTES`, with at
most `MAX_RUNS` runs. The batched first pass of the fit evaluates 256 starts x every run at once, so memory grows
with the run count; published fits use hundreds of runs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TcoError
from ..inputs import InputFileError, read_regular_file, read_text_table
from ..text import NAME_MAX_CHARS, one_line

__all__ = ["FitDataError", "Runs", "read_runs", "runs_from_arrays", "MIN_RUNS_PARAMETRIC", "MAX_RUNS",
           "MAX_CSV_BYTES"]

#: The parametric law has five constants (E, A, B, alpha, beta): fewer runs cannot pin them down.
MIN_RUNS_PARAMETRIC = 5
#: Most runs (data rows) a runs file may have: the fit's batched pass holds 256 x runs floats per array.
MAX_RUNS = 10_000
#: Largest runs file read (its bytes are hashed for provenance, so they are read whole).
MAX_CSV_BYTES = 100_000_000


class FitDataError(TcoError, ValueError):
    """The runs cannot be fitted: a missing column, a bad cell, too few runs or budgets. One line."""


@dataclass(frozen=True)
class Runs:
    """Validated runs: positive finite arrays of equal length, with where they came from."""

    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    name: str = "<runs>"  # the data file's name (or a label)
    sha256: str = ""  # of the data file's bytes ("" for in-memory runs)
    rows: np.ndarray | None = None  # 1-based row number of each run in the file

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def flops(self) -> np.ndarray:
        return 6.0 * self.params * self.tokens

    def row_numbers(self) -> np.ndarray:
        return self.rows if self.rows is not None else np.arange(1, len(self) + 1)

    def take(self, index) -> "Runs":
        """The runs at `index` (a resample, a budget group), keeping their row numbers."""
        return Runs(self.params[index], self.tokens[index], self.loss[index], self.name, self.sha256,
                    self.row_numbers()[index])


def _where(name: str, row: int, column: str) -> str:
    return f"{name}: row {row} (file line {row + 1}), column {column!r}"


def _check_values(name: str, columns: dict[str, Iterable[Any]], rows=None) -> dict[str, np.ndarray]:
    """Every cell a finite positive number; raises FitDataError naming the first bad row and column."""
    out = {}
    for column, values in columns.items():
        cells = list(values)
        numbers = np.empty(len(cells))
        for i, cell in enumerate(cells):
            row = int(rows[i]) if rows is not None else i + 1
            text = "" if cell is None else str(cell).strip()
            if text == "" or text.lower() in {"nan", "na", "n/a", "null", "none"} or (
                isinstance(cell, float) and math.isnan(cell)
            ):
                raise FitDataError(f"{_where(name, row, column)}: empty cell or NaN; every run needs a value")
            try:
                number = float(text.replace("_", "")) if isinstance(cell, str) else float(cell)
            except (TypeError, ValueError):
                raise FitDataError(f"{_where(name, row, column)}: {text!r} is not a number") from None
            if not math.isfinite(number):
                raise FitDataError(f"{_where(name, row, column)}: {text} is not a finite number")
            if number <= 0:
                raise FitDataError(f"{_where(name, row, column)}: {text} is not positive (must be > 0)")
            numbers[i] = number
        out[column] = numbers
    return out


def _check_count(name: str, n: int, minimum: int) -> None:
    if n < minimum:
        raise FitDataError(
            f"{name}: {n} run{'s' if n != 1 else ''}; the parametric law has {MIN_RUNS_PARAMETRIC} constants "
            f"(E, A, B, alpha, beta) and needs at least {minimum} runs"
        )


def _check_spread(name: str, params: np.ndarray, tokens: np.ndarray) -> None:
    for label, values in (("model sizes (parameters)", params), ("token counts", tokens)):
        if len(np.unique(values)) < 2:
            raise FitDataError(f"{name}: all runs share one of the {label}; the law needs at least two to fit "
                               "how the loss changes with them")


def runs_from_arrays(params, tokens, loss, *, name: str = "<runs>", min_runs: int = MIN_RUNS_PARAMETRIC) -> Runs:
    """Runs from in-memory sequences (a notebook, a test), validated as a CSV would be."""
    name = one_line(name, NAME_MAX_CHARS)
    lengths = {len(params), len(tokens), len(loss)}
    if len(lengths) != 1:
        raise FitDataError(f"{name}: params, tokens and loss have different lengths {sorted(lengths)}")
    values = _check_values(name, {"params": params, "tokens": tokens, "loss": loss})
    _check_count(name, len(values["loss"]), min_runs)
    _check_spread(name, values["params"], values["tokens"])
    return Runs(values["params"], values["tokens"], values["loss"], name=name)


def read_runs(
    path: str | Path,
    *,
    params_col: str = "params",
    tokens_col: str = "tokens",
    loss_col: str = "loss",
    min_runs: int = MIN_RUNS_PARAMETRIC,
) -> Runs:
    """Read and validate a CSV of runs. Extra columns are ignored; the file's sha256 is kept for provenance."""

    path = Path(path)
    try:
        raw = read_regular_file(path, limit=MAX_CSV_BYTES, what="runs file (CSV)")
    except InputFileError as exc:
        raise FitDataError(f"{path}: {exc}") from None
    # The file name travels into the law file, its source, the plot and the terminal: one visible line.
    name = one_line(path.name, NAME_MAX_CHARS)
    try:
        frame = read_text_table(raw, max_rows=MAX_RUNS)
    except InputFileError as exc:
        raise FitDataError(f"{name}: {exc}") from None
    if len(frame) > MAX_RUNS:
        raise FitDataError(f"{name}: more than {MAX_RUNS:,} runs; tco fit reads at most {MAX_RUNS:,} (memory grows "
                           "with the run count; fits use hundreds): sample or aggregate the runs")
    frame.columns = [str(c).strip() for c in frame.columns]
    options = {params_col: "--params-col", tokens_col: "--tokens-col", loss_col: "--loss-col"}
    for column, option in options.items():
        if column not in frame.columns:
            present = ", ".join(repr(c) for c in frame.columns) or "none"
            raise FitDataError(f"{name}: no column {column!r} (columns present: {present}); "
                               f"name the right one with {option}")
    rows = np.arange(1, len(frame) + 1)
    values = _check_values(name, {c: frame[c].tolist() for c in options}, rows)
    _check_count(name, len(frame), min_runs)
    _check_spread(name, values[params_col], values[tokens_col])
    return Runs(values[params_col], values[tokens_col], values[loss_col], name=name,
                sha256=hashlib.sha256(raw).hexdigest(), rows=rows)
