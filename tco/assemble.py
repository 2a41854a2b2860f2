"""From an optimum to a Result: what every solve path shares (the GP path in `tco.optimize`, the
data-repetition path in `tco.repeated`, and the sweeps' infeasibility messages in `tco.studies.arrays`).

Design points priced by the cost-term registry, constraint reports, the cross-check tolerance, shadow prices by
differences of exact solves, the infeasibility diagnosis, advice, and the inputs in force.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from .errors import InfeasibleError, SolverError
from .model.build import Model
from .model.costs import layout
from .results import ConstraintReport, CrossCheck, DesignPoint, Result, Savings
from .results.deployment import (decode_roofline, deployment_sizing, ownership_comparison, ownership_inputs,
                                 serving_fit_inputs, serving_pricing, time_value)
from .results.sections import DataInputs, DemandInputs, Inputs, ServingInputs, TrainingInputs
from .scenario.fields import PARAMS_RANGE, TOKENS_RANGE  # an optimum outside them is an error
from .solve.curve import PlainCurve
from .solve.exact import cap_interval
from .solve.regimes import kernel_cap, solve_model
from .units import format_count

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["CROSS_CHECK_TOLERANCE", "EXTRAPOLATION_TOKENS_PER_PARAM", "with_source", "constraint_reports",
           "check_cross", "non_finite_figures",
           "assemble_result", "design_point", "max_rel_diff", "shadow_by_difference", "check_feasible", "advice",
           "extrapolation_note", "hardware_notes", "resolved_inputs"]

CROSS_CHECK_TOLERANCE = 1e-6
#: Sardana et al. 2024 trained up to 10,000 tokens/param and found the Chinchilla form overstates the gains
#: of over-training beyond ~1,000.
EXTRAPOLATION_TOKENS_PER_PARAM = 1_000.0


def with_source(scenario: "Scenario", exc: InfeasibleError) -> InfeasibleError:
    """The same infeasibility, its message prefixed with the scenario file when there is one."""
    if scenario.source is None:
        return exc
    return InfeasibleError(f"{scenario.source}: {exc}", exc.constraints)


def constraint_reports(model: Model, binding, params: float, tokens: float, chin_n: float, chin_d: float):
    """One report per cap: value, slack and binding at the optimum; whether the Chinchilla baseline violates it.

    `binding` holds the solver's verdict per cap; a cap counts as binding only if its slack is also ~0."""
    return tuple(
        ConstraintReport(
            name=c.name, description=c.describe(), limit=c.limit, value=float(c.value(params, tokens)),
            relative_slack=float(c.relative_slack(params, tokens)),
            binding=bool(binding[m]) and abs(c.relative_slack(params, tokens)) < 1e-6,
            chinchilla_violates=bool(c.relative_slack(chin_n, chin_d) < -1e-9),
        )
        for m, c in enumerate(model.caps)
    )


def check_cross(scenario: "Scenario", rel: float, what: str, judged: float | None = None) -> None:
    """SolverError (one line, naming the scenario) when the two independent solves disagree beyond
    CROSS_CHECK_TOLERANCE, or their difference is not a number: an answer neither solve confirms is not printed.
    `judged` (default `rel`) is the disagreement held against the tolerance, `rel` the one the message shows."""
    if (rel if judged is None else judged) <= CROSS_CHECK_TOLERANCE:
        return
    where = f"{scenario.source}: " if scenario.source else ""
    raise SolverError(f"{where}{what} differ by {rel:.2g} relative (tolerance {CROSS_CHECK_TOLERANCE:g}); the "
                      "optimum is not confirmed, so none is reported (the inputs may be too extreme for double "
                      "precision; run with --debug to see the solves)")


#: Result figures that may be infinite by design: the loss target's shadow price is +inf where no design
#: reaches a slightly lower loss (a cap binds at the target); the roofline's crossover size is +inf where decode
#: stays memory bound at any size.
_MAY_BE_INFINITE = ("loss_shadow_price_usd_per_nat", "loss_shadow_price_flops_per_nat", "crossover_params")


