"""Regimes: a cost with a roofline decode term, max(compute, memory), as the cheaper of two sums of monomials.

`RooflineDecodeCost` is memory bound for N below the crossover N* and compute bound above it. On each side the
max is one posynomial, so

    min over N of cost  =  min( min over N <= N* of cost_memory,  min over N >= N* of cost_compute )

and each inner problem is the familiar sum of monomials with one more monomial cap (N <= N*, or N^-1 <= 1/N*).
The exact solvers, the Newton polish and the vectorized sweeps solve the regimes and keep the cheaper; the GP
solves the max directly (`cp.maximum`), so the cross-check between the two stays independent. An optimum at
the kink is a regime cap that binds: the cheapest place where decode is exactly balanced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..units import format_count
from .compile import Model
from .constraints import Cap
from .exact import ExactSolution, solve_exact

__all__ = ["Regime", "regimes", "solve_model_exact", "BelowCrossover", "AboveCrossover"]


@dataclass(frozen=True)
class _Crossover(Cap):
    name = "serving.roofline (crossover)"
    bound: ClassVar[str]

    crossover_params: float = 0.0

    def describe(self):
        return f"decode {self.bound}: N {'<=' if self.n_exp > 0 else '>='} {format_count(self.crossover_params)}"


@dataclass(frozen=True)
class BelowCrossover(_Crossover):
    """N <= N*: decode memory bound."""

    bound = "memory bound"
    n_exp = 1
    d_exp = 0


@dataclass(frozen=True)
class AboveCrossover(_Crossover):
    """N >= N*, written N^-1 <= 1/N* to stay a monomial cap: decode compute bound."""

    bound = "compute bound"
    n_exp = -1
    d_exp = 0


@dataclass(frozen=True)
class Regime:
    """One decode regime ("memory", "compute" or "single"): a model of monomial terms, with the regime's cap."""

    name: str  # "memory", "compute", or "single" (no roofline term)
    model: Model  # only monomial terms; caps = the original caps, then this regime's crossover bound


def regimes(model: Model) -> tuple[Regime, ...]:
    """The regimes of `model`. A scalar crossover of 0 or infinity leaves one regime; with arrays of scenarios
    both regimes stay (the same for every element), with limits 0 or infinity where one is empty or unbounded."""
    roof = model.roofline
    if roof is None:
        return (Regime("single", model),)
    others = tuple(t for t in model.terms if t is not roof)
    if model.objective == "flops":
        return (Regime("single", dataclasses.replace(model, terms=others + roof.pieces("flops", "single"))),)
    crossover = roof.times.crossover_params()
    with np.errstate(divide="ignore"):  # a crossover of 0 (no KV read) leaves no memory-bound regime
        above = 1.0 / np.asarray(crossover, dtype=float)
    out = []
    for name, bound, limit in (("memory", BelowCrossover, crossover), ("compute", AboveCrossover, above)):
        scalar = np.ndim(limit) == 0
        if scalar and limit == 0:
            continue  # one scenario whose regime is empty
        extra = () if scalar and np.isinf(limit) else (  # an infinite scalar bound bounds nothing
            # Cap.limit is typed for one scenario; a vectorized model (tco.vector) carries an array of limits.
            bound(limit=float(limit) if scalar else limit, crossover_params=crossover),)  # type: ignore[arg-type]
        caps = (*model.caps, *extra)
        out.append(Regime(name, dataclasses.replace(model, terms=others + roof.pieces("usd", name), caps=caps)))
    return tuple(out)


def _solve_monomials(model: Model) -> ExactSolution:
    if model.unique_tokens is not None:  # repeated epochs: not a GP, the exact 1-D solve of tco.model.repetition
        from .repetition import solve_model_repetition

        return solve_model_repetition(model)
    loss = model.loss
    return solve_exact(
        loss.a, loss.p, loss.b, loss.q,
        [(t.n_exp, t.d_exp, t.weight(model.objective)) for t in model.terms],  # zero weights (sweeps) allowed
        [(c.n_exp, c.d_exp, c.limit) for c in model.caps],
    )


def solve_model_exact(model: Model) -> ExactSolution:
    """The exact optimum of `model` (arrays elementwise): each regime solved exactly, the cheaper kept.

    `binding` covers the model's own caps; a binding crossover is not a constraint of the scenario."""
    parts = regimes(model)
    solutions = [_solve_monomials(r.model) for r in parts]
    n_caps = len(model.caps)
    if len(solutions) == 1:
        sol = solutions[0]
        return dataclasses.replace(sol, binding=sol.binding[:n_caps])
    with np.errstate(invalid="ignore", over="ignore"):
        values = np.array([np.where(s.feasible, model.objective_value(s.params, s.tokens), np.inf)
                           for s in solutions])
    best = np.argmin(values, axis=0)

    def pick(arrays):
        stacked = np.array([np.broadcast_to(a, best.shape) for a in arrays])
        return np.take_along_axis(stacked, best[None], axis=0)[0]

    binding = np.array([pick([s.binding[m] for s in solutions]) for m in range(n_caps)], dtype=bool)
    return ExactSolution(
        params=pick([s.params for s in solutions]), tokens=pick([s.tokens for s in solutions]),
        zeta=pick([s.zeta for s in solutions]), feasible=np.any([s.feasible for s in solutions], axis=0),
        binding=binding.reshape((n_caps, *best.shape)),
        interval=(pick([s.interval[0] for s in solutions]), pick([s.interval[1] for s in solutions])),
    )

