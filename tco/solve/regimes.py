"""THE dispatcher: a `Model` (plain or repeated data, fixed-MFU or roofline decode) -> its exact optimum, arrays
elementwise, by the one kernel of `tco.solve.exact`.

Regimes. A roofline decode term (`Model.roofline`: a term whose class lists its regimes) costs
max(compute, memory): memory bound for N below the crossover N* and compute bound above it (or the other way
round when attention compute outruns the KV reads and the weight reads outrun the weights' FLOPs:
`RooflineCoefficients.crossover_params`). On each side the max is a sum of monomials, so

    min over N of cost  =  min( min over N <= N* of cost_memory,  min over N >= N* of cost_compute )

and each inner problem is the kernel's problem with one or two more monomial caps (N <= hi, N^-1 <= 1/lo: the
regime's range of N, `RooflineCoefficients.regime_bounds`). The Newton
polish solves the regimes too; the GP solves the max directly (`cp.maximum`), so the cross-check between the
two stays independent. An optimum at the kink is a regime cap that binds: the cheapest balanced design.

Both regime costs are log-convex along the curve (tco.solve.curve), so their max, the true cost, is too: a
regime optimum whose crossover bound does not bind is a local, hence the global, minimum. So the memory regime
is solved for every element and the compute regime only where the memory regime's bound binds or is empty.

Only these attributes of a Model are read: ``loss.(a, p, b, q)``, ``terms`` (their ``pieces(objective)``,
monomials with ``n_exp``, ``d_exp``, ``weight(objective)``; the roofline term's ``pieces(objective, regime)``,
``times.crossover_params()`` and ``times.regime_bounds()``),
``caps`` (``n_exp``, ``d_exp``, ``limit``), ``roofline``, ``unique_tokens`` and ``objective``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..units import format_count
from .curve import PlainCurve, RepeatedCurve
from .exact import ExactSolution
from .exact import solve_curve as _solve_two_term
from .penalized import PenalizedCurve, solve_penalized

__all__ = ["Regime", "regimes", "regime_parts", "solve_model", "model_curve", "Crossover", "roofline_term",
           "chinchilla_point", "kernel_cap"]


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
    """(name, monomial terms, caps) per regime: the caps are the model's, then the regime's bounds on N."""
    roof = roofline_term(model)
    others = tuple(piece for t in model.terms if t is not roof for piece in t.pieces(model.objective))
    if roof is None:
        return [("single", others, tuple(model.caps))]
    if model.objective == "flops":
        return [("single", others + roof.pieces("flops", "single"), tuple(model.caps))]
    crossover = roof.times.crossover_params()
    bounds = roof.times.regime_bounds()
    out = []
    for name in ("memory", "compute"):
        lo, hi = bounds[name]
        with np.errstate(divide="ignore"):  # a lower bound of 0 bounds nothing: 1/0 = inf
            above = 1.0 / np.asarray(lo, dtype=float)
        if np.ndim(hi) == 0:
            if hi == 0 or lo == np.inf:
                continue  # one scenario whose regime is empty
            extra = tuple(Crossover(n_exp, float(limit), crossover)
                          for n_exp, limit in ((1, hi), (-1, float(above))) if not np.isinf(limit))
        else:  # arrays: the bounds some element needs (inf where it bounds nothing, 0 where the regime is empty)
            extra = tuple(Crossover(n_exp, limit, crossover) for n_exp, limit, needed in (
                (1, hi, np.any(np.asarray(hi) < np.inf)), (-1, above, np.any(np.asarray(lo) > 0))) if needed)
        out.append((name, others + roof.pieces("usd", name), (*model.caps, *extra)))
    return out


def model_curve(model):
    """The iso-loss curve of `model`: with repeated data when it has `unique_tokens`, the three-term boundary of
    `tco.solve.penalized` when the target also pays a quantization penalty."""
    loss = model.loss
    if loss.penalized:
        if model.unique_tokens is not None:
            raise ValueError("a quantization penalty with repeated data is not supported")
        return PenalizedCurve.of(loss)
    if model.unique_tokens is None:
        return PlainCurve(loss.a, loss.p, loss.b, loss.q)
    return RepeatedCurve(loss.a, loss.p, loss.b, loss.q, model.unique_tokens, getattr(model, "base_params", None))


def _problem(objective, terms, caps):
    """The kernel's (i, j, weight) terms and (i, j, limit) caps; zero weights (sweeps) are allowed."""
    return ([(t.n_exp, t.d_exp, t.weight(objective)) for t in terms], [kernel_cap(c) for c in caps])


def kernel_cap(cap) -> tuple:
    """A cap as the kernel takes it: (n_exp, d_exp, limit), with its `extra` monomials when it is a posynomial."""
    extra = getattr(cap, "extra", ())
    return (cap.n_exp, cap.d_exp, cap.limit, extra) if extra else (cap.n_exp, cap.d_exp, cap.limit)


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
    # the second regime only where one of the first one's bounds binds or it leaves nothing
    shape = first.params.shape
    bound = len(parts[0][2]) > n_caps  # the regime's bounds are the last caps (absent when infinite)
    todo = np.flatnonzero(~first.feasible.ravel() | (
        np.any(first.binding[n_caps:].reshape(first.binding.shape[0] - n_caps, -1), axis=0) if bound else False))
    solutions = [first]
    if todo.size:
        terms, caps = _problem(model.objective, *parts[1][1:])
        sub = solve_curve(curve.take(todo, shape) if shape else curve,
                          [(i, j, _take(w, shape, todo)) for i, j, w in terms],
                          [(i, j, _take(lim, shape, todo), *[tuple((i_k, j_k, _take(w, shape, todo))
                                                                    for i_k, j_k, w in e) for e in extra])
                           for i, j, lim, *extra in caps])
        solutions.append(sub)
    return _pick(first, solutions[1] if todo.size else None, todo, n_caps)


def solve_curve(curve, terms, caps=()) -> ExactSolution:
    """The kernel of `curve`: `tco.solve.exact` on the two-term curves, `tco.solve.penalized` on the three-term
    boundary of a quantization penalty."""
    if isinstance(curve, PenalizedCurve):
        return solve_penalized(curve, terms, caps)
    return _solve_two_term(curve, terms, caps)


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
    if model.unique_tokens is None and not model.loss.penalized:
        return model.loss.chinchilla_point()
    sol = solve_model(model, chinchilla=True)
    if np.ndim(sol.params) == 0:
        return float(sol.params), float(sol.tokens)
    return sol.params, sol.tokens
