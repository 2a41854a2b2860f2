"""The independent exact solver: the 1-D reduction of the primer, vectorized with numpy.

The loss constraint binds at the optimum (every cost term grows with N and D), so the optimum lies on the
iso-loss curve ``a N^-p + b D^-q = 1``. We walk that curve with one coordinate, the logit of the share of the
data term, ``zeta = log(w / r)`` with ``w = b D^-q`` and ``r = a N^-p = 1 - w``:

    log N = (log a + log(1 + e^zeta)) / p        log D = (log b + log(1 + e^-zeta)) / q

which covers the whole curve, from N -> infinity (zeta -> +inf) to D -> infinity (zeta -> -inf), with full
precision at both ends. The cost along the curve is convex in log D (a convex function of (log N, log D),
increasing in log N, composed with the convex curve), and each monomial cap is quasiconvex along it, so:
each cap is an interval of zeta, and the optimum is the root of d cost / d log D clipped to their intersection.
Every step is a bisection on arrays, so one call solves any number of scenarios at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ExactSolution", "solve_exact", "cap_interval", "bisect_increasing", "ZETA_MIN", "ZETA_MAX", "curve_point"]

#: The curve is followed for zeta in this range: w from e^-300 to 1 - e^-300, far beyond any real design.
ZETA_MIN, ZETA_MAX = -300.0, 300.0
_ITERATIONS = 200  # each halves the bracket; stops early once every element has converged


@dataclass(frozen=True)
class ExactSolution:
    """The exact optimum per scenario: N, D, the curve coordinate zeta, feasibility and the binding caps."""

    params: np.ndarray
    tokens: np.ndarray
    zeta: np.ndarray
    feasible: np.ndarray  # False where the caps leave no point of the iso-loss curve
    binding: np.ndarray  # shape (n_caps, ...): cap m binds at the optimum
    interval: tuple[np.ndarray, np.ndarray]  # feasible zeta range after all caps


def curve_point(zeta, a, p, b, q):
    """(log N, log D) of the point `zeta` on the iso-loss curve."""
    log_n = (np.log(a) + np.logaddexp(0.0, zeta)) / p
    log_d = (np.log(b) + np.logaddexp(0.0, -zeta)) / q
    return log_n, log_d


def bisect_increasing(f, lo, hi):
    """Root of f, increasing in its argument, on [lo, hi] (elementwise; f(lo) <= 0 <= f(hi) assumed)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


def cap_interval(n_exp, d_exp, limit, a, p, b, q):
    """The zeta interval where ``N^n_exp D^d_exp <= limit`` holds on the curve (lo > hi when empty).

    m(zeta) = n_exp log N + d_exp log D - log limit has derivative n_exp w/p - d_exp r/q, which changes sign
    once, at zeta* = log(d_exp p / (n_exp q)): m falls, then rises. The interval is {m <= 0} around zeta*.
    """
    with np.errstate(divide="ignore"):  # a limit of 0 (an empty regime, tco.model.regimes) is log 0 = -inf
        log_limit = np.log(limit)

    def m(zeta):
        log_n, log_d = curve_point(zeta, a, p, b, q)
        return _log_monomial(n_exp, d_exp, log_n, log_d) - log_limit

    if n_exp < 0 < d_exp or d_exp < 0 < n_exp or (n_exp < 0 and d_exp < 0):
        raise ValueError("caps are N^i D^j <= limit with i, j >= 0, or a lower bound on one of N, D alone")
    # N grows and D shrinks along the curve: a one-variable m is monotone, so its minimum is at an end
    if n_exp == 0:
        bottom = np.full(np.broadcast(log_limit, a, b).shape, ZETA_MAX if d_exp > 0 else ZETA_MIN)
    elif d_exp == 0:
        bottom = np.full(np.broadcast(log_limit, a, b).shape, ZETA_MIN if n_exp > 0 else ZETA_MAX)
    else:
        bottom = np.clip(np.log(d_exp * p / (n_exp * q)) + np.zeros(np.broadcast(log_limit, a, b).shape),
                         ZETA_MIN, ZETA_MAX)
    empty = m(bottom) > 0
    lo = np.where(m(ZETA_MIN) <= 0, ZETA_MIN, bisect_increasing(lambda z: -m(z), ZETA_MIN, bottom))
    hi = np.where(m(ZETA_MAX) <= 0, ZETA_MAX, bisect_increasing(m, bottom, ZETA_MAX))
    lo = np.where(empty, np.inf, lo)
    hi = np.where(empty, -np.inf, hi)
    return lo, hi