def non_finite_figures(data, prefix: str = "") -> list[str]:
    """Dotted paths of the float figures in `data` (a Result, its sections, dicts and lists of them) that are
    infinite or NaN. (Result.to_dict() would hide them: JSON has no infinity, so it writes null.)"""
    found: list[str] = []
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    elif isinstance(data, BaseModel):
        data = dict(data)
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key not in _MAY_BE_INFINITE:
                found += non_finite_figures(value, f"{prefix}{key}.")
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            found += non_finite_figures(value, f"{prefix}{i}.")
    elif isinstance(data, (float, np.floating)) and not math.isfinite(data):
        found.append(prefix.rstrip("."))
    return found


def assemble_result(scenario: "Scenario", model: Model, optimal: DesignPoint, chinchilla: DesignPoint,
                    shadow_usd: float, shadow_flops: float, reports, cross: CrossCheck, warnings,
                    **extra) -> Result:
    """The Result of a solved scenario (shared by the GP path and the data-repetition path). SolverError when
    any of its figures is infinite or NaN: a result that cannot be represented is an error, never a null."""
    result = _result(scenario, model, optimal, chinchilla, shadow_usd, shadow_flops, reports, cross, warnings,
                     **extra)
    bad = non_finite_figures(result)
    if bad:
        where = f"{scenario.source}: " if scenario.source else ""
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise SolverError(f"{where}the result has non-finite figures ({shown}): the inputs are beyond what double "
                          "precision represents; bring them into their documented ranges (README)")
    for name, point in (("optimum", optimal), ("compute-optimal point at the same loss", chinchilla)):
        for what, value, lo, hi, unit in (("N", point.params, *PARAMS_RANGE, "parameters"),
                                          ("D", point.tokens, *TOKENS_RANGE, "tokens")):
            if not lo <= value <= hi:
                where = f"{scenario.source}: " if scenario.source else ""
                raise SolverError(
                    f"{where}the {name} has {what} = {value:.3g} {unit}, outside [{lo:.0e}, {hi:.0e}] where the "
                    "scaling laws mean anything (the range of constraints.max_params / max_tokens): check the loss "
                    "target and the law's constants" + ("" if model.quantization is None else
                                                        ", and serving.quantization, whose penalty forces larger "
                                                        "models (serve at more bits or check its constants)"))
    return result


def _result(scenario: "Scenario", model: Model, optimal: DesignPoint, chinchilla: DesignPoint,
            shadow_usd: float, shadow_flops: float, reports, cross: CrossCheck, warnings, **extra) -> Result:
    return Result(
        scenario=scenario.name,
        objective=model.objective,
        law=model.law.name,
        target_loss=model.target_loss,
        optimal=optimal,
        chinchilla=chinchilla,
        savings=Savings(
            total_cost_usd=chinchilla.total_cost_usd - optimal.total_cost_usd,
            fraction=1.0 - optimal.total_cost_usd / chinchilla.total_cost_usd,
            total_flops=chinchilla.total_flops - optimal.total_flops,
            flops_fraction=1.0 - optimal.total_flops / chinchilla.total_flops,
        ),
        tokens_factor=optimal.tokens / chinchilla.tokens,
        params_factor=optimal.params / chinchilla.params,
        loss_shadow_price_usd_per_nat=float(shadow_usd),
        loss_shadow_price_flops_per_nat=float(shadow_flops),
        constraints=tuple(reports),
        cross_check=cross,
        warnings=(*hardware_notes(scenario), *warnings),
        inputs=resolved_inputs(scenario, model),
        ownership=ownership_comparison(scenario, optimal),
        sizing=deployment_sizing(scenario, optimal, chinchilla),
        time_value=time_value(scenario),
        decode_roofline=decode_roofline(scenario, optimal, chinchilla),
        serving_pricing=serving_pricing(scenario, optimal),
        layout=layout(model.terms),
        term_inputs=tuple(row for term in model.terms for row in type(term).input_rows(scenario)),
        **extra,
    )


def design_point(scenario: "Scenario", model: Model, params: float, tokens: float) -> DesignPoint:
    """Evaluate every cost term of `model` at (params, tokens)."""
    return DesignPoint.from_figures(model.figures(params, tokens), [t.name for t in model.terms])


