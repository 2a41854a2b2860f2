"""Choosing the architecture: solve one scenario variant per candidate and keep the cheapest.

A scenario lists candidates on one or more axes: `model.experts` (expert counts) and `serving.precisions`
(serving dtypes). Every combination is a complete, validated scenario of its own (`variants`), so it is an
ordinary geometric program with its own law (the MoE law at that E), weight bytes and dense peak, and each
solve carries its own GP-vs-exact cross-check. `choose` turns the solved variants into the table and the winner.
A further axis is one more entry in `AXES`: a name, how to read its candidates, and how to fix one.

This module does not solve: `tco.optimize` passes its own solve function, so the choice sits below it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
import itertools
from typing import TYPE_CHECKING, Any

from .hardware import DTYPE_BYTES
from .errors import InfeasibleError, ScenarioError
from .model.experts import total_per_active
from .results.choice import ArchitectureCandidate, ArchitectureChoice

if TYPE_CHECKING:
    from .results import Result
    from .scenario import Scenario

__all__ = ["precision_of", "Axis", "AXES", "is_choice", "variants", "choose", "optimize_choice", "chosen_scenario",
           "require_one_architecture"]


@dataclass(frozen=True)
class Axis:
    """One dimension of the choice: its candidates in a scenario (None: the scenario does not choose on it) and
    the scenario data that fixes one candidate."""

    name: str
    candidates: Callable[["Scenario"], list | None]
    fix: Callable[[dict, Any], None]  # edits a scenario's dumped data in place


def _fix_experts(data: dict, value: float) -> None:
    data.setdefault("model", {})["experts"] = value


def _fix_precision(data: dict, precision: Any) -> None:
    serving = data["serving"]
    serving.pop("precisions", None)
    if isinstance(precision, str):
        serving["dtype"] = precision  # its peak and its weight width, as if the scenario had stated it
    else:  # weight-only quantization: the math's peak, the weights' width
        serving["dtype"] = precision.compute
        serving["bytes_per_param"] = DTYPE_BYTES[precision.weights.lower()]


def precision_of(scenario: "Scenario") -> str:
    """The serving precision of a candidate: its dtype, or 'int4 weights on fp8' (by the weights' bits)."""
    s = scenario.serving
    if s.bytes_per_param is None or s.bytes_per_param == DTYPE_BYTES.get(s.dtype.lower()):
        return s.dtype
    return f"{8 * s.bytes_per_param:g}-bit weights on {s.dtype}"


AXES: tuple[Axis, ...] = (
    Axis("experts", lambda s: s.model.candidates if s.model.is_choice else None, _fix_experts),
    Axis("precision", lambda s: list(s.serving.precisions) if s.serving.precisions else None, _fix_precision),
)


def is_choice(scenario: "Scenario") -> bool:
    """True when the scenario lists candidates on any axis (two or more experts, or any precisions)."""
    return any(axis.candidates(scenario) is not None for axis in AXES)


def variants(scenario: "Scenario") -> tuple[tuple[str, ...], list["Scenario"]]:
    """(the axes that vary, one validated scenario per combination of candidates: first axis outermost)."""
    from .scenario import Scenario

    axes = [(axis, values) for axis in AXES if (values := axis.candidates(scenario)) is not None]
    data = scenario.model_dump(exclude_unset=True)  # what the user stated: defaults stay defaults
    out = []
    for combo in itertools.product(*(values for _, values in axes)):
        fixed = _copy(data)
        for (axis, _), value in zip(axes, combo):
            axis.fix(fixed, value)
        variant = Scenario.model_validate(fixed)  # laws and calibration files are absolute paths by now
        variant._source = scenario.source
        out.append(variant)
    return tuple(axis.name for axis, _ in axes), out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _row(scenario: "Scenario", result: "Result | None", error: str | None) -> ArchitectureCandidate:
    arch = scenario.model
    experts, top_k = arch.experts_in_force, arch.top_k
    if result is None:
        return ArchitectureCandidate(experts, top_k, precision_of(scenario), None, None, None, None, None, None, (),
                                     error)
    point = result.optimal
    objective = point.total_cost_usd if result.objective == "usd" else point.total_flops
    return ArchitectureCandidate(
        experts=experts, top_k=top_k, precision=precision_of(scenario), params=point.params,
        total_params=point.params * total_per_active(experts, top_k), tokens=point.tokens,
        tokens_per_param=point.tokens_per_param, total_cost_usd=point.total_cost_usd, objective_value=objective,
        binding_constraints=tuple(result.binding_constraints))


def choose(axes: Sequence[str], scenarios: Sequence["Scenario"],
           results: Sequence["Result | InfeasibleError"]) -> tuple["Result", ArchitectureChoice]:
    """The winner's Result with the table attached. A candidate that is infeasible is a row with its reason;
    when every candidate is, the first one's error is raised with the others' reasons appended."""
    rows = [_row(s, r, None) if not isinstance(r, InfeasibleError) else _row(s, None, str(r))
            for s, r in zip(scenarios, results)]
    feasible = [i for i, row in enumerate(rows) if row.feasible]
    if not feasible:
        first = results[0]
        assert isinstance(first, InfeasibleError)
        others = "; ".join(f"{_label(r)}: {r.error}" for r in rows[1:])
        raise InfeasibleError(f"no candidate architecture reaches the target: {_label(rows[0])}: {first}"
                              + (f"; {others}" if others else ""), first.constraints)
    winner = min(feasible, key=lambda i: float(rows[i].objective_value or 0.0))  # the first listed wins a tie
    best = results[winner]
    assert not isinstance(best, InfeasibleError)
    choice = ArchitectureChoice(tuple(axes), best.objective, tuple(rows), winner)
    return replace(best, architecture_choice=choice), choice


def _label(row: ArchitectureCandidate) -> str:
    return f"E = {row.experts:g}, {row.precision}"


def optimize_choice(scenario: "Scenario", solve: Callable[["Scenario"], "Result"]) -> "Result":
    """Solve every candidate of `scenario` with `solve` and return the winner's Result (its
    `architecture_choice` holds the table)."""
    axes, scenarios = variants(scenario)
    results: list[Result | InfeasibleError] = []
    for variant in scenarios:
        try:
            results.append(solve(variant))
        except InfeasibleError as exc:  # one candidate's caps: a row of the table, not the end of the choice
            results.append(exc)
    return choose(axes, scenarios, results)[0]


def chosen_scenario(scenario: "Scenario", result: "Result") -> "Scenario":
    """The variant of `scenario` that `result` solved: the winner of its choice (what its workbook's Inputs and
    live formulas must describe), else the scenario itself."""
    if result.architecture_choice is None:
        return scenario
    return variants(scenario)[1][result.architecture_choice.winner]


def require_one_architecture(scenario: "Scenario", study: str) -> None:
    """Studies over arrays of one scenario (sweeps, sensitivity, Monte Carlo, break-even) price one architecture:
    the choice among candidates is a discrete re-solve per element that they do not make. Refuse a scenario that
    lists candidates, naming the field, rather than silently studying its first candidate."""
    if not is_choice(scenario):
        return
    path: tuple[str, ...] = ("model", "experts") if scenario.model.is_choice else ("serving", "precisions")
    raise ScenarioError(f"{study} needs one architecture, and this scenario lists candidates that only `tco "
                        "optimize` chooses among: give one value (the choice's winner, say)",
                        source=scenario.source or "<scenario>", path=path)
