"""Law files: a fitted (or hand-written) law in YAML that scenarios point to with `law: laws/our-law.yaml`.

    law:                       # required: the constants, as they would appear inline in a scenario
      name: our-law
      E: 1.82
      A: 482.0
      B: 2085.4
      alpha: 0.348
      beta: 0.366
      source: tco fit runs.csv (sha256 ab12...)
    fit: {...}                 # optional: how it was fitted (method, data hash and size, objective, ...)
    bootstrap:                 # optional: resampled constants, for uncertainty analysis
      columns: [E, A, B, alpha, beta]
      samples: [[...], ...]

A relative path in a scenario is resolved against the scenario file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LawFile", "is_law_path", "load_law_file", "resolve_law_path"]


@dataclass(frozen=True)
class LawFile:
    path: Path
    law: Any  # tco.laws.Law
    fit: dict | None = None
    bootstrap: dict | None = field(default=None, repr=False)


def is_law_path(value: str) -> bool:
    """A `law:` string names a file (rather than a preset) when it looks like a YAML path."""
    return value.lower().endswith((".yaml", ".yml")) or "/" in value or "\\" in value


def resolve_law_path(value: str, base_dir: str | Path | None) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path.resolve()


def load_law_file(path: str | Path) -> LawFile:
    """Read and validate a law file. Raises ValueError with a one-line message naming the problem."""
    from pydantic import TypeAdapter, ValidationError

    from .errors import ScenarioError
    from .scenario.load import read_yaml
    from .scenario.schema import ChinchillaConstants, ConstantsSpec, KaplanConstants

    path = Path(path)
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise ValueError(f"law file {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("law"), dict):
        raise ValueError(f"law file {path}: needs a top-level `law:` mapping of constants (E, A, B, alpha, beta)")
    try:
        spec: ChinchillaConstants | KaplanConstants = TypeAdapter(ConstantsSpec).validate_python(data["law"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("chinchilla", "kaplan"))
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"law file {path}: law.{where}: {message}") from None
    return LawFile(path=path, law=spec.to_law(), fit=data.get("fit"), bootstrap=data.get("bootstrap"))
