"""A table of named numpy columns: what array studies return before (or instead of) a pandas DataFrame.

The optimize path's workbook reads its 50-point demand sweep from one of these, so `tco optimize` never imports
pandas (about 0.4 s of a cold start, with pyarrow); `to_pandas()` gives the DataFrame the study APIs return. It
answers the few DataFrame look-ups the report makes: `columns`, `attrs`, `len`, `table[name]`, `table[[names]]`
and `itertuples(index=False)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnTable"]


class ColumnTable:
    """Named 1-D columns of equal length, in order, with `attrs` (as a DataFrame's)."""

    __slots__ = ("_columns", "attrs")

    def __init__(self, columns: Mapping[str, np.ndarray], attrs: Mapping[str, Any] | None = None):
        self._columns = {name: np.asarray(values) for name, values in columns.items()}
        lengths = {len(values) for values in self._columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal lengths {sorted(lengths)}")
        self.attrs: dict[str, Any] = dict(attrs or {})

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    @overload
    def __getitem__(self, key: str) -> np.ndarray: ...

    @overload
    def __getitem__(self, key: list[str]) -> "ColumnTable": ...

    def __getitem__(self, key):
        if isinstance(key, list):
            return ColumnTable({name: self._columns[name] for name in key}, self.attrs)
        return self._columns[key]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)
        if self._columns and len(values) != len(self):
            raise ValueError(f"column {name!r} has {len(values)} values, the table {len(self)} rows")
        self._columns[name] = values

    def insert(self, position: int, name: str, values: np.ndarray) -> None:
        """Add column `name` at `position` (as DataFrame.insert)."""
        items = list(self._columns.items())
        items.insert(position, (name, np.asarray(values)))
        self._columns = dict(items)

    def rename(self, names: Mapping[str, str]) -> "ColumnTable":
        """A table with the columns renamed (`names`: old -> new; others keep theirs)."""
        return ColumnTable({names.get(k, k): v for k, v in self._columns.items()}, self.attrs)

    def itertuples(self, index: bool = False) -> Iterator[tuple]:
        """The rows as tuples of numpy scalars (no index column: index=True is not supported)."""
        if index:
            raise ValueError("a ColumnTable has no index")
        return zip(*self._columns.values())

    def to_pandas(self) -> "pd.DataFrame":
        """The DataFrame of these columns (not copied) and attrs."""
        import pandas as pd

        frame = pd.DataFrame(self._columns, copy=False)
        frame.attrs.update(self.attrs)
        return frame
