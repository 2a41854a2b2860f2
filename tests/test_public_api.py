"""The public surface: every name in `tco.__all__` (and in each subpackage's `__all__`) exists, imports, and is
documented where it is a class or function; no `__all__` lists a name twice; the package ships `py.typed`."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import tco


def _packages_with_all() -> list[str]:
    names = ["tco"] + [f"tco.{m.name}" for m in pkgutil.iter_modules(tco.__path__) if m.ispkg]
    return [name for name in names if hasattr(importlib.import_module(name), "__all__")]


PACKAGES = _packages_with_all()


def test_the_known_public_packages_define_all():
    # A subpackage that drops its __all__ would silently leave this test; these must keep one.
    assert {"tco", "tco.fit", "tco.model", "tco.scenario"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_has_no_duplicates(package):
    names = importlib.import_module(package).__all__
    duplicates = sorted({n for n in names if list(names).count(n) > 1})
    assert not duplicates, f"{package}.__all__ lists {duplicates} more than once"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_imports(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names {missing}, which {package} does not define"
    for name in module.__all__:  # `from package import name` works, as a user writes it
        namespace: dict = {}
        exec(f"from {package} import {name}", namespace)
        assert namespace[name] is getattr(module, name)


def _has_own_docstring(obj) -> bool:
    doc = obj.__doc__  # a class's own: __doc__ is not inherited
    # A dataclass without a docstring gets its signature, "Name(field: type, ...)", as __doc__.
    return bool(doc and doc.strip()) and not doc.startswith(f"{obj.__name__}(")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_class_and_function_has_a_docstring(package):
    module = importlib.import_module(package)
    undocumented = [
        name for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isroutine(obj)) and not _has_own_docstring(obj)
    ]
    assert not undocumented, f"{package}: no docstring on {undocumented}"


def test_the_package_is_marked_typed():
    assert (Path(tco.__file__).parent / "py.typed").is_file()
