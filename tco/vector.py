"""Arrays of scenarios: one scenario with some numeric fields replaced by arrays, solved in one numpy call.

    overrides = {"demand.requests": np.logspace(8, 12, 50), "training.price_usd_per_hour": 2.5}
    frame = tco.vector.solve_frame(scenario, overrides)

The same cost-term and cap classes that build a single scenario's model build the array model: a `ScenarioView`
answers attribute look-ups with the override where one is given and with the scenario's value otherwise, and
evaluates the scenario's properties (prices in force, peak FLOPS, lifetime tokens, the loss target) against
that view. So every formula lives in one place, and sweeps, sensitivity and Monte Carlo reuse it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from .errors import InfeasibleError, ScenarioError
from .model.compile import Model, build_model
from .solve.regimes import solve_model
from .units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    import pandas as pd

    from .scenario import Scenario

__all__ = ["ScenarioView", "view", "vector_model", "VectorSolution", "solve_vector", "evaluate", "solve_frame",
           "numeric_paths", "validate_overrides"]


class ScenarioView:
    """Read-only stand-in for a Scenario (or one of its sections) with some fields replaced by arrays."""

    __slots__ = ("_obj", "_overrides", "_path")

    def __init__(self, obj: Any, overrides: Mapping[str, Any], path: str = ""):
        self._obj, self._overrides, self._path = obj, overrides, path

    def __getattr__(self, name: str):
        key = f"{self._path}{name}"
        if key in self._overrides:
            return self._overrides[key]
        attr = getattr(type(self._obj), name, None)
        if isinstance(attr, property):  # derived values are recomputed against the overrides
            return attr.fget(self)
        value = getattr(self._obj, name)
        if isinstance(value, BaseModel) and any(k.startswith(f"{key}.") for k in self._overrides):
            return ScenarioView(value, self._overrides, f"{key}.")
        return value


def view(scenario: "Scenario", overrides: Mapping[str, Any]) -> ScenarioView:
    """A view of `scenario` with `overrides` ({field path: value or array}); `law.X` replaces a law constant."""
    overrides = {k: (np.asarray(v, dtype=float) if v is not None else None) for k, v in overrides.items()}
    law_changes = {k.split(".", 1)[1]: v for k, v in overrides.items() if k.startswith("law.")}
    if law_changes:
        overrides["_law"] = dataclasses.replace(scenario.resolved_law, **law_changes)
    return ScenarioView(scenario, overrides)


def numeric_paths(scenario: "Scenario") -> list[str]:
    """Field paths that may be overridden: every numeric field of the scenario, plus the law constants."""
    paths: list[str] = []

    def walk(model: BaseModel, prefix: str) -> None:
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                paths.append(f"{prefix}{name}")
            elif value is None and "float" in str(field.annotation):  # an optional number left unset
                paths.append(f"{prefix}{name}")

    walk(scenario, "")
    unused = {"serving.decode_mfu"} if scenario.serving.roofline is not None else set()  # the roofline prices decode
    paths = [p for p in paths if not p.startswith("law.") and p not in unused]
    return paths + [f"law.{k}" for k in scenario.resolved_law.constants()]


def validate_overrides(scenario: "Scenario", overrides: Mapping[str, Any]) -> None:
    """Check every override against the schema: each field's smallest and largest value is validated as a
    scenario of its own, so a bad value gets the usual one-line error with its field path."""
    from .scenario.load import scenario_from_dict

    allowed = set(numeric_paths(scenario))
    source = scenario.source or "<scenario>"
    base = scenario.model_dump()
    for path, values in overrides.items():
        if path not in allowed:
            raise ScenarioError(f"cannot vary {path!r}: not a numeric field of this scenario (try one of "
                                f"{', '.join(sorted(allowed))})", source=source)
        array = np.asarray(values, dtype=float)
        if array.size == 0 or not np.all(np.isfinite(array)):
            raise ScenarioError("values must be finite numbers", source=source, path=tuple(path.split(".")))
        if path.startswith("law."):
            constant = path.split(".", 1)[1]
            if np.min(array) < 0 or (constant != "E" and np.min(array) <= 0):
                raise ScenarioError(f"law constants must be positive (got {np.min(array):g})", source=source,
                                    path=tuple(path.split(".")))
            continue
        for extreme in (float(np.min(array)), float(np.max(array))):
            data = _with(base, path, extreme)
            scenario_from_dict(data, source=source)


def _with(data: dict, path: str, value: float) -> dict:
    out = dict(data)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node[part] = dict(node.get(part) or {})
        node = node[part]
    node[parts[-1]] = value
    if parts[0] == "demand" and parts[-1] in ("prompt_tokens", "generated_tokens"):
        node["requests"] = None
    return out


def vector_model(scenario: "Scenario", overrides: Mapping[str, Any], objective: str | None = None) -> Model:
    """The Model of `scenario` with `overrides`: coefficients and caps become arrays (broadcast together)."""
    the_view = view(scenario, overrides)
    law, target = the_view.resolved_law, the_view.target_loss
    below = np.asarray(target) <= np.asarray(law.min_loss)
    if np.any(below):
        raise ScenarioError(
            f"{int(np.count_nonzero(below))} of {below.size} loss targets are at or below the irreducible loss "
            f"of law {law.name} (E = {np.min(law.min_loss):g}); no model reaches them",
            source=scenario.source or "<scenario>", path=("target",))
    return build_model(the_view, objective)


@dataclass(frozen=True)
class VectorSolution:
    params: np.ndarray
    tokens: np.ndarray
    feasible: np.ndarray
    binding: dict[str, np.ndarray]  # cap name (field path) -> mask


def solve_vector(model: Model) -> VectorSolution:
    """Exact optimum for every element, by the one kernel (`tco.solve`): any cost terms and caps, per decode
    regime with a roofline, on the repeated-data curve when epochs repeat. Infeasible elements are NaN."""
    sol = solve_model(model)
    return VectorSolution(sol.params, sol.tokens, sol.feasible,
                          {c.name: sol.binding[m] for m, c in enumerate(model.caps)})


def _raise_infeasible(scenario: "Scenario", feasible: np.ndarray, objective: str | None) -> None:
    """Name the conflicting caps when the scenario itself is infeasible; else say how many elements are."""
    from .optimize import check_feasible, with_source

    source = scenario.source or scenario.name
    try:
        check_feasible(build_model(scenario, objective))
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    bad = int(np.size(feasible) - np.count_nonzero(feasible))
    raise InfeasibleError(f"{source}: {bad} of {np.size(feasible)} scenarios have no design that reaches the loss "
                          "target within the constraints")


def _chinchilla(model: Model, target_loss):
    """The compute-optimal design at the target loss (under the repetition model when epochs repeat)."""
    if model.unique_tokens is None:
        return model.law.chinchilla_point(target_loss)
    sol = solve_model(model, chinchilla=True)
    return sol.params, sol.tokens


def evaluate(scenario, model: Model, params, tokens) -> dict[str, np.ndarray]:
    """Every DesignPoint quantity at (params, tokens), as arrays (scenario may be a ScenarioView)."""
    usd = {t.name: t.usd(params, tokens) for t in model.terms}
    flops = {t.name: t.flops(params, tokens) for t in model.terms}
    training = scenario.training
    return {
        "params": params,
        "tokens": tokens,
        "tokens_per_param": tokens / params,
        "loss": model.loss_of(params, tokens),
        "training_flops": flops["training"],
        "prefill_flops": flops["prefill"],
        "decode_flops": flops["decode"],
        "inference_flops": flops["prefill"] + flops["decode"],
        "total_flops": sum(flops.values()),
        "training_gpu_hours": flops["training"] / (training.peak_flops * training.mfu * SECONDS_PER_HOUR),
        "training_cost_usd": usd["training"],
        "prefill_cost_usd": usd["prefill"],
        "decode_cost_usd": usd["decode"],
        "inference_cost_usd": usd["prefill"] + usd["decode"],
        "data_cost_usd": usd["data"],
        "total_cost_usd": sum(usd.values()),
    }


def solve_frame(scenario: "Scenario", overrides: Mapping[str, Any], *, objective: str | None = None,
                validate: bool = True, allow_infeasible: bool = False) -> "pd.DataFrame":
    """Solve every element of `overrides` (arrays broadcast together); one row per element.

    Columns: the overridden inputs, `optimal_*` and `chinchilla_*` (every DesignPoint quantity), savings,
    over-training factors, `feasible` and `binds:<cap>`. Infeasible elements raise InfeasibleError unless
    `allow_infeasible`, in which case their results are NaN.
    """
    import pandas as pd

    if validate:
        validate_overrides(scenario, overrides)
    the_view = view(scenario, overrides)
    model = vector_model(scenario, overrides, objective)
    sol = solve_vector(model)
    shape = np.broadcast(sol.params, *[np.asarray(v, dtype=float) for v in overrides.values() if v is not None]).shape
    if not allow_infeasible and not np.all(sol.feasible):
        _raise_infeasible(scenario, sol.feasible, objective)
    chin_n, chin_d = _chinchilla(model, the_view.target_loss)
    optimal = evaluate(the_view, model, sol.params, sol.tokens)
    chinchilla = evaluate(the_view, model, chin_n, chin_d)
    columns: dict[str, np.ndarray] = {k: np.broadcast_to(v, shape) for k, v in overrides.items() if v is not None}
    columns["target_loss"] = np.broadcast_to(the_view.target_loss, shape)
    columns.update({f"optimal_{k}": np.broadcast_to(v, shape) for k, v in optimal.items()})
    columns.update({f"chinchilla_{k}": np.broadcast_to(v, shape) for k, v in chinchilla.items()})
    columns["savings_total_cost_usd"] = columns["chinchilla_total_cost_usd"] - columns["optimal_total_cost_usd"]
    columns["savings_fraction"] = columns["savings_total_cost_usd"] / columns["chinchilla_total_cost_usd"]
    columns["savings_total_flops"] = columns["chinchilla_total_flops"] - columns["optimal_total_flops"]
    columns["savings_flops_fraction"] = columns["savings_total_flops"] / columns["chinchilla_total_flops"]
    columns["tokens_factor"] = columns["optimal_tokens"] / columns["chinchilla_tokens"]
    columns["params_factor"] = columns["optimal_params"] / columns["chinchilla_params"]
    columns["feasible"] = np.broadcast_to(sol.feasible, shape)
    for name, mask in sol.binding.items():
        columns[f"binds:{name}"] = np.broadcast_to(mask, shape)
    frame = pd.DataFrame({k: np.ravel(v) for k, v in columns.items()})
    frame.attrs.update({"scenario": scenario.name, "objective": model.objective, "law": model.law.name})
    return frame
