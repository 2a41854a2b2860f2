"""Arrays of scenarios: one scenario with some numeric fields replaced by arrays, solved in one numpy call.

    overrides = {"demand.requests": np.logspace(8, 12, 50), "training.price_usd_per_hour": 2.5}
    frame = tco.studies.arrays.solve_frame(scenario, overrides)

The same cost-term and cap classes that build a single scenario's model build the array model: a `ScenarioView`
answers attribute look-ups with the override where one is given and with the scenario's value otherwise, and
evaluates the scenario's properties (prices in force, peak FLOPS, lifetime tokens, the loss target) against
that view. So every formula lives in one place, and sweeps, sensitivity and Monte Carlo reuse it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import InfeasibleError, ScenarioError, SolverError
from ..laws import KaplanLaw
from ..model.build import Model, build_model
from ..model.fleet import serving_utilization_in_force
from ..scenario.law import ConstantsSpec
from ..solve.regimes import chinchilla_point, solve_model

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["ScenarioView", "view", "vector_model", "refuse_quantization", "VectorSolution", "solve_vector", "evaluate",
           "solve_frame",
           "numeric_paths", "validate_overrides", "demand_overrides", "replaced_forms", "DEFAULT_PROMPT_SHARE"]


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
        if isinstance(attr, property) and attr.fget is not None:  # derived values are recomputed against the overrides
            return attr.fget(self)
        value = getattr(self._obj, name)
        if isinstance(value, BaseModel) and any(k.startswith(f"{key}.") for k in self._overrides):
            return ScenarioView(value, self._overrides, f"{key}.")
        return value


def view(scenario: "Scenario", overrides: Mapping[str, Any]) -> ScenarioView:
    """A view of `scenario` with `overrides` ({field path: value or array}); `law.X` replaces a law constant.
    A field of one form of the target or the demand replaces the scenario's other forms (`replaced_forms`)."""
    overrides = {k: (np.asarray(v, dtype=float) if v is not None else None) for k, v in overrides.items()}
    for path in list(overrides):
        for other, unset in replaced_forms(path).items():
            overrides.setdefault(other, unset)
    law_changes = {k.split(".", 1)[1]: v for k, v in overrides.items() if k.startswith("law.")}
    if law_changes:
        overrides["_law"] = dataclasses.replace(scenario.resolved_law, **law_changes)
    return ScenarioView(scenario, overrides)


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


# --- demand ----------------------------------------------------------------------------------------------
#: Prompt share of the inference tokens when a scenario has no demand to take its mix from (the LMSYS-Chat
#: averages, 70 prompt : 215 generated tokens per request, as in Sardana et al. 2024).
DEFAULT_PROMPT_SHARE = 70.0 / (70.0 + 215.0)


