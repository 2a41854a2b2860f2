"""Data-constrained training: repeated epochs under Muennighoff et al. 2023 (not a GP; an exact 1-D solve).

With U unique tokens trained for D >= U tokens, the loss law sees the effective data (primer, section 3)

    D' = U + U R*_D (1 - exp(-(D/U - 1) / R*_D))        (D' = D for D <= U)

which saturates at U (1 + R*_D) ~ 16.4 U. The loss constraint ``a N^-p + b D'^-q <= 1`` binds, so the optimum
lies on the iso-loss curve; we parametrize it by x = log D': N(x) = (a / (1 - b e^-qx))^(1/p) and the real D by
the closed-form inverse D = U (1 - R ln(1 - (D'/U - 1) / R)). Along the curve log N and log D are convex in x,
so the cost (a posynomial in N, D) is log-convex and each monomial cap is an interval of x. The optimum is the
root of d cost/d x (analytic, bisection to ~1e-13 in x) clipped to the caps; a second, derivative-free method
(bounded Brent on the cost) cross-checks it. Training FLOPs and costs use the real D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InfeasibleError
from ..units import format_count

__all__ = ["R_D", "R_N", "SATURATION", "effective_tokens", "real_tokens", "RepetitionSolution",
           "solve_repetition", "solve_model_repetition", "unreachable_message",
           "reject_repetition"]

#: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (NeurIPS), fitted decay constants:
#: R*_D for repeated data (the value of repeated tokens decays with e-folding R*_D epochs), R*_N for excess
#: parameters (not used here: we follow the primer and only model repeated data).
R_D = 15.387756
R_N = 5.309743
#: The best effective data infinite repetition reaches, in units of U.
SATURATION = 1.0 + R_D

_GRID = 401
_ITERATIONS = 200


def effective_tokens(tokens, unique, r=R_D):
    """D' of D tokens drawn from U unique ones (numpy-aware; D' = D for D <= U)."""
    tokens, unique = np.asarray(tokens, dtype=float), np.asarray(unique, dtype=float)
    excess = np.maximum(tokens / unique - 1.0, 0.0)
    out = np.where(tokens <= unique, tokens, unique * (1.0 + r * -np.expm1(-excess / r)))
    return float(out) if np.ndim(out) == 0 else out


def real_tokens(effective, unique, r=R_D):
    """The inverse map: real D giving effective D' (D' < U (1 + R); +inf at or beyond saturation)."""
    effective, unique = np.asarray(effective, dtype=float), np.asarray(unique, dtype=float)
    frac = np.minimum(np.maximum(effective / unique - 1.0, 0.0) / r, 1.0)
    with np.errstate(divide="ignore"):
        out = np.where(effective <= unique, effective, unique * (1.0 - r * np.log1p(-frac)))
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class RepetitionSolution:
    params: float
    tokens: float  # real D
    effective_tokens: float
    objective_value: float
    binding: tuple[bool, ...]
    check_params: float  # the derivative-free cross-check
    check_tokens: float
    check_objective: float


class _Curve:
    """The iso-loss curve in x = log D' with real (log N, log D) and their x-derivatives."""

    def __init__(self, a, p, b, q, unique):
        self.a, self.p, self.b, self.q, self.u = a, p, b, q, unique
        self.lo = math.log(b) / q  # w = b D'^-q -> 1: N -> infinity
        self.hi = math.log(unique * SATURATION)  # D -> infinity

    def logs(self, x):
        x = np.asarray(x, dtype=float)
        w = self.b * np.exp(-self.q * x)
        log_n = (math.log(self.a) - np.log1p(-w)) / self.p
        ratio = np.exp(x) / self.u
        frac = np.clip((ratio - 1.0) / R_D, 0.0, 1.0 - 1e-300)
        log_d = np.where(ratio <= 1.0, x, math.log(self.u) + np.log1p(-R_D * np.log1p(-frac)))
        dlog_n = -(self.q / self.p) * w / (1.0 - w)
        dlog_d = np.where(ratio <= 1.0, 1.0, np.exp(x - log_d) / (1.0 - frac))
        return log_n, log_d, dlog_n, dlog_d