def max_rel_diff(n1, n2, d1, d2, f1, f2) -> float:
    return float(max(abs(n1 / n2 - 1), abs(d1 / d2 - 1), abs(f1 / f2 - 1)))


def shadow_by_difference(model: Model, measure: str | None = None) -> float:
    """-(d measure / d loss) along the optimal path, by a central difference of exact solves.

    Used for the measure that is not the objective (the $ slope of a FLOPs-optimal design, and vice versa)
    and where the KKT multiplier is not unique (a vertex of two caps).
    """
    measure = measure or model.objective
    h = 1e-5 * max(model.target_loss - model.law.min_loss, 1e-3)
    values = []
    for loss in (model.target_loss - h, model.target_loss + h):
        shifted = model.with_loss(loss)
        sol = solve_model(shifted)
        if not bool(sol.feasible):
            return math.inf
        n, d = float(sol.params), float(sol.tokens)
        values.append(float(model.usd(n, d) if measure == "usd" else model.flops(n, d)))
    return (values[0] - values[1]) / (2 * h)


def check_feasible(model: Model) -> None:
    """Raise InfeasibleError naming the smallest set of caps that, with the loss target, has no solution."""
    loss = model.loss
    caps = list(model.caps)
    curve = PlainCurve(loss.a, loss.p, loss.b, loss.q)
    intervals = [cap_interval(curve, *kernel_cap(c)) for c in caps]
    for c, (lo, hi) in zip(caps, intervals):
        if lo > hi:
            raise InfeasibleError(_infeasible_message(model, [c]), (c.name,))
    for i in range(len(caps)):
        for j in range(i + 1, len(caps)):
            if max(intervals[i][0], intervals[j][0]) > min(intervals[i][1], intervals[j][1]):
                raise InfeasibleError(_infeasible_message(model, [caps[i], caps[j]]), (caps[i].name, caps[j].name))
    if caps:
        lo = max(iv[0] for iv in intervals)
        hi = min(iv[1] for iv in intervals)
        if lo > hi:
            raise InfeasibleError(_infeasible_message(model, caps), tuple(c.name for c in caps))
    if loss.penalized and caps:  # reachable without the penalty: the penalty is what makes it unreachable
        conflict = _smallest_penalized_conflict(model, caps)
        raise InfeasibleError(_penalty_message(model, conflict), ("serving.quantization", *(c.name for c in conflict)))


def _smallest_penalized_conflict(model: Model, caps) -> list:
    """The first single cap, then pair, that leaves no design on the penalized constraint; else all caps."""
    def infeasible(subset) -> bool:
        return not bool(solve_model(dataclasses.replace(model, caps=tuple(subset))).feasible)

    for c in caps:
        if infeasible([c]):
            return [c]
    for i in range(len(caps)):
        for j in range(i + 1, len(caps)):
            if infeasible([caps[i], caps[j]]):
                return [caps[i], caps[j]]
    return list(caps)


def _penalty_message(model: Model, caps) -> str:
    from .solve.reach import best_reachable_served_loss

    assert model.quantization is not None
    best_loss, n, d = best_reachable_served_loss(model.law, model.quantization, caps)
    names = " and ".join(c.describe() for c in caps)
    if n >= PARAMS_RANGE[1] * (1 - 1e-9):
        names += f" (and at most {PARAMS_RANGE[1]:.0e} parameters, the laws' range)"
    return (f"infeasible: with the quantization penalty of serving.quantization ({model.quantization.form}, "
            f"{model.quantization.bits:g} bits), {names} leave{'s' if len(caps) == 1 else ''} the loss target "
            f"{model.target_loss:.6g} unreachable under law {model.law.name}: the best served loss within "
            f"{'it' if len(caps) == 1 else 'them'} is {best_loss:.6g} (N = {_amount(n)}, D = {_amount(d)}); serve "
            "at more bits, relax the cap or raise the loss target")