def _cost_slope_sign(zeta, a, p, b, q, terms):
    """Sign-preserving, overflow-free value of -d cost / d log D at `zeta` (increasing in zeta).

    d cost/d log D = sum_k c_k (j_k - i_k rho) N^i_k D^j_k with rho = -d log N/d log D = (q/p) e^zeta.
    """
    log_n, log_d = curve_point(zeta, a, p, b, q)
    rho = (q / p) * np.exp(np.minimum(zeta, 700.0))
    with np.errstate(divide="ignore"):  # a zero coefficient (zero demand in a sweep) is log 0 = -inf: no weight
        logs = [np.log(c) + i * log_n + j * log_d for i, j, c in terms]
    top = np.maximum.reduce([np.broadcast_to(v, np.broadcast(*logs).shape) for v in logs])
    slope = sum(np.exp(lk - top) * (j - i * rho) for lk, (i, j, _) in zip(logs, terms))
    return -slope


def _log_monomial(n_exp, d_exp, log_n, log_d):
    """n_exp log N + d_exp log D, with 0 * inf taken as 0 (an exponent of zero ignores an unbounded side)."""
    return (n_exp * log_n if n_exp else 0.0) + (d_exp * log_d if d_exp else 0.0)


def solve_exact(a, p, b, q, terms, caps=(), rel_tol: float = 1e-9) -> ExactSolution:
    """Minimize ``sum_k c_k N^i_k D^j_k`` subject to ``a N^-p + b D^-q <= 1`` and caps, elementwise.

    terms: sequence of (i_k, j_k, c_k) with i_k, j_k >= 0 and c_k > 0 (arrays broadcast);
    caps: sequence of (n_exp, d_exp, limit), limit may be np.inf for "absent" and 0 for "nothing allowed";
    n_exp, d_exp >= 0, or one of them negative and the other 0 (a lower bound, e.g. N >= N* as N^-1 <= 1/N*).
    """
    a, p, b, q = (np.asarray(v, dtype=float) for v in (a, p, b, q))
    terms = [(i, j, np.asarray(c, dtype=float)) for i, j, c in terms]
    zeta = bisect_increasing(lambda z: _cost_slope_sign(z, a, p, b, q, terms), ZETA_MIN, ZETA_MAX)
    shape = np.broadcast(zeta, a, b, *[c for *_, c in terms]).shape
    lo, hi = np.full(shape, ZETA_MIN), np.full(shape, ZETA_MAX)
    for n_exp, d_exp, limit in caps:
        cap_lo, cap_hi = cap_interval(n_exp, d_exp, np.asarray(limit, dtype=float), a, p, b, q)
        lo, hi = np.maximum(lo, cap_lo), np.minimum(hi, cap_hi)
    feasible = lo <= hi
    zeta = np.clip(zeta, lo, hi)
    log_n, log_d = curve_point(zeta, a, p, b, q)
    with np.errstate(invalid="ignore", divide="ignore"):  # infeasible elements: inf - inf is "not binding"
        binding = np.array([
            _log_monomial(n_exp, d_exp, log_n, log_d) - np.log(limit) >= -rel_tol for n_exp, d_exp, limit in caps
        ]).reshape((len(caps), *np.shape(zeta)))
    return ExactSolution(
        params=np.exp(log_n), tokens=np.exp(log_d), zeta=zeta, feasible=feasible & np.isfinite(zeta),
        binding=binding, interval=(lo, hi),
    )