def _log_cost(curve, terms, x):
    log_n, log_d, dn, dd = curve.logs(x)
    logs = np.array([math.log(c) + i * log_n + j * log_d for i, j, c in terms])
    top = logs.max(axis=0)
    weights = np.exp(logs - top)
    total = weights.sum(axis=0)
    slope = sum(wk * (i * dn + j * dd) for wk, (i, j, _) in zip(weights, terms)) / total
    return top + np.log(total), slope  # log cost and its x-derivative


def _bisect(f, lo, hi):
    """Root of increasing f on [lo, hi] (returns an end if f does not change sign)."""
    if f(lo) >= 0:
        return lo
    if f(hi) <= 0:
        return hi
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-13 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def _cap_interval(curve, n_exp, d_exp, limit, lo, hi):
    """x interval where N^n_exp D^d_exp <= limit (convex in x, so an interval); None when empty."""
    def m(x):
        log_n, log_d, _, _ = curve.logs(x)
        return float((n_exp * log_n if n_exp else 0.0) + (d_exp * log_d if d_exp else 0.0) - math.log(limit))

    def dm(x):
        _, _, dn, dd = curve.logs(x)
        return float(n_exp * dn + d_exp * dd)

    bottom = _bisect(dm, lo, hi)
    if m(bottom) > 0:
        return None
    left = lo if m(lo) <= 0 else _bisect(lambda x: -m(x), lo, bottom)
    right = hi if m(hi) <= 0 else _bisect(m, bottom, hi)
    return left, right


def unreachable_message(law, target_loss, unique, b, q) -> str:
    best = law.loss(np.inf, unique * SATURATION)
    needed = math.exp(math.log(b) / q) / SATURATION
    return (f"infeasible: data.max_unique_tokens = {format_count(unique)} unique tokens cannot reach the loss "
            f"target {target_loss:.6g} under law {law.name} even with unlimited repetition: at most "
            f"U (1 + R*_D) = {format_count(unique * SATURATION)} effective tokens (Muennighoff et al. 2023), "
            f"where even N -> infinity gives loss {best:.6g}; it needs at least {format_count(needed)} unique "
            "tokens (or raise the loss target)")


def solve_repetition(a, p, b, q, unique, terms, caps=(), *, cap_names=(), law=None, target_loss=None,
                     rel_tol=1e-9) -> RepetitionSolution:
    """Minimize sum c_k N^i_k D^j_k over the iso-loss curve ``a N^-p + b D'(D)^-q = 1`` with caps on real N, D.

    terms: (i, j, c) with c >= 0; caps: (n_exp, d_exp, limit) on the real (N, D). Raises InfeasibleError.
    """
    curve = _Curve(a, p, b, q, unique)
    names = tuple(cap_names) or tuple(f"cap {m} (limit {format_count(c[2])})" for m, c in enumerate(caps))
    if curve.hi <= curve.lo:
        msg = (unreachable_message(law, target_loss, unique, b, q) if law is not None else
               f"infeasible: {format_count(unique)} unique tokens cannot reach the loss target")
        raise InfeasibleError(msg, ("data.max_unique_tokens",))
    width = curve.hi - curve.lo
    lo, hi = curve.lo + 1e-12 * width, curve.hi - 1e-12 * width
    terms = [(i, j, float(c)) for i, j, c in terms if c > 0]
    caps = [(i, j, float(lim)) for i, j, lim in caps]
    for (i, j, lim), name in zip(caps, names):
        if not np.isfinite(lim):
            continue
        interval = _cap_interval(curve, i, j, lim, lo, hi) if lim > 0 else None  # 0: an empty decode regime
        if interval is None or max(lo, interval[0]) > min(hi, interval[1]):
            raise InfeasibleError(
                f"infeasible: {name} and the loss target leave no design with "
                f"{format_count(unique)} unique tokens repeated (Muennighoff et al. 2023); relax it, add unique "
                "data or raise the loss target", (name, "data.max_unique_tokens"))
        lo, hi = max(lo, interval[0]), min(hi, interval[1])

    def slope(x):
        return float(_log_cost(curve, terms, x)[1])

    x_star = _bisect(slope, lo, hi)
    # the derivative-free check: the best of a grid, refined by bounded Brent on the log cost
    from scipy.optimize import minimize_scalar

    grid = np.linspace(lo, hi, _GRID)
    values = _log_cost(curve, terms, grid)[0]
    k = int(np.argmin(values))
    steps = np.sign(np.diff(values)[np.abs(np.diff(values)) > 1e-12 * np.abs(values[1:])])
    if np.count_nonzero(np.diff(steps)) > 1:  # pragma: no cover - not unimodal: trust the grid's bracket
        x_star = None
    a_, b_ = grid[max(k - 1, 0)], grid[min(k + 1, _GRID - 1)]
    if b_ > a_:
        check = minimize_scalar(lambda x: float(_log_cost(curve, terms, x)[0]), bounds=(a_, b_),
                                method="bounded", options={"xatol": 1e-12})
        x_check = float(check.x) if check.fun <= values[k] else float(grid[k])
    else:
        x_check = float(grid[k])

    def point(x):
        log_n, log_d, _, _ = curve.logs(x)
        n, d = math.exp(float(log_n)), math.exp(float(log_d))
        return n, d, sum(c * n**i * d**j for i, j, c in terms)

    if x_star is None:  # pragma: no cover
        x_star = x_check
    n, d, obj = point(x_star)
    cn, cd, cobj = point(x_check)
    binding = tuple(bool(i * math.log(n) + j * math.log(d) - math.log(lim) >= -rel_tol) for i, j, lim in caps)
    return RepetitionSolution(n, d, math.exp(x_star), obj, binding, cn, cd, cobj)


