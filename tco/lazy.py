"""Names a package exports but imports on first use (PEP 562), so importing the package costs nothing.

`tco`, `tco.solve` and `tco.cli` use it: the command line starts the GP worker before it loads pydantic and
the model, and the worker imports the program it solves without the rest of tco.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(`__getattr__`, `__dir__`) for `package`, where `homes` maps each lazy name to the module defining it
    (relative to the package, e.g. ".pipeline"); a name is imported once, then a plain attribute."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        namespace[name] = value  # later uses are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace.get("__all__", ())})

    return __getattr__, __dir__
