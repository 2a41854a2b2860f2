"""YAML (safe_load only) -> validated Scenario. Every failure becomes one ScenarioError line:
``FILE: field.path: what is wrong``."""

from __future__ import annotations

import reprlib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import FieldError, ScenarioError
from ..text import NAME_MAX_CHARS, closest_name, one_line
from .schema import Scenario
from .yaml import read_yaml

__all__ = ["load_scenario", "scenario_from_dict", "read_yaml"]

# Labels pydantic puts into error locations for union members and tagged unions; not field names.
_UNION_LABELS = {"preset", "chinchilla", "kaplan", "moe", "str", "HardwareSpec", "float", "int", "dtype name",
                 "weight-only"}


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file. The scenario's name defaults to the file's stem."""
    path = Path(path)
    data = read_yaml(path)
    if isinstance(data, dict):
        # A file name may hold anything a name may not (newlines, escapes): the default is its visible form.
        data.setdefault("name", one_line(path.stem, NAME_MAX_CHARS))
    scenario = scenario_from_dict(data, source=str(path), base_dir=path.parent)
    scenario._source = str(path)
    return scenario


def scenario_from_dict(data: Any, source: str = "<scenario>", base_dir: str | Path | None = None) -> Scenario:
    """Validate a plain dict (as a notebook would build it) into a Scenario; errors as for files.

    `base_dir` is where relative paths inside the scenario (a law file) are resolved; default: the working folder.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(f"the top level must be a mapping of fields (name, law, target, ...), got {kind}",
                            source=source)
    try:
        return Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    except FieldError as exc:
        raise ScenarioError(exc.message, source=source, path=exc.path) from None


#: At most this many problems are reported, one line each; a last line counts the rest.
MAX_PROBLEMS = 5


def _first_error(exc: ValidationError, source: str) -> ScenarioError:
    """Every problem pydantic found (up to MAX_PROBLEMS), one line each, as one ScenarioError."""
    errors = exc.errors()
    # Union members that failed only because the input had another shape are noise next to a real error.
    shape_errors = {"string_type", "model_type", "dict_type", "model_attributes_type"}
    real = [e for e in errors if e["type"] not in shape_errors] or errors
    # A misspelt key shows up twice: as an unknown key and as the missing one. The typo is the news, so it
    # comes first and the missing field it explains is dropped.
    unknown = [e for e in real if e["type"] == "extra_forbidden"]
    real = [e for e in real if not _explained_by_typo(e, unknown)]
    real.sort(key=lambda e: e["type"] != "extra_forbidden")
    problems: list[tuple[tuple, str]] = []
    for error in real:
        problem = _problem(error)
        if problem not in problems:  # union members can repeat one problem
            problems.append(problem)
    shown = problems[:MAX_PROBLEMS]
    rest = len(problems) - len(shown)
    if rest:
        path, message = shown[-1]
        shown[-1] = (path, f"{message} (and {rest} more problem{'s' if rest > 1 else ''})")
    (path, message), *also = shown
    return ScenarioError(message, source=source, path=path, also=tuple(also))


def _explained_by_typo(error: ErrorDetails, unknown: list[ErrorDetails]) -> bool:
    """A missing field next to an unknown key that reads like it (`targett` for `target`)."""
    if error["type"] != "missing":
        return False
    parent, name = error["loc"][:-1], str(error["loc"][-1])
    keys = [str(e["loc"][-1]) for e in unknown if e["loc"][:-1] == parent]
    return closest_name(name, keys) is not None


def _problem(error: ErrorDetails) -> tuple[tuple, str]:
    """(field path, message) of one pydantic error."""
    # A key as long as a file would make the line as long: cut long parts of the path (and quoted values below).
    path = tuple(p if len(str(p)) <= 60 else f"{str(p)[:57]}..." for p in error["loc"]
                 if p not in _UNION_LABELS and not _validator_label(p))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        return path + cause.path, cause.message
    if error["type"] == "extra_forbidden":
        return path, _unknown_key_message(path)
    if error["type"] == "missing":
        return path, "missing required field"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] in {"float_type", "float_parsing", "literal_error", "string_type", "finite_number"}:
        message += f" (got {_quoted(error.get('input'))})"
    return path, message


def _validator_label(part) -> bool:
    """pydantic's label for a union member that is a validated type, e.g. 'function-after[check(), str]'."""
    return isinstance(part, str) and part.startswith("function-") and part.endswith("]")


def _quoted(value: Any, limit: int = 80) -> str:
    """repr of an input value for a message, cut to `limit` characters: a huge value must not make a huge line."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_REPR = reprlib.Repr()  # never builds the whole repr of a large list or string
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 3, 6, 6, 80, 80


def _unknown_key_message(path: tuple) -> str:
    key = str(path[-1])
    allowed = _fields_at(path[:-1])
    if not allowed:
        return f"unknown key {_quoted(key)}"
    hint = closest_name(key, allowed)
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    return f"unknown key {_quoted(key)}{suggestion} (allowed here: {', '.join(allowed)})"


def _fields_at(path: tuple) -> list[str]:
    """Field names of the model at `path` inside Scenario (for 'did you mean' hints)."""
    models: list[type[BaseModel]] = [Scenario]
    for part in path:
        nxt: list[type[BaseModel]] = []
        for model in models:
            field = model.model_fields.get(str(part))
            if field is not None:
                nxt.extend(_models_in(field.annotation))
        models = nxt
    names: list[str] = []
    for model in models:
        names.extend(n for n in model.model_fields if n not in names)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated) or args:
        found: list[type[BaseModel]] = []
        for arg in args:
            found.extend(_models_in(arg))
        return found
    return []
