"""The Result's sections are typed (tco.results.sections): for every bundled scenario each section is a frozen
dataclass or None, `to_dict()` is strict JSON, and quantity fields say their unit in their name."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

import tco
from tco.results import sections

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SECTION_TYPES = {
    "inputs": sections.Inputs, "ownership": sections.Ownership, "sizing": sections.DeploymentSizing,
    "time_value": sections.TimeValue, "data_limits": sections.DataLimits,
    "decode_roofline": sections.DecodeRoofline,
}
#: sections absent from a scenario: `{}` in the JSON for these, the key left out for the others
EMPTY_WHEN_ABSENT = {"ownership", "sizing", "time_value"}


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def result(request):
    return tco.optimize(tco.load_scenario(request.param))


def _dataclasses_in(value):
    """Every dataclass instance reachable from `value` (itself included)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for f in dataclasses.fields(value):
            yield from _dataclasses_in(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _dataclasses_in(v)


def test_bundled_scenarios_cover_every_section():
    results = [tco.optimize(tco.load_scenario(p)) for p in SCENARIOS]
    for name in SECTION_TYPES:
        assert any(getattr(r, name) is not None for r in results), f"no bundled scenario has {name}"


def test_sections_are_frozen_dataclasses_or_none(result):
    assert result.inputs is not None
    for name, kind in SECTION_TYPES.items():
        section = getattr(result, name)
        if section is None:
            continue
        assert isinstance(section, kind), name
        for part in _dataclasses_in(section):
            assert isinstance(part, sections.Section), type(part).__name__
            assert type(part).__dataclass_params__.frozen, type(part).__name__  # type: ignore[attr-defined]
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(part, dataclasses.fields(part)[0].name, None)


def test_to_dict_is_strict_json_with_the_sections_shape(result):
    data = result.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    for name in SECTION_TYPES:
        section = getattr(result, name)
        if section is not None:
            assert data[name] == section.to_dict()
        elif name in EMPTY_WHEN_ABSENT:
            assert data[name] == {}
        else:
            assert name not in data
    # the section's JSON keys are its field names, in field order (optional ones left out when None)
    if result.sizing is not None and result.sizing.serving is not None:
        fleet = result.sizing.serving.optimal
        keys = [f.name for f in dataclasses.fields(fleet) if getattr(fleet, f.name) is not None
                or not f.metadata.get("omit_when_none")]
        assert list(data["sizing"]["serving"]["optimal"]) == keys


#: field names that would leave the unit to a guess
_BARE = {"cost", "time", "price", "power", "memory", "latency", "bandwidth", "seconds", "usd", "energy", "duration",
         "days", "hours", "gb"}
#: quantity words that must come with a unit in the same name
_NEEDS_UNIT = {"cost", "price", "time", "power", "bandwidth", "memory", "capex", "opex"}
_UNITS = ("usd", "_ms", "seconds", "_kw", "kwh", "gb", "flops", "hour", "year", "days")
#: ratios: dimensionless by name
_RATIOS = ("efficiency", "fraction", "mfu", "utilization")


def _section_classes():
    return [getattr(sections, name) for name in sections.__all__
            if isinstance(getattr(sections, name), type) and dataclasses.is_dataclass(getattr(sections, name))]


@pytest.mark.parametrize("cls", _section_classes(), ids=lambda c: c.__name__)
def test_quantity_fields_carry_units_in_their_names(cls):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        assert f.name not in _BARE, f"{cls.__name__}.{f.name}: say the unit in the name"
        numeric = any(t in (float, int) for t in typing.get_args(hints[f.name]) or (hints[f.name],))
        words = set(f.name.split("_"))
        if numeric and words & _NEEDS_UNIT and not any(r in f.name for r in _RATIOS):
            assert any(u in f.name for u in _UNITS), f"{cls.__name__}.{f.name}: a quantity without a unit"
