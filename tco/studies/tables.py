"""Sweep tables to CSV through pyarrow: the same values as pandas' `to_csv`, about ten times faster.

pandas formats each float in Python (~50 us a row of a sweep's ~40 columns); pyarrow formats them in C++ with
the shortest text that reads back to the same double, so `pandas.read_csv` of the file gives the frame's floats
to the last bit and its dtypes (tests/test_speed_paths.py). pyarrow writes an integral float without ".0" (2.0 as
"2"), which would make a column of whole numbers (a zero cost, a list of prices) read back as integers, so such
a column's values get their ".0" as pandas writes them; booleans are written true/false (read back as
booleans). The header is written as pandas writes it (quoted only where needed). pyarrow streams each chunk to
the file in batches of rows, so memory stays bounded.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..results.table import ColumnTable

__all__ = ["CsvWriter", "append_csv"]

#: Whole numbers below this are the ones pyarrow may write as bare digits (it writes 1e15 as "1e+15"); the
#: regular expression below decides, this bound only skips columns that cannot need it.
_PLAIN_BELOW = 1e16


class CsvWriter:
    """One CSV file written frame after frame (a sweep's chunks); the first frame's columns are the header."""

    def __init__(self, path: Path | str):
        self._file = open(path, "wb")
        self._columns: list[str] | None = None

    def write(self, frame: "pd.DataFrame | ColumnTable") -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if isinstance(frame, pa.Table):
            table = frame
        elif hasattr(frame, "to_pandas"):  # a ColumnTable: its numpy columns, not copied
            table = pa.table({name: frame[name] for name in frame.columns})
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._columns is None:
            self._columns = list(table.column_names)
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerow(self._columns)  # as pandas quotes it
            self._file.write(text.getvalue().encode())
        elif table.column_names != self._columns:
            raise ValueError(f"a later chunk has other columns than the first ({table.column_names[:3]}...)")
        # each chunk's float columns are formatted by pyarrow (its threads), streamed to the open file
        pacsv.write_csv(_with_decimal_points(table), self._file,
                        write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CsvWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _with_decimal_points(table):
    """`table` with each float column of only whole numbers as text, "2.0" where pyarrow would write "2"."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    for k, column in enumerate(table.columns):
        if not pa.types.is_floating(column.type):
            continue
        values = column.to_numpy()
        # pandas reads a column as floats when any of its values looks like one ("2.5", "1e+15", an empty
        # field): only a block whose every value is a whole number pyarrow may write as bare digits (below
        # 1e15 it does, "1e+15" from there) needs its ".0"s
        with np.errstate(invalid="ignore"):
            if not np.all((values == np.trunc(values)) & (np.abs(values) < _PLAIN_BELOW)):
                continue  # the common case: the fast path
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
