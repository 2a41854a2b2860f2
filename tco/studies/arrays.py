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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from pydantic import BaseModel

from ..errors import InfeasibleError, ScenarioError, SolverError
from ..model.build import Model, build_model
from ..model.fleet import serving_utilization_in_force
from ..results.table import ColumnTable
from ..solve.regimes import chinchilla_point, solve_model
from ..text import closest_name
from .overrides import numeric_paths, replaced_forms, validate_overrides

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["ScenarioView", "view", "vector_model", "refuse_quantization", "VectorSolution", "solve_vector", "evaluate",
           "solve_frame", "solve_table", "FRAME_CHUNK", "FrameChunk", "frame_chunks", "kept_columns", "raise_bad_rows",
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
    _check_targets(scenario, the_view)
    return build_model(cast("Scenario", the_view), objective)  # the view stands in for the Scenario


def _check_targets(scenario: "Scenario", the_view: ScenarioView) -> None:
    """Refuse loss targets at or below the law's irreducible loss (no model reaches them), counting them."""
    law, target = the_view.resolved_law, the_view.target_loss
    below = np.asarray(target) <= np.asarray(law.min_loss)
    if np.any(below):
        raise ScenarioError(
            f"{int(np.count_nonzero(below))} of {below.size} loss targets are at or below the irreducible loss "
            f"of law {law.name} (E = {np.min(law.min_loss):g}); no model reaches them",
            source=scenario.source or "<scenario>", path=("target",))


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


def _raise_infeasible(scenario: "Scenario", size: int, infeasible: int, objective: str | None) -> None:
    """Name the conflicting caps when the scenario itself is infeasible; else say how many elements are."""
    from ..assemble import check_feasible, with_source

    source = scenario.source or scenario.name
    try:
        check_feasible(build_model(scenario, objective))
    except InfeasibleError as exc:
        raise with_source(scenario, exc) from None
    raise InfeasibleError(f"{source}: {infeasible} of {size} scenarios have no design that reaches the loss "
                          "target within the constraints")


def evaluate(scenario, model: Model, params, tokens) -> dict[str, np.ndarray]:
    """Every DesignPoint figure at (params, tokens), as arrays (`Model.figures`; `scenario` is unused and kept
    for callers that pass their view)."""
    return model.figures(params, tokens)


#: Elements solved at a time inside `solve_frame`: the kernel's working arrays (a few dozen per element) then stay
#: in the CPU caches and bounded in memory whatever the number of elements; only the result columns grow with it.
FRAME_CHUNK = 65_536


def solve_frame(scenario: "Scenario", overrides: Mapping[str, Any], *, objective: str | None = None,
                validate: bool = True, allow_infeasible: bool = False,
                columns: Sequence[str] | None = None) -> "pd.DataFrame":
    """Solve every element of `overrides` (arrays broadcast together); one row per element.

    Columns: the overridden inputs, `optimal_*` and `chinchilla_*` (every DesignPoint quantity), savings,
    over-training factors, `feasible` and `binds:<cap>`. Infeasible elements raise InfeasibleError unless
    `allow_infeasible`, in which case their results are NaN.

    `columns` keeps only the named result columns (in the full frame's order), chunk by chunk, so memory grows with
    what is asked for (1e7 elements x 41 columns is 3.2 GB; x 6 columns 0.5 GB); the overridden inputs and
    `feasible` always come along. Every figure is still computed per chunk (an element whose figures are not all
    finite is infeasible), so the kept columns equal the full frame's bit for bit. An unknown name raises
    ScenarioError with the closest column name. `iter_solve_frame` streams the same rows chunk by chunk.

    Example:  solve_frame(scenario, {"training.mfu": np.array([0.3, 0.4, 0.5])})[["optimal_params", "savings_fraction"]]
              solve_frame(scenario, {"demand.requests": np.logspace(8, 12, 10**7)}, columns=["optimal_params"])
    """
    return solve_table(scenario, overrides, objective=objective, validate=validate,
                       allow_infeasible=allow_infeasible, columns=columns).to_pandas()  # the columns, not copied


def solve_table(scenario: "Scenario", overrides: Mapping[str, Any], *, objective: str | None = None,
                validate: bool = True, allow_infeasible: bool = False,
                columns: Sequence[str] | None = None) -> ColumnTable:
    """`solve_frame`'s columns as numpy arrays (a `ColumnTable`), without pandas: what the optimize path's
    workbook sweep reads. Elements are solved `FRAME_CHUNK` at a time; `columns` as in `solve_frame`."""
    size, parts = frame_chunks(scenario, overrides, objective=objective, validate=validate,
                               allow_infeasible=allow_infeasible, chunk=FRAME_CHUNK)
    out: dict[str, np.ndarray] = {}
    kept: list[str] = []
    attrs: dict[str, Any] = {}
    infeasible = non_finite = 0
    for part in parts:
        infeasible += part.infeasible
        non_finite += part.non_finite
        if not kept:
            kept = kept_columns(scenario, overrides, list(part.columns), columns)
        attrs = part.attrs
        if part.stop - part.start == size:  # one chunk: its arrays are the table's
            out = {name: part.columns[name] for name in kept}
            break
        for name in kept:
            values = part.columns.get(name)
            if name not in out:  # allocated once; a column a chunk lacks (a binds: mask) is False/NaN there
                dtype = values.dtype if values is not None else np.dtype(float)
                out[name] = np.full(size, False if dtype.kind == "b" else np.nan, dtype=dtype)
            if values is not None:
                out[name][part.start:part.stop] = values
    if not allow_infeasible:
        raise_bad_rows(scenario, objective, size, infeasible, non_finite)
    return ColumnTable(out, {**attrs, "non_finite_rows": non_finite})


@dataclass(frozen=True)
class FrameChunk:
    """Elements [start, stop) of a frame: every column, `infeasible` (no design reaches the target: the solver's
    count) and `non_finite` (solved, but figures beyond double precision; with `allow_infeasible` these rows are
    already marked infeasible, results NaN)."""

    start: int
    stop: int
    columns: dict[str, np.ndarray]
    infeasible: int
    non_finite: int
    attrs: dict[str, Any]


def frame_chunks(scenario: "Scenario", overrides: Mapping[str, Any], *, objective: str | None, validate: bool,
                 allow_infeasible: bool, chunk: int) -> tuple[int, Iterator[FrameChunk]]:
    """(number of elements, the chunks of `chunk` consecutive flattened elements, lazily): what `solve_table` and
    `iter_solve_frame` assemble. The overrides and the loss targets are checked now, over all elements."""
    if validate:
        validate_overrides(scenario, overrides)
    given = {k: v for k, v in overrides.items() if v is not None}
    shape = np.broadcast_shapes(*[np.shape(v) for v in given.values()])
    size = int(np.prod(shape, dtype=np.int64))
    if size <= chunk:
        arrays: Mapping[str, Any] = overrides
    else:
        _check_targets(scenario, view(scenario, overrides))  # counted over all elements, not per chunk
        # float inputs beyond FRAME_CHUNK elements whatever the chunk, so every chunking gives solve_frame's dtypes
        as_float = size > FRAME_CHUNK
        arrays = {k: (np.broadcast_to(np.asarray(v, dtype=float) if as_float else np.asarray(v), shape)
                      if v is not None and np.ndim(v) else v) for k, v in overrides.items()}

    def parts() -> Iterator[FrameChunk]:
        for start in range(0, size, chunk):
            stop = min(start + chunk, size)
            if size <= chunk:
                part, sub_shape = arrays, shape
            else:
                part = {k: (v.flat[start:stop] if isinstance(v, np.ndarray) else v) for k, v in arrays.items()}
                sub_shape = (stop - start,)
            # overflow is judged on the figures (`_mark_non_finite`), not printed as numpy warnings
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                columns, ok, attrs = _solve_columns(scenario, part, objective, sub_shape)
                non_finite = _mark_non_finite(columns)
            yield FrameChunk(start, stop, columns, int(ok.size - np.count_nonzero(ok)), non_finite, attrs)

    return size, parts()


def kept_columns(scenario: "Scenario", overrides: Mapping[str, Any], names: list[str],
                 wanted: Sequence[str] | None) -> list[str]:
    """The columns of `names` (a chunk's, in order) a frame keeps: all, or `wanted` with the overridden inputs and
    `feasible`. An unknown wanted name raises ScenarioError naming the closest column."""
    if wanted is None:
        return names
    if isinstance(wanted, str):
        wanted = [wanted]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        hints = []
        for word in unknown:
            close = closest_name(word, names)
            hints.append(f"{word!r}" + (f" (did you mean {close!r}?)" if close else ""))
        raise ScenarioError(f"unknown result column{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; the "
                            f"columns are {', '.join(names)}", source=scenario.source or scenario.name)
    keep = {*wanted, "feasible", *(k for k, v in overrides.items() if v is not None)}
    return [name for name in names if name in keep]


def raise_bad_rows(scenario: "Scenario", objective: str | None, size: int, infeasible: int,
                   non_finite: int) -> None:
    """The error of a frame without `allow_infeasible` that has `infeasible` or `non_finite` of `size` rows (the
    former first); nothing when both are 0."""
    if infeasible:
        _raise_infeasible(scenario, size, infeasible, objective)
    if non_finite:
        source = scenario.source or scenario.name
        raise SolverError(f"{source}: {non_finite} of {size} solved elements have non-finite "
                          "figures (the inputs are beyond what double precision represents); bring the varied "
                          "inputs into their documented ranges (README)")


def _solve_columns(scenario: "Scenario", overrides: Mapping[str, Any], objective: str | None, shape):
    """({column: 1-D array}, feasible, the table's attrs) of the elements of `overrides` (broadcast to `shape`)."""
    the_view = view(scenario, overrides)
    model = vector_model(scenario, overrides, objective)
    sol = solve_vector(model)
    shape = np.broadcast_shapes(shape, np.shape(sol.params))
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
    flat = {k: np.ravel(v) for k, v in columns.items()}
    attrs = {"scenario": scenario.name, "objective": model.objective, "law": model.law.name,
             "serving_pricing": scenario.serving.pricing}
    return flat, flat["feasible"], attrs


def _mark_non_finite(columns: dict[str, np.ndarray]) -> int:
    """Rows solved as feasible whose figures are not all finite (inputs beyond double precision) are never passed
    on as numbers: they become infeasible rows (results NaN), in place. Returns how many there are (without
    `allow_infeasible` the frame then raises SolverError saying so)."""
    figures = [c for c in columns if c.startswith(("optimal_", "chinchilla_", "savings_"))
               or c in ("tokens_factor", "params_factor")]
    finite = np.ones(len(columns["feasible"]), dtype=bool)
    for name in figures:
        finite &= np.isfinite(columns[name])
    bad = columns["feasible"] & ~finite
    count = int(np.count_nonzero(bad))
    if count:
        for name in figures:
            columns[name] = np.where(bad, np.nan, columns[name])
        columns["feasible"] = columns["feasible"] & ~bad
    return count
