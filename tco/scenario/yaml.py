"""Reading YAML files: the safe loader, duplicate keys refused, every failure one ScenarioError line that names the
file, line and column. Scenario files and law files are read through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError

__all__ = ["read_yaml"]


class _DuplicateKey(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: a repeated `price_usd_per_hour` would silently win otherwise."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise _DuplicateKey(f"line {mark.line + 1}, column {mark.column + 1}: duplicate key {key!r}; "
                                "each key may appear once (a repeated key would silently override the first)")
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file with the safe loader; errors name the file, line and column."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", source=source) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read file: {exc}", source=source) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except _DuplicateKey as exc:
        raise ScenarioError(str(exc), source=source) from None
    except yaml.constructor.ConstructorError as exc:
        where = _mark(exc)
        if exc.problem and "constructor for the tag" in exc.problem:
            raise ScenarioError(
                f"{where}YAML tag {_tag(exc.problem)} is not allowed: scenario files are plain data "
                "(tco reads them with yaml.safe_load)",
                source=source,
            ) from None
        raise ScenarioError(f"{where}malformed YAML: {exc.problem}", source=source) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{_mark(exc)}malformed YAML: {problem}", source=source) from None


def _mark(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


def _tag(problem: str) -> str:
    """The tag as the user wrote it: 'tag:yaml.org,2002:python/object' -> '!!python/object'."""
    return problem.split("tag", 1)[-1].strip().strip("'").replace("tag:yaml.org,2002:", "!!")
