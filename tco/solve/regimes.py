"""THE dispatcher: a `Model` (plain or repeated data, fixed-MFU or roofline decode) -> its exact optimum, arrays
elementwise, by the one kernel of `tco.solve.exact`.

Regimes. A roofline decode term (`Model.roofline`: a term whose class lists its regimes) costs
max(compute, memory): memory bound for N below the crossover N* and compute bound above it. On each side the max
is a sum of monomials, so

    min over N of cost  =  min( min over N <= N* of cost_memory,  min over N >= N* of cost_compute )

and each inner problem is the kernel's problem with one more monomial cap (N <= N*, or N^-1 <= 1/N*). The Newton
polish solves the regimes too; the GP solves the max directly (`cp.maximum`), so the cross-check between the
two stays independent. An optimum at the kink is a regime cap that binds: the cheapest balanced design.

Both regime costs are log-convex along the curve (tco.solve.curve), so their max, the true cost, is too: a
regime optimum whose crossover bound does not bind is a local, hence the global, minimum. So the memory regime
is solved for every element and the compute regime only where the memory regime's bound binds or is empty.

Only these attributes of a Model are read: ``loss.(a, p, b, q)``, ``terms`` (``n_exp``, ``d_exp``,
``weight(objective)``; the roofline term's ``pieces(objective, regime)`` and ``times.crossover_params()``),
``caps`` (``n_exp``, ``d_exp``, ``limit``), ``roofline``, ``unique_tokens`` and ``objective``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..units import format_count
from .curve import PlainCurve, RepeatedCurve
from .exact import ExactSolution, solve_curve

__all__ = ["Regime", "regimes", "regime_parts", "solve_model", "model_curve", "Crossover", "roofline_term",
           "chinchilla_point"]


@dataclass(frozen=True)
class Crossover:
    """The bound of one decode regime: N <= N* (memory bound, n_exp 1) or N >= N* as N^-1 <= 1/N* (compute
    bound, n_exp -1). Has the attributes of a cap, so the polish and the GP's reports take it as one."""

    n_exp: int
    limit: Any
    crossover_params: Any
    d_exp: int = 0
    name: str = "serving.roofline (crossover)"

    @property
    def bound(self) -> str:
        return "memory bound" if self.n_exp > 0 else "compute bound"

    def value(self, params, tokens):
        return params**self.n_exp

    def relative_slack(self, params, tokens):
        return 1.0 - self.value(params, tokens) / self.limit

    def describe(self):
        return f"decode {self.bound}: N {'<=' if self.n_exp > 0 else '>='} {format_count(self.crossover_params)}"


@dataclass(frozen=True)
class Regime:
    """One decode regime of a Model (memory or compute bound, or the single regime without a roofline)."""

    name: str  # "memory", "compute", or "single" (no roofline term)
    model: Any  # the Model with only monomial terms; caps = the original caps, then this regime's crossover bound


def roofline_term(model):
    """The term that is not a monomial (the roofline decode: its class lists `regimes`), or None."""
    return model.roofline


def regimes(model) -> tuple[Regime, ...]:
    """The regimes of `model` as Models of monomials (for the Newton polish). A scalar crossover of 0 or infinity
    leaves one regime; with arrays of scenarios both regimes stay (the same for every element), with limits 0 or
    infinity where one is empty or unbounded."""
    return tuple(Regime(name, dataclasses.replace(model, terms=terms, caps=caps))
                 for name, terms, caps in regime_parts(model))


def regime_parts(model):
    """(name, monomial terms, caps) per regime: the caps are the model's, then the regime's crossover bound."""
    roof = roofline_term(model)
    if roof is None:
        return [("single", tuple(model.terms), tuple(model.caps))]
    others = tuple(t for t in model.terms if t is not roof)
    if model.objective == "flops":
        return [("single", others + roof.pieces("flops", "single"), tuple(model.caps))]
    crossover = roof.times.crossover_params()
    with np.errstate(divide="ignore"):  # a crossover of 0 (no KV read) leaves no memory-bound regime
        above = 1.0 / np.asarray(crossover, dtype=float)
    out = []
    for name, n_exp, limit in (("memory", 1, crossover), ("compute", -1, above)):
        scalar = np.ndim(limit) == 0
        if scalar and limit == 0:
            continue  # one scenario whose regime is empty
        extra = () if scalar and np.isinf(limit) else (  # an infinite scalar bound bounds nothing
            Crossover(n_exp, float(limit) if scalar else limit, crossover),)
        out.append((name, others + roof.pieces("usd", name), (*model.caps, *extra)))
    return out


