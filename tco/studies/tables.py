"""Sweep tables to CSV through pyarrow: the same values as pandas' `to_csv`, about ten times faster.

pandas formats each float in Python (~50 us a row of a sweep's ~40 columns); pyarrow formats them in C++ with
the shortest text that reads back to the same double, so `pandas.read_csv` of the file gives the frame's floats
to the last bit and its dtypes (tests/test_speed_paths.py). pyarrow writes an integral float without ".0" (2.0 as
"2"), which would make a column of whole numbers (a zero cost, a list of prices) read back as integers, so those
values get their ".0" as pandas writes them; booleans are written true/false (read back as booleans). The header
is written as pandas writes it (quoted only where needed). Blocks of rows are formatted on worker threads
(pyarrow releases the GIL) and written in order, a few blocks in flight, so memory stays bounded.
"""

from __future__ import annotations

import csv
import io
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..results.table import ColumnTable

__all__ = ["CsvWriter", "append_csv", "CSV_BLOCK_ROWS"]

#: Whole numbers below this are the ones pyarrow may write as bare digits (it writes 1e15 as "1e+15"); the
#: regular expression below decides, this bound only skips columns that cannot hold one.
_PLAIN_BELOW = 1e16
#: Rows formatted per block: ~45 MB of text for a sweep's ~40 columns; a few blocks are in flight at once.
CSV_BLOCK_ROWS = 65_536


class CsvWriter:
    """One CSV file written frame after frame (a sweep's chunks); the first frame's columns are the header."""

    def __init__(self, path: Path | str, *, threads: int | None = None):
        self._file = open(path, "wb")
        self._schema: Any = None
        self._threads = max(1, min(4, threads or os.cpu_count() or 1))

    def write(self, frame: "pd.DataFrame | ColumnTable") -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if isinstance(frame, pa.Table):
            table = frame
        elif hasattr(frame, "to_pandas"):  # a ColumnTable: its numpy columns, not copied
            table = pa.table({name: frame[name] for name in frame.columns})
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._schema is None:
            self._schema = table.schema
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerow(table.column_names)  # as pandas quotes it
            self._file.write(text.getvalue().encode())
        elif table.column_names != self._schema.names:
            raise ValueError(f"a later chunk has other columns than the first ({table.column_names[:3]}...)")
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")

        def block(start: int) -> bytes:
            sink = pa.BufferOutputStream()
            pacsv.write_csv(_with_decimal_points(table.slice(start, CSV_BLOCK_ROWS)), sink, write_options=options)
            return sink.getvalue().to_pybytes()

        starts = range(0, table.num_rows, CSV_BLOCK_ROWS)
        if self._threads == 1 or len(starts) <= 1:
            for start in starts:
                self._file.write(block(start))
            return
        with ThreadPoolExecutor(self._threads) as pool:
            pending: deque[Future[bytes]] = deque()
            for start in starts:
                pending.append(pool.submit(block, start))
                if len(pending) > 2 * self._threads:  # bounded: write the oldest block before formatting more
                    self._file.write(pending.popleft().result())
            while pending:
                self._file.write(pending.popleft().result())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CsvWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _with_decimal_points(table):
    """`table` with each float column that holds whole numbers as text, "2.0" where pyarrow would write "2"."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    for k, column in enumerate(table.columns):
        if not pa.types.is_floating(column.type):
            continue
        values = column.to_numpy()
        with np.errstate(invalid="ignore"):  # pyarrow writes 1e15 and above with an exponent ("1e+15")
            if not np.any((values == np.trunc(values)) & (np.abs(values) < _PLAIN_BELOW)):
                continue  # the common case, no whole number written as digits alone: the fast path
        text = pc.cast(column, pa.string())
        whole = pc.match_substring_regex(text, r"^-?[0-9]+$")
        table = table.set_column(k, table.field(k).with_type(pa.string()),
                                 pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text))
    return table


def append_csv(writer: CsvWriter | None, path: Path, frame: "pd.DataFrame | ColumnTable") -> CsvWriter:
    """Append `frame` to the CSV at `path`: a new writer (and file) for the first frame; close it at the end."""
    if writer is None:
        writer = CsvWriter(path)
    writer.write(frame)
    return writer