def demand_overrides(scenario: "Scenario", lifetime_inference_tokens) -> dict[str, np.ndarray]:
    """The overrides that set the scenario's lifetime inference demand to `lifetime_inference_tokens`
    (prompt + generated; a number or an array): the one way sweeps and break-even vary demand.

    The demand is set where it prices inference: the resolved `demand.lifetime_prompt_tokens` and
    `demand.lifetime_generated_tokens`, which a `ScenarioView` answers before it evaluates any Demand property.
    So it works whatever form the scenario states its demand in (lifetime requests, token totals, or a yearly
    rate over a horizon, where these are present values at training time: the swept quantity is then the
    present value of the horizon's tokens). The scenario's prompt:generated mix is kept (its per-request mix
    when it counts requests; LMSYS-Chat's 70:215 when it has no demand to take a mix from). The counts that
    sizing and time-value figures read move with it: the nominal (undiscounted) tokens by the horizon's
    nominal:present-value ratio, and the requests (lifetime, or a horizon's present-value and nominal requests)
    at the scenario's tokens per request. So does the peak request rate (its ratio to the average rate, the traffic's
    shape, is kept): a provisioned fleet (`serving.pricing: provisioned`, `tco.model.fleet`) then keeps the
    scenario's utilization, and serving $ stays proportional to demand, as under busy pricing. (Varying
    `demand.requests_per_year` alone, by `--vary` or Monte Carlo, keeps the stated peak: the same fleet.)
    """
    d = scenario.demand
    tokens = np.asarray(lifetime_inference_tokens, dtype=float)
    per_request = d.tokens_per_request  # prompt once, every sample's reasoning and answer (tco.scenario.reasoning)
    by_request = d.requests is not None or d.requests_per_year is not None
    total = d.lifetime_prompt_tokens + d.lifetime_generated_tokens
    if by_request and per_request > 0:
        share = d.prompt_tokens_per_request / per_request
    elif total > 0:
        share = d.lifetime_prompt_tokens / total
    else:
        share = DEFAULT_PROMPT_SHARE
    nominal_per_pv = 1.0
    if d.requests_per_year is not None:  # the horizon's shape (years, growth, discounting), whatever its size
        unit = d.model_copy(update={"requests_per_year": 1.0})
        nominal_per_pv = unit.nominal_requests / unit.pv_requests
    prompt, generated = tokens * share, tokens * (1.0 - share)
    out = {"demand.lifetime_prompt_tokens": prompt, "demand.lifetime_generated_tokens": generated,
           "demand.nominal_prompt_tokens": prompt * nominal_per_pv,
           "demand.nominal_generated_tokens": generated * nominal_per_pv}
    if d.peak_to_average is not None and total > 0:  # the traffic's shape, also at zero demand
        out["demand.peak_requests_per_second"] = d.peak_requests_per_second * tokens / total
        out["demand.peak_to_average"] = np.full_like(tokens, d.peak_to_average)
    if by_request and per_request > 0:
        requests = tokens / per_request
        if d.requests_per_year is not None:
            out.update({"demand.pv_requests": requests, "demand.nominal_requests": requests * nominal_per_pv,
                        "demand.requests_per_year": requests / unit.pv_requests})
        else:
            out["demand.requests"] = requests
    return out


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


def refuse_quantization(scenario: "Scenario", study: str) -> None:
    """One line instead of a silently unpenalized answer: `study` does not model `serving.quantization` (its own
    programs or sampled laws have no penalty monomial). The demand sweep and `tco sweep` do."""
    if getattr(scenario.serving, "quantization", None) is not None:
        raise ScenarioError(f"{study} does not support a quantization penalty yet; remove serving.quantization "
                            "to run it without one, or use tco optimize / tco sweep",
                            source=scenario.source or "<scenario>", path=("serving", "quantization"))


def vector_model(scenario: "Scenario", overrides: Mapping[str, Any], objective: str | None = None) -> Model:
    """The Model of `scenario` with `overrides`: coefficients and caps become arrays (broadcast together)."""
    from ..choice import require_one_architecture

    require_one_architecture(scenario, "a sweep, sensitivity, Monte Carlo or break-even study")
    if getattr(scenario.serving, "quantization", None) is not None:  # the penalty's bits and constants are scalars
        swept = [k for k in overrides if k.startswith("serving.quantization") or k in (
            "serving.bytes_per_param", "serving.dtype", "training.dtype")]
        if swept:
            raise ScenarioError(f"sweeping {swept[0]} with serving.quantization is not supported yet; solve each "
                                "value with tco optimize", source=scenario.source or "<scenario>",
                                path=("serving", "quantization"))
    the_view = view(scenario, overrides)
    law, target = the_view.resolved_law, the_view.target_loss
    below = np.asarray(target) <= np.asarray(law.min_loss)
    if np.any(below):
        raise ScenarioError(
            f"{int(np.count_nonzero(below))} of {below.size} loss targets are at or below the irreducible loss "
            f"of law {law.name} (E = {np.min(law.min_loss):g}); no model reaches them",
            source=scenario.source or "<scenario>", path=("target",))
    return build_model(cast("Scenario", the_view), objective)  # the view stands in for the Scenario


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
    from ..assemble import check_feasible, with_source

    source = scenario.source or scenario.name
    try:
        check_feasible(build_model(scenario, objective))
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    bad = int(np.size(feasible) - np.count_nonzero(feasible))
    raise InfeasibleError(f"{source}: {bad} of {np.size(feasible)} scenarios have no design that reaches the loss "
                          "target within the constraints")


