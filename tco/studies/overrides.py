"""Which fields of a scenario an array study may override, and the check of every override against the schema:
the numeric inputs (`numeric_paths`), the alternative forms one override replaces (`replaced_forms`) and
`validate_overrides`. No solving: `tco.studies.arrays` solves the overridden scenarios."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ScenarioError
from ..laws import KaplanLaw
from ..scenario.law import ConstantsSpec

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["replaced_forms", "numeric_paths", "validate_overrides"]


# --- alternative forms of one quantity -------------------------------------------------------------------
#: Sections that state one quantity in alternative forms, of which a scenario gives exactly one: overriding a
#: field of one form replaces the others, in validation (`_with`) and in the view alike.
_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "target": (("loss",), ("quality_of",), ("chinchilla_optimal_params",)),
    "demand": (("requests",), ("prompt_tokens", "generated_tokens"),
               ("requests_per_year", "years", "growth_per_year", "discount_rate")),
}
#: A replaced form's fields are unset (None) except these, whose "unset" is their default.
_UNSET = {"demand.growth_per_year": 0.0, "demand.discount_rate": 0.0}


def replaced_forms(path: str) -> dict[str, float | None]:
    """{field path: unset value} of the forms that overriding `path` replaces: target.loss replaces
    target.quality_of and target.chinchilla_optimal_params; demand.requests (lifetime requests) replaces
    lifetime token totals and a horizon (requests_per_year, years, ...); and so on. Empty for other paths."""
    section, _, rest = path.partition(".")
    field = rest.split(".", 1)[0]
    forms = _FORMS.get(section, ())
    if not any(field in form for form in forms):
        return {}
    return {f"{section}.{name}": _UNSET.get(f"{section}.{name}") for form in forms if field not in form
            for name in form}


#: Sections that are not inputs of the cost model: `uncertainty:` configures Monte Carlo (samples, seed,
#: distributions), and a phase's `hardware:` is resolved into its device when the scenario loads (vary the
#: phase's price_usd_per_hour, not the device's).
#: `model:` (expert counts) holds whole numbers chosen among candidates, not a continuous input to perturb.
_NOT_INPUTS = ("uncertainty", "hardware", "model")


def numeric_paths(scenario: "Scenario") -> list[str]:
    """Field paths that may be overridden: every numeric input of the cost model (set or left unset), plus the
    law constants. Sensitivity, `tco sweep --vary` and Monte Carlo all draw on this list."""
    paths: list[str] = []

    def walk(model: BaseModel, prefix: str) -> None:
        for name, field in type(model).model_fields.items():
            if name in _NOT_INPUTS:
                continue
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
            elif isinstance(value, float):
                paths.append(f"{prefix}{name}")
            elif value is None and _optional_number(field.annotation):  # an optional number left unset
                paths.append(f"{prefix}{name}")

    walk(scenario, "")
    s = scenario.serving
    unused = {"serving.decode_mfu"} if s.roofline is not None else set()  # the roofline prices decode
    if s.pricing != "utilization":  # serving.pricing: only utilization pricing reads a stated utilization
        unused.add("serving.average_utilization")
    if s.pricing != "busy":  # the serving utilization replaces the owned device's (tco.model.fleet)
        unused.add("serving.ownership.utilization")
    paths = [p for p in paths if not p.startswith("law.") and p not in unused]
    return paths + [f"law.{k}" for k in scenario.resolved_law.constants()]


def _optional_number(annotation) -> bool:
    """Whether a field's annotation is `float | None` (possibly Annotated): not a dict or model of floats."""
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) != 1:
        return False
    inner = args[0]
    while typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    return inner is float


def validate_overrides(scenario: "Scenario", overrides: Mapping[str, Any]) -> None:
    """Check every override against the schema: each field's smallest and largest value is validated as a
    scenario of its own, so a bad value gets the usual one-line error with its field path. A field of one form
    of the target or the demand replaces the scenario's other forms (`replaced_forms`); two forms of one
    quantity cannot be varied together."""
    from ..scenario.load import scenario_from_dict

    allowed = set(numeric_paths(scenario))
    source = scenario.source or "<scenario>"
    base = scenario.model_dump()
    for path, values in overrides.items():
        if path not in allowed:
            raise ScenarioError(f"cannot vary {path!r}: not a numeric field of this scenario (try one of "
                                f"{', '.join(sorted(allowed))})", source=source)
        clash = sorted(set(replaced_forms(path)) & set(overrides))
        if clash:
            raise ScenarioError(f"cannot vary {path!r} together with {clash[0]!r}: they are alternative forms of "
                                "one quantity (give one)", source=source, path=tuple(path.split(".")))
        array = np.asarray(values, dtype=float)
        if array.size == 0 or not np.all(np.isfinite(array)):
            raise ScenarioError("values must be finite numbers", source=source, path=tuple(path.split(".")))
        if path.startswith("law."):
            constant = path.split(".", 1)[1]
            if np.min(array) < 0 or (constant != "E" and np.min(array) <= 0):
                raise ScenarioError(f"law constants must be positive (got {np.min(array):g})", source=source,
                                    path=tuple(path.split(".")))
            # the extremes as inline constants, so that the law's ranges hold for varied constants too
            law = {**scenario.resolved_law.constants(), "name": scenario.resolved_law.name}
            if isinstance(scenario.resolved_law, KaplanLaw):
                law["form"] = "kaplan"
            for extreme in (float(np.min(array)), float(np.max(array))):
                try:
                    TypeAdapter(ConstantsSpec).validate_python({**law, constant: extreme})
                except ValidationError as exc:
                    message = exc.errors()[0]["msg"].removeprefix("Value error, ")
                    raise ScenarioError(message, source=source, path=tuple(path.split("."))) from None
            continue
        for extreme in (float(np.min(array)), float(np.max(array))):
            data = _with(base, path, extreme)
            scenario_from_dict(data, source=source)


def _with(data: dict, path: str, value: float) -> dict:
    """`data` (a scenario dump) with `path` set to `value` and the forms it replaces unset."""
    out = dict(data)
    for target, unset in [*replaced_forms(path).items(), (path, value)]:
        node = out
        parts = target.split(".")
        for part in parts[:-1]:
            node[part] = dict(node.get(part) or {})
            node = node[part]
        node[parts[-1]] = unset
    return out