def solve_model_repetition(model, *, chinchilla: bool = False):
    """Exact optimum of a `Model` with `unique_tokens`, element by element when its numbers are arrays.

    Returns a `tco.model.exact.ExactSolution` (zeta holds log D'); infeasible elements are NaN with
    feasible False. `chinchilla=True` minimizes training FLOPs 6 N D at equal loss without caps: the
    compute-optimal baseline under the same repetition model.
    """
    from .exact import ExactSolution

    loss = model.loss
    if chinchilla:
        terms, caps = [(1, 1, 6.0)], []
    else:
        terms = [(t.n_exp, t.d_exp, t.weight(model.objective)) for t in model.terms]
        caps = [(c.n_exp, c.d_exp, c.limit) for c in model.caps]
    arrays = [loss.a, loss.b, model.unique_tokens, *[c for *_, c in terms], *[lim for *_, lim in caps]]
    shape = np.broadcast(*[np.asarray(v, dtype=float) for v in arrays]).shape
    flat = [np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for v in arrays]
    size = int(np.prod(shape, dtype=int))
    out = {k: np.full(size, np.nan) for k in ("n", "d", "x")}
    feasible = np.zeros(size, dtype=bool)
    binding = np.zeros((len(caps), size), dtype=bool)
    nt = len(terms)
    for e in range(size):
        a, b, u = flat[0][e], flat[1][e], flat[2][e]
        e_terms = [(i, j, flat[3 + k][e]) for k, (i, j, _) in enumerate(terms)]
        e_caps = [(i, j, flat[3 + nt + m][e]) for m, (i, j, _) in enumerate(caps)]
        try:
            sol = solve_repetition(a, loss.p, b, loss.q, u, e_terms, e_caps)
        except InfeasibleError:
            continue
        out["n"][e], out["d"][e], out["x"][e] = sol.params, sol.tokens, math.log(sol.effective_tokens)
        feasible[e] = True
        binding[:, e] = sol.binding
    params, tokens, x = (out[k].reshape(shape) for k in ("n", "d", "x"))
    return ExactSolution(params=params, tokens=tokens, zeta=x, feasible=feasible.reshape(shape),
                         binding=binding.reshape((len(caps), *shape)),
                         interval=(np.full(shape, np.nan), np.full(shape, np.nan)))


def reject_repetition(scenario, what: str) -> None:
    """Raise a one-line TcoError when `scenario` repeats data and `what` (a command) does not support it yet."""
    from ..errors import TcoError

    if scenario.data.repeats:
        raise TcoError(f"{scenario.source or scenario.name}: {what} does not support data repetition yet "
                       "(data.max_unique_tokens with repetition: muennighoff2023); use `tco optimize`, or "
                       "`repetition: none` for a hard cap on training tokens")