def model_curve(model):
    """The iso-loss curve of `model`: with repeated data when it has `unique_tokens`."""
    loss = model.loss
    if model.unique_tokens is None:
        return PlainCurve(loss.a, loss.p, loss.b, loss.q)
    return RepeatedCurve(loss.a, loss.p, loss.b, loss.q, model.unique_tokens)


def _problem(objective, terms, caps):
    """The kernel's (i, j, weight) terms and (i, j, limit) caps; zero weights (sweeps) are allowed."""
    return ([(t.n_exp, t.d_exp, t.weight(objective)) for t in terms], [(c.n_exp, c.d_exp, c.limit) for c in caps])


def solve_model(model, *, chinchilla: bool = False) -> ExactSolution:
    """The exact optimum of `model` (arrays elementwise). `binding` covers the model's own caps: a binding
    crossover is not a constraint of the scenario. `chinchilla=True` minimizes training FLOPs 6 N D at equal
    loss without caps instead: the compute-optimal baseline (under the repetition model when epochs repeat)."""
    curve = model_curve(model)
    if chinchilla:
        return solve_curve(curve, [(1, 1, 6.0)])
    n_caps = len(model.caps)
    parts = regime_parts(model)
    first = solve_curve(curve, *_problem(model.objective, *parts[0][1:]))
    if len(parts) == 1:
        return dataclasses.replace(first, binding=first.binding[:n_caps])
    # the second regime only where the first one's crossover bound binds or leaves nothing
    shape = first.params.shape
    bound = len(parts[0][2]) > n_caps  # the crossover is the last cap (absent when it is infinite)
    todo = np.flatnonzero(~first.feasible.ravel() | (first.binding[-1].ravel() if bound else False))
    solutions = [first]
    if todo.size:
        terms, caps = _problem(model.objective, *parts[1][1:])
        sub = solve_curve(curve.take(todo, shape) if shape else curve,
                          [(i, j, _take(w, shape, todo)) for i, j, w in terms],
                          [(i, j, _take(lim, shape, todo)) for i, j, lim in caps])
        solutions.append(sub)
    return _pick(first, solutions[1] if todo.size else None, todo, n_caps)


def _take(x, shape, idx):
    x = np.asarray(x, dtype=float)
    return x if x.ndim == 0 and not shape else np.broadcast_to(x, shape).ravel()[idx]


def _pick(first: ExactSolution, second: ExactSolution | None, idx, n_caps: int) -> ExactSolution:
    """`first` with the elements `idx` replaced by `second` where it is cheaper (ties keep `first`)."""
    if second is None:
        return dataclasses.replace(first, binding=first.binding[:n_caps])
    shape = first.params.shape
    out = {}
    flat_first = {k: np.array(np.broadcast_to(getattr(first, k), shape), dtype=float).ravel()
                  for k in ("params", "tokens", "zeta", "objective")}
    better = np.asarray(second.objective).ravel() < flat_first["objective"][idx]
    chosen = idx[better]
    for k, arr in flat_first.items():
        arr[chosen] = np.asarray(getattr(second, k)).ravel()[better]
        out[k] = arr.reshape(shape)
    feasible = np.array(np.broadcast_to(first.feasible, shape)).ravel()
    feasible[idx] |= np.asarray(second.feasible).ravel()
    size = int(np.prod(shape, dtype=int))
    binding = np.array(np.broadcast_to(first.binding[:n_caps], (n_caps, *shape))).reshape(n_caps, size)
    binding[:, chosen] = np.asarray(second.binding[:n_caps]).reshape(n_caps, idx.size)[:, better]
    lo, hi = (np.array(np.broadcast_to(v, shape), dtype=float).ravel() for v in first.interval)
    lo[chosen] = np.asarray(second.interval[0]).ravel()[better]
    hi[chosen] = np.asarray(second.interval[1]).ravel()[better]
    return ExactSolution(params=out["params"], tokens=out["tokens"], zeta=out["zeta"],
                         feasible=feasible.reshape(shape), binding=binding.reshape((n_caps, *shape)),
                         interval=(lo.reshape(shape), hi.reshape(shape)), objective=out["objective"])


def chinchilla_point(model):
    """The compute-optimal (N, D) at the model's loss target, the baseline of every result: the closed form on
    the plain curve (`LossConstraint.chinchilla_point`), the kernel's minimum of 6 N D on the repeated-data curve
    (NaN where the unique tokens cannot reach the target). Floats or arrays, as the model's inputs."""
    if model.unique_tokens is None:
        return model.loss.chinchilla_point()
    sol = solve_model(model, chinchilla=True)
    if np.ndim(sol.params) == 0:
        return float(sol.params), float(sol.tokens)
    return sol.params, sol.tokens
