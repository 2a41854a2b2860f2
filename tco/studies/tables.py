"""Sweep tables to CSV through polars: the same values as pandas' `to_csv`, about thirty times faster.

pandas formats each float in Python (~50 us a row of a sweep's ~40 columns); pyarrow's `write_csv` formats in
C++ on one thread (~90-170 ns a double, so a 1e6-point sweep spent 4-7 s writing 41M numbers); polars formats
with Ryu on every core (~25 ns a double here) and writes the shortest text that reads back to the same double,
so `pandas.read_csv` of the file gives the frame's floats to the last bit and its dtypes
(tests/test_speed_paths.py). Polars writes a whole float as pandas does ("2.0", so a column of whole numbers
reads back as floats), booleans as true/false (read back as booleans), NaN as "NaN" and infinities as "inf",
and quotes a field only where it must. Each chunk is appended to the open file, so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..results.table import ColumnTable

__all__ = ["CsvWriter", "append_csv"]


class CsvWriter:
    """One CSV file written frame after frame (a sweep's chunks); the first frame's columns are the header."""

    def __init__(self, path: Path | str):
        self._file = open(path, "wb")
        self._columns: list[str] | None = None

    def write(self, frame: "pd.DataFrame | ColumnTable") -> None:
        import polars as pl

        if hasattr(frame, "iloc"):  # a pandas frame
            table = pl.from_pandas(frame)
        else:  # a ColumnTable: its numpy columns
            table = pl.DataFrame({name: frame[name] for name in frame.columns})
        first = self._columns is None
        if first:
            self._columns = list(table.columns)
        elif table.columns != self._columns:
            raise ValueError(f"a later chunk has other columns than the first ({table.columns[:3]}...)")
        table.write_csv(self._file, include_header=first)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CsvWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def append_csv(writer: CsvWriter | None, path: Path, frame: "pd.DataFrame | ColumnTable") -> CsvWriter:
    """Append `frame` to the CSV at `path`: a new writer (and file) for the first frame; close it at the end."""
    if writer is None:
        writer = CsvWriter(path)
    writer.write(frame)
    return writer
