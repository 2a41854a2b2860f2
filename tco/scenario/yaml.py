"""Reading YAML files: YAML 1.2 core-schema values, duplicate keys refused, bounded parsing, every failure one
ScenarioError line that names the file, line and column. Scenario files and law files are read through it.

PyYAML's safe loader speaks YAML 1.1, which silently turns `070` into 56, `1:30` into 90, `yes`/`no`/`on`/`off`
into booleans and `2024-01-01` into a date. This reader keeps PyYAML's parser but resolves plain scalars with the
YAML 1.2 core schema:

- `true`/`false` (and `True`, `TRUE`, ...) are booleans; `yes`, `no`, `on`, `off`, `y`, `n` are strings.
- `null`, `~` and an empty value are null; dates and times are strings.
- numbers are decimal: `70`, `-3`, `1_000` (underscores between digits), `0.5`, `1e12`, `.inf`, `.nan`.
- a plain value that YAML 1.1 or 1.2 would read as octal, hexadecimal, binary or base 60 (`070`, `0o70`,
  `0x10`, `0b101`, `1:30`) is refused as an "ambiguous number": write the decimal number, or quote it if it is
  text. Those readings differ between YAML versions and readers, so tco takes none of them.
- merge keys work: `<<: *defaults` copies the keys of an anchored mapping that the mapping does not set itself.

Bounds (refused with one line, before any value reaches the schema): nesting at most `MAX_DEPTH` levels, aliases
expanding to at most `MAX_ALIAS_NODES` nodes in all (a "billion laughs" file is refused while it is composed),
and the file itself a regular file of at most `MAX_FILE_BYTES` (see tco.inputs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from ..inputs import InputFileError, describe_size, read_regular_file

__all__ = ["read_yaml", "parse_yaml", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_ALIAS_NODES"]

#: Largest scenario or law file read. Pure-Python YAML parsing runs at about 0.3 MB/s, so this keeps the worst
#: case near 15 s; a law file with 20,000 bootstrap resamples is about 2 MB.
MAX_FILE_BYTES = 4_000_000
#: Deepest nesting of mappings and lists (scenarios use under 10).
MAX_DEPTH = 50
#: Most nodes that aliases (`*name`, also in `<<: *name`) may add when expanded, summed over the file.
MAX_ALIAS_NODES = 100_000

_AMBIGUOUS_TAG = "tag:tco,2026:ambiguous-number"


class _Refused(Exception):
    """A problem found while composing or constructing; the message starts with `line L, column C: `."""


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema resolution, duplicate keys refused, nesting and aliases bounded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._alias_nodes = 0  # nodes added by expanding aliases
        self._nodes = 0  # nodes composed, aliases counted expanded
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size; absent while it is composed

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor) if event.anchor is not None else None
            if node is not None:
                size = self._sizes.get(id(node))
                if size is None:
                    raise _Refused(f"{_where(event.start_mark)}alias *{event.anchor} refers to a node that "
                                   "contains it (a recursive structure); scenario files are trees")
                self._alias_nodes += size
                self._nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise _Refused(f"{_where(event.start_mark)}aliases expand to more than {MAX_ALIAS_NODES:,} "
                                   "values in all (an alias bomb?); write the values out or use fewer aliases")
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"{_where(event.start_mark)}nested more than {MAX_DEPTH} levels deep; "
                           "scenario files need only a few levels")
        before = self._nodes
        self._nodes += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if getattr(event, "anchor", None) is not None:
            self._sizes[id(node)] = self._nodes - before
        return node


# --- YAML 1.2 core schema ----------------------------------------------------------------------------------
# Resolvers are looked up by a scalar's first character and tried in order; the first match wins.
_StrictLoader.yaml_implicit_resolvers = {}
_DIGITS = "-+0123456789"
_RESOLVERS: list[tuple[str, str, str]] = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    # Not decimal: 1.1 octal (070, 0_7), 1.2 octal/hex/binary (0o70, 0x10, 0b10), base 60 (1:30, 1:30.5).
    (_AMBIGUOUS_TAG, r"""^(?:[-+]?0[0-9_]+
                          |[-+]?0[oObBxX][0-9a-fA-F_]*
                          |[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?)$""", _DIGITS),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*(?:_[0-9]+)*)$", _DIGITS),
    ("tag:yaml.org,2002:float", r"""^(?:[-+]?(?:\.[0-9]+(?:_[0-9]+)*|[0-9]+(?:_[0-9]+)*(?:\.(?:[0-9]+(?:_[0-9]+)*)?)?)
                                      (?:[eE][-+]?[0-9]+)?
                                    |[-+]?\.(?:inf|Inf|INF)
                                    |\.(?:nan|NaN|NAN))$""", _DIGITS + "."),
    ("tag:yaml.org,2002:merge", r"^<<$", "<"),
]
for _tag_name, _pattern, _first in _RESOLVERS:
    _firsts = [*_first, ""] if "~" in _first else list(_first)  # "": the empty value is null
    _StrictLoader.add_implicit_resolver(_tag_name, re.compile(_pattern, re.X), _firsts)


def _ambiguous(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    text = node.value
    sign, digits = ("-" if text.startswith("-") else ""), text.lstrip("+-").replace("_", "")
    if ":" in text:
        reading, decimal = "YAML 1.1 reads it as base 60 (1:30 = 90), YAML 1.2 as text", None
    elif digits[1:2].lower() in ("x", "o", "b"):
        kind = {"x": "hexadecimal", "o": "octal", "b": "binary"}[digits[1].lower()]
        reading, decimal = f"a {kind} literal (YAML readers differ on which of 0x, 0o and 0b they accept)", None
        try:
            decimal = sign + str(int(digits, 0))
        except ValueError:
            pass
    else:
        reading = "YAML 1.1 reads a leading zero as octal (070 = 56), YAML 1.2 as decimal (070 = 70)"
        decimal = sign + str(int(digits))
    write = f"write {decimal} if you mean that number" if decimal else "write the decimal number"
    quoted = text if len(text) <= 40 else text[:37] + "..."
    raise _Refused(f"{_where(node.start_mark)}ambiguous number {quoted!r}: {reading}; tco reads only decimal "
                   f"numbers: {write}, or quote it ('{quoted}') if it is text")


def _int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node).replace("_", ""))


def _float(loader: _StrictLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).replace("_", "").lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> None:
    """Refuse a key written twice in one mapping (merged-in keys may be overridden: that is what `<<` is for)."""
    seen: set[Any] = set()
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    _check_duplicates(loader, source)
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _Refused(f"{_where(key_node.start_mark)}a key must be a plain value, not a "
                           f"{type(key).__name__}") from None
        if key in seen:
            raise _Refused(f"{_where(key_node.start_mark)}duplicate key {_short(key)}; each key may appear once "
                           "(a repeated key would silently override the first)")
        seen.add(key)


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """The mapping with its `<<` merge keys applied here, by the merge-key spec (keys written out win, then the
    earlier merged mapping), not by PyYAML's flattening, whose order for a list of mappings changed in 6.0.4."""
    _check_duplicates(loader, node)
    own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
    merged = [v for k, v in node.value if k.tag == _MERGE_TAG]
    result = loader.construct_mapping(yaml.MappingNode(node.tag, own, node.start_mark, node.end_mark), deep=deep)
    for value_node in merged:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"expected a mapping or a list of mappings to merge, but found {source.id}", source.start_mark)
            for key, value in _mapping(loader, source, deep=True).items():
                result.setdefault(key, value)
    return result


