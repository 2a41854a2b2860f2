"""The package's import layout, read from the source with `ast` (function-level imports included).

- the command line is a shell on top: no module outside tco/cli imports tco.cli (but `python -m tco`,
  tco/__main__.py, which runs it);
- inside tco/cli, the command modules share only tco/cli/_common.py, which nothing outside tco/cli imports;
- no module imports another module's private (underscore) name, anywhere in tco.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tco

ROOT = Path(tco.__file__).parent

#: Private names still imported across modules outside tco/cli, as (importing module, imported module, name).
#: They belong to the optimize/repeated/vector ring another branch is consolidating; shrink this, never grow it.
TOLERATED: set[tuple[str, str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("tco", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


MODULES = _modules()


def _package(module: str) -> str:
    """The package a module's relative imports start from."""
    is_package = (ROOT.joinpath(*module.split(".")[1:]) / "__init__.py").exists()
    return module if is_package else module.rpartition(".")[0]


def _imports(module: str):
    """(imported module, imported name or None) for every import statement in `module`, relative ones resolved.

    `from a import b` yields ("a", "b") and, when a.b is a module, also ("a.b", None)."""
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(module).split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield source, None
            for alias in node.names:
                yield source, alias.name
                if f"{source}.{alias.name}" in MODULES:
                    yield f"{source}.{alias.name}", None


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_walk_sees_the_package():
    assert {"tco", "tco.cli", "tco.cli._common", "tco.cli.entry", "tco.pipeline", "tco.fit"} <= MODULES.keys()
    assert ("tco.cli._common", "console") in set(_imports("tco.cli"))  # relative imports are resolved


def test_nothing_outside_the_cli_imports_it():
    outside = (m for m in MODULES if not _inside(m, "tco.cli") and m != "tco.__main__")
    offenders = sorted({f"{module} imports {source}" for module in outside
                        for source, _ in _imports(module) if _inside(source, "tco.cli")})
    assert not offenders, "the CLI sits on top; move what these need out of tco/cli:\n" + "\n".join(offenders)


def test_private_modules_are_imported_only_inside_their_package():
    offenders = []
    for module in MODULES:
        for source, _ in _imports(module):
            parts = source.split(".")
            for i, part in enumerate(parts):
                if _private(part) and not _inside(module, ".".join(parts[:i])):
                    offenders.append(f"{module} imports {source}")
    assert not offenders, "\n".join(sorted(set(offenders)))


def test_no_private_name_is_imported_across_modules():
    found = {(module, source, name) for module in MODULES for source, name in _imports(module)
             if name is not None and _private(name)}
    offenders = sorted(found - TOLERATED)
    assert not offenders, ("make the name public in its module (or move it where it is used):\n"
                           + "\n".join(f"{m}: from {s} import {n}" for m, s, n in offenders))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _inside(m, "tco.cli")
                                          and m not in ("tco.cli", "tco.cli.entry", "tco.cli.__main__")))
def test_command_modules_share_only_common(module):
    """Each command module stands alone on tco/cli/_common.py; only entry.py (the command table) imports them."""
    siblings = {source for source, _ in _imports(module) if _inside(source, "tco.cli")}
    assert siblings <= {"tco.cli", "tco.cli._common"} - {module}, f"{module} imports {sorted(siblings)}"