def quantization_section(model: Model, params: float, tokens: float, chin_n: float, chin_d: float):
    """The Result's `quantization` section: the penalty at the optimum and at the baseline, and the exact optimum
    of the same model without the penalty (None when that one is infeasible)."""
    from .results import QuantizedServing, UnpenalizedDesign

    pen = model.quantization
    if pen is None:
        return None
    plain = dataclasses.replace(model, loss=model.law.constraint(model.target_loss), quantization=None)
    sol = solve_model(plain)
    without = None
    if bool(sol.feasible):
        n0, d0 = float(sol.params), float(sol.tokens)
        without = UnpenalizedDesign(n0, d0, d0 / n0, float(plain.usd(n0, d0)))
    return QuantizedServing(
        pen.form, pen.bits, pen.coefficient, pen.c_t, pen.gamma_d, pen.gamma_n, pen.gamma_post, pen.bias,
        pen.published, pen.constant,
        pen.source, float(pen.delta(params, tokens)), float(model.pre_quantization_loss(params, tokens)),
        float(pen.delta(chin_n, chin_d)), float(model.pre_quantization_loss(chin_n, chin_d)), without)


def _infeasible_message(model: Model, caps) -> str:
    from .solve.reach import best_reachable_loss

    if model.loss.penalized:  # the served loss includes the quantization penalty: quote the best of that
        return _penalty_message(model, caps)
    best_loss, n, d = best_reachable_loss(model.law, caps)
    served = ""
    if model.quantization is not None:  # a constant penalty: the served loss is the law's plus it
        best_loss += model.quantization.constant
        served = f" served, with the {model.quantization.constant:g}-nat penalty of serving.quantization,"
    names = " and ".join(c.describe() for c in caps)
    verb = "makes" if len(caps) == 1 else "together make"
    return (
        f"infeasible: {names} {verb} the loss target {model.target_loss:.6g} unreachable under law "
        f"{model.law.name}: the best loss within {'it' if len(caps) == 1 else 'them'} is {best_loss:.6g}{served} "
        f"(N = {_amount(n)}, D = {_amount(d)}); relax {'it' if len(caps) == 1 else 'one of them'} "
        "or raise the loss target"
    )


def _amount(value: float) -> str:
    return format_count(value) if math.isfinite(value) else "unbounded"


#: Kaplan et al. 2020 (section 4.2, eq. 4.4): overfitting stays below ~2% while D >= 5e3 N^0.74.
KAPLAN_OVERFIT_COEF, KAPLAN_OVERFIT_EXP = 5e3, 0.74


def overfitting_note(design: DesignPoint, which: str) -> str | None:
    """The one check of Kaplan et al.'s overfitting guideline D >= 5e3 N^0.74, for the optimum and the baseline
    alike (a small-data baseline can break it when the optimum does not): a warning, or None."""
    guideline = KAPLAN_OVERFIT_COEF * design.params**KAPLAN_OVERFIT_EXP
    if design.tokens >= guideline:
        return None
    return (f"{which}'s D = {format_count(design.tokens)} tokens (N = {format_count(design.params)}) is below "
            f"Kaplan et al. 2020's overfitting guideline D >= 5e3 N^0.74 = {format_count(guideline)}; "
            "the law may not hold there")


def extrapolation_note(tokens_per_param, which: str = "the optimum", *, out_of: int | None = None) -> str | None:
    """The one warning for designs beyond EXTRAPOLATION_TOKENS_PER_PARAM, for every command that reports a design:
    a scalar is one design ("the optimum trains 2,253 tokens per parameter, ..."), an array many (sweep points,
    Monte Carlo samples: "12 of 50 sweep optima train beyond ..."). `out_of`: the number of designs when the
    array holds only some of them (a streamed sweep keeps just those beyond). None when no finite value is beyond."""
    values = np.asarray(tokens_per_param, dtype=float).ravel()
    values = values[np.isfinite(values)]
    beyond = int(np.count_nonzero(values > EXTRAPOLATION_TOKENS_PER_PARAM))
    if not beyond:
        return None
    limit, count = f"~{EXTRAPOLATION_TOKENS_PER_PARAM:,.0f}", values.size if out_of is None else out_of
    if np.ndim(tokens_per_param) == 0:
        lead = f"{which} trains {values[0]:,.0f} tokens per parameter, beyond {limit}"
    else:
        lead = f"{beyond:,} of {count:,} {which} train beyond {limit} tokens per parameter (up to {values.max():,.0f}),"
    # the consequence every command shares (a sweep's savings, a robust design's premium, a proposed design's loss)
    return (f"{lead} where Sardana et al. 2024 found the Chinchilla form overstates the gains of over-training: "
            "the loss reached there may be worse than the law predicts")