_StrictLoader.add_constructor(_AMBIGUOUS_TAG, _ambiguous)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _float)
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
# The 1.1-only types stay unknown, so an explicit `!!timestamp` or `!!binary` is refused like `!!python/...`.
for _gone in ("timestamp", "binary", "omap", "pairs", "set", "value"):
    _StrictLoader.yaml_constructors.pop(f"tag:yaml.org,2002:{_gone}", None)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file (a regular file of at most MAX_FILE_BYTES); errors name the file, line and column."""
    source = str(path)
    try:
        raw = read_regular_file(path, limit=MAX_FILE_BYTES, what="YAML file")
    except InputFileError as exc:
        raise ScenarioError(str(exc), source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"cannot read file: not UTF-8 text ({exc.reason} at byte {exc.start})",
                            source=source) from None
    return parse_yaml(text, source=source)


def parse_yaml(text: str, source: str = "<yaml>") -> Any:
    """Parse YAML text with the rules above; one ScenarioError line naming `source`, line and column."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"is {describe_size(len(text))} of YAML; at most {describe_size(MAX_FILE_BYTES)} "
                            "is read", source=source)
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader checks the characters here: a NUL is refused already
        return loader.get_single_data()
    except _Refused as exc:
        raise ScenarioError(str(exc), source=source) from None
    except yaml.constructor.ConstructorError as exc:
        where = _mark(exc)
        if exc.problem and "constructor for the tag" in exc.problem:
            raise ScenarioError(
                f"{where}YAML tag {_tag(exc.problem)} is not allowed: scenario files are plain data "
                "(tco reads them with YAML 1.2 core-schema values only)",
                source=source,
            ) from None
        raise ScenarioError(f"{where}malformed YAML: {exc.problem}", source=source) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL: named by its code point
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(f"character {exc.position + 1}: U+{code:04X} is not allowed in a YAML file (control "
                            "characters other than tab and newline are refused)", source=source) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{_mark(exc)}malformed YAML: {problem}", source=source) from None
    except RecursionError:  # a bound above should have caught it first
        raise ScenarioError(f"nested too deeply (more than {MAX_DEPTH} levels)", source=source) from None
    finally:
        if loader is not None:
            loader.dispose()


def _mark(exc: yaml.YAMLError) -> str:
    return _where(getattr(exc, "problem_mark", None))


def _tag(problem: str) -> str:
    """The tag as the user wrote it: 'tag:yaml.org,2002:python/object' -> '!!python/object'."""
    tag = problem.split("tag", 1)[-1].strip().strip("'").replace("tag:yaml.org,2002:", "!!")
    return tag if len(tag) <= 80 else tag[:77] + "..."