def evaluate(scenario, model: Model, params, tokens) -> dict[str, np.ndarray]:
    """Every DesignPoint figure at (params, tokens), as arrays (`Model.figures`; `scenario` is unused and kept
    for callers that pass their view)."""
    return model.figures(params, tokens)


def solve_frame(scenario: "Scenario", overrides: Mapping[str, Any], *, objective: str | None = None,
                validate: bool = True, allow_infeasible: bool = False) -> "pd.DataFrame":
    """Solve every element of `overrides` (arrays broadcast together); one row per element.

    Columns: the overridden inputs, `optimal_*` and `chinchilla_*` (every DesignPoint quantity), savings,
    over-training factors, `feasible` and `binds:<cap>`. Infeasible elements raise InfeasibleError unless
    `allow_infeasible`, in which case their results are NaN.

    Example:  solve_frame(scenario, {"training.mfu": np.array([0.3, 0.4, 0.5])})[["optimal_params", "savings_fraction"]]
    """
    if validate:
        validate_overrides(scenario, overrides)
    # overflow is judged on the figures (`_mark_non_finite`), not printed as numpy warnings
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _solve_frame(scenario, overrides, objective, allow_infeasible)


def _solve_frame(scenario: "Scenario", overrides: Mapping[str, Any], objective: str | None,
                 allow_infeasible: bool) -> "pd.DataFrame":
    import pandas as pd

    the_view = view(scenario, overrides)
    model = vector_model(scenario, overrides, objective)
    sol = solve_vector(model)
    shape = np.broadcast(sol.params, *[np.asarray(v, dtype=float) for v in overrides.values() if v is not None]).shape
    if not allow_infeasible and not np.all(sol.feasible):
        _raise_infeasible(scenario, sol.feasible, objective)
    chin_n, chin_d = chinchilla_point(model)
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
    if scenario.serving.pricing != "busy":  # the utilization serving is priced at, per element (tco.model.fleet)
        columns["serving_utilization"] = np.broadcast_to(serving_utilization_in_force(the_view), shape)
    columns["feasible"] = np.broadcast_to(sol.feasible, shape)
    for name, mask in sol.binding.items():
        columns[f"binds:{name}"] = np.broadcast_to(mask, shape)
    frame = pd.DataFrame({k: np.ravel(v) for k, v in columns.items()})
    frame.attrs.update({"scenario": scenario.name, "objective": model.objective, "law": model.law.name,
                        "serving_pricing": scenario.serving.pricing})
    return _mark_non_finite(scenario, frame, allow_infeasible)


def _mark_non_finite(scenario: "Scenario", frame: "pd.DataFrame", allow_infeasible: bool) -> "pd.DataFrame":
    """Rows solved as feasible whose figures are not all finite (inputs beyond double precision) are never passed
    on as numbers: with `allow_infeasible` they become infeasible rows (results NaN, attrs["non_finite_rows"]
    counts them), else SolverError says how many there are."""
    figures = [c for c in frame.columns if c.startswith(("optimal_", "chinchilla_", "savings_"))
               or c in ("tokens_factor", "params_factor")]
    values = frame[figures].to_numpy(dtype=float)
    bad = frame["feasible"].to_numpy(dtype=bool) & ~np.isfinite(values).all(axis=1)
    frame.attrs["non_finite_rows"] = int(np.count_nonzero(bad))
    if not bad.any():
        return frame
    if not allow_infeasible:
        source = scenario.source or scenario.name
        raise SolverError(f"{source}: {int(np.count_nonzero(bad))} of {len(frame)} solved elements have non-finite "
                          "figures (the inputs are beyond what double precision represents); bring the varied "
                          "inputs into their documented ranges (README)")
    frame.loc[bad, figures] = np.nan
    frame.loc[bad, "feasible"] = False
    return frame