def hardware_notes(scenario: "Scenario") -> list[str]:
    """One note per catalog alias the scenario's phases name ('H100' -> 'H100 SXM'), so the device priced is
    never a silent choice; both phases naming the same alias share the note."""
    from .hardware import alias_note

    names: dict[str, list[str]] = {}
    for phase in ("training", "serving"):
        spec = getattr(scenario, phase).hardware
        names.setdefault(spec if isinstance(spec, str) else spec.name, []).append(f"{phase}.hardware")
    return [note for name, where in names.items() if (note := alias_note(name, " and ".join(where)))]


def advice(optimal: DesignPoint, chinchilla: DesignPoint, reports) -> list[str]:
    notes = [note for note in (extrapolation_note(optimal.tokens_per_param),) if note]
    notes += [note for note in (overfitting_note(optimal, "the optimum"),
                                overfitting_note(chinchilla, "the compute-optimal baseline")) if note]
    violated = [r.name for r in reports if r.chinchilla_violates]
    if violated:
        notes.append(
            f"the compute-optimal baseline violates {', '.join(violated)}: savings compare against a design "
            "the constraints rule out"
        )
    return notes


def resolved_inputs(scenario: "Scenario", model: Model) -> Inputs:
    """The inputs in force after defaults and catalog look-ups: what every export records."""
    t, s, d = scenario.training, scenario.serving, scenario.demand
    per_request = d.requests is not None or d.requests_per_year is not None
    capped_data = scenario.data.max_unique_tokens is not None
    return Inputs(
        law=model.law.to_dict(),
        target_loss=model.target_loss,
        objective=model.objective,
        training=TrainingInputs(
            hardware=t.device.name, dtype=t.dtype, peak_flops=t.peak_flops, mfu=t.mfu,
            price_usd_per_hour=t.usd_per_hour, price_source=t.price_source, source=t.device.source,
            goodput=t.goodput, sequence_length=t.sequence_length, attention_flops=scenario.attention_flops,
        ),
        serving=ServingInputs(
            hardware=s.device.name, dtype=s.dtype, peak_flops=s.peak_flops,
            prefill_mfu=s.prefill_mfu, decode_mfu=None if s.roofline is not None else s.decode_mfu,
            decode_model="roofline" if s.roofline is not None else "decode_mfu",
            price_usd_per_hour=s.usd_per_hour, price_source=s.price_source, source=s.device.source,
        ),
        demand=DemandInputs(
            requests=d.requests,
            prompt_tokens_per_request=d.prompt_tokens_per_request if per_request else None,
            generated_tokens_per_request=d.generated_tokens_per_request if per_request else None,
            lifetime_prompt_tokens=d.lifetime_prompt_tokens,
            lifetime_generated_tokens=d.lifetime_generated_tokens,
            requests_per_year=d.requests_per_year,
            years=d.years,
            growth_per_year=d.growth_per_year,
            discount_rate=d.discount_rate,
            nominal_lifetime_prompt_tokens=d.nominal_prompt_tokens,
            nominal_lifetime_generated_tokens=d.nominal_generated_tokens,
            samples_per_request=d.samples_per_request if per_request else None,
            reasoning_tokens_per_request=d.reasoning_tokens_per_request if per_request else None,
        ),
        constraints={c.name.split(".")[-1]: c.limit for c in model.caps},
        data=DataInputs(
            cost_usd_per_token=scenario.data.cost_usd_per_token,
            max_unique_tokens=scenario.data.max_unique_tokens if capped_data else None,
            repetition=scenario.data.repetition if capped_data else None,
        ),
        training_ownership=ownership_inputs(scenario, "training"),
        serving_ownership=ownership_inputs(scenario, "serving"),
        serving_fit=serving_fit_inputs(scenario),
    )
