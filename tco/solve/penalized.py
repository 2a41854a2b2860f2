"""The exact 1-D solve of a loss constraint with a third monomial: the quantization penalty.

    minimize  sum_k w_k N^i_k D^j_k    subject to    g = a N^-p + b D^-q + c D^gd N^-gn <= 1,  caps

(`tco.laws.LossConstraint` with c > 0; exponents i_k, j_k >= 0, weights >= 0; caps N^i D^j [+ ...] <= L with
exponents of D >= 0). The two-term curve of `tco.solve.curve` has no closed-form inverse with three terms, so this
solver follows the *lower boundary* of the feasible set instead. In x = log N, y = log D:

1. For fixed x, G(y) = log g is convex in y (a log-sum-exp of affine functions) with its minimum at the closed form
   y*(x) = (log(q b / (gd c)) + gn x) / (q + gd) (where the data term's slope meets the penalty's). So the feasible
   y form an interval [y_lo(x), y_hi(x)], non-empty iff G(x, y*(x)) <= 0. That minimum decreases in x (every
   term falls as N grows), so the feasible x are [x_min, inf) with x_min its root (bisection).
2. The cost and every cap increase in D (exponents of D >= 0), so the optimum lies on y = y_lo(x): a smaller
   feasible D is never worse. y_lo is found by Newton on the convex, decreasing G from a point left of the root
   (where b D^-q >= 1): from the left, Newton on a convex decreasing function never overshoots, so the iterates
   rise monotonically to the root, with no safeguard needed.
3. Along the boundary the problem is convex in x: the feasible set S = {G <= 0} is convex, so its lower boundary
   y_lo(x) = min{y: (x, y) in S} is a convex function; log cost f(x, y) is convex and non-decreasing in y, so
   F(x) = f(x, y_lo(x)) is convex (for a mix x_t of x1, x2: y_lo(x_t) <= the mix of y_lo's, and f non-decreasing
   in y then convex gives F(x_t) <= the mix of F's). The same argument makes each cap's log along the boundary
   convex, so each cap is an interval of x. A convex F on an interval is unimodal: its minimum is where the slope
   F'(x) = sum_k s_k (i_k + j_k y_lo'(x)) changes sign (s_k the terms' shares, y_lo' = -G_x / G_y from the
   implicit function), clipped to the caps' interval. F' -> -inf at x_min (the boundary turns vertical while
   training's N D grows) and -> sum_k s_k i_k > 0 for large N, so bisection on its sign always has a bracket.

Every step is numpy on arrays of scenarios (bisection with a fixed number of halvings, Newton to a tolerance).
The GP (`tco.solve.gp`, which takes the third monomial directly) and this solve are independent: they share only
the constraint's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .exact import ExactSolution

__all__ = ["PenalizedCurve", "solve_penalized"]

#: The largest log N any search looks at: 1e24 parameters, far beyond the 1e15 any result may have.
_X_TOP = float(np.log(1e24))
_HALVINGS = 100  # a bracket of ~60 in log N halved 100 times is below one ulp


@dataclass(frozen=True)
class PenalizedCurve:
    """The boundary g = 1 of the three-term loss constraint (arrays broadcast)."""

    a: Any
    p: Any
    b: Any
    q: Any
    c: Any
    gn: Any
    gd: Any

    @classmethod
    def of(cls, loss) -> "PenalizedCurve":
        return cls(*(np.asarray(v, dtype=float) for v in (loss.a, loss.p, loss.b, loss.q, loss.c, loss.gn,
                                                           loss.gd)))

    def take(self, idx, shape) -> "PenalizedCurve":
        """The same boundary at the flat indices `idx` of its numbers broadcast to `shape`."""
        return PenalizedCurve(*(np.broadcast_to(v, shape).ravel()[idx] for v in (
            self.a, self.p, self.b, self.q, self.c, self.gn, self.gd)))

    def terms(self, x, y):
        """The three terms of g at (x, y)."""
        return (self.a * np.exp(-self.p * x), self.b * np.exp(-self.q * y),
                self.c * np.exp(self.gd * y - self.gn * x))

    def y_star(self, x):
        """The y where g is smallest for this x (the data term's slope equals the penalty's)."""
        return (np.log(self.q * self.b / (self.gd * self.c)) + self.gn * x) / (self.q + self.gd)

    def log_g(self, x, y):
        return np.log(sum(self.terms(x, y)))

    def x_min(self):
        """The smallest log N with any feasible D: the root of log g(x, y*(x)) (decreasing in x)."""
        lo = np.log(self.a) / self.p + 0.0 * self.c  # a N^-p = 1 here: g > 1, infeasible
        step = np.ones_like(lo)
        hi = lo + step
        for _ in range(80):  # grow the bracket until g(x, y*) < 1 everywhere
            bad = self.log_g(hi, self.y_star(hi)) >= 0
            if not bad.any():
                break
            step = np.where(bad, 2 * step, step)
            hi = np.where(bad, lo + step, hi)
        for _ in range(_HALVINGS):
            mid = 0.5 * (lo + hi)
            feasible = self.log_g(mid, self.y_star(mid)) < 0
            lo, hi = np.where(feasible, lo, mid), np.where(feasible, mid, hi)
        return hi

    def y_lo(self, x):
        """The smallest feasible log D at log N = x (x >= x_min): Newton on the convex log g from the left."""
        ys = self.y_star(x)
        y = np.minimum(np.log(self.b) / self.q, ys - 1.0)  # b D^-q >= 1 or left of y*: below the root ...
        step = np.ones_like(y)
        for _ in range(80):  # ... once g > 1 there (left of y*, g grows as y falls)
            right = self.log_g(x, y) <= 0
            if not right.any():
                break
            step = np.where(right, 2 * step, step)
            y = np.where(right, y - step, y)
        for _ in range(200):
            t_n, t_d, t_c = self.terms(x, y)
            total = t_n + t_d + t_c
            slope = (-self.q * t_d + self.gd * t_c) / total  # d log g / dy < 0 left of y*
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(slope < 0, -np.log(total) / slope, 0.0)
            step = np.where(np.isfinite(step) & (step > 0), step, 0.0)
            y = np.minimum(y + step, ys)
            if np.all(step <= 1e-15 * np.maximum(1.0, np.abs(y))):
                break
        return y

    def slope_y_lo(self, x, y):
        """d y_lo / dx = -G_x / G_y on the boundary (negative: more parameters need less data)."""
        t_n, t_d, t_c = self.terms(x, y)
        g_x = -self.p * t_n - self.gn * t_c
        g_y = -self.q * t_d + self.gd * t_c
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g_y < 0, -g_x / g_y, -np.inf)


def _log_sum(monomials, x, y):
    """log sum_k w_k e^(i_k x + j_k y) and its x-slope along the boundary's direction pieces (shares)."""
    logs = [np.log(np.maximum(np.asarray(w, dtype=float), 1e-300)) + i * x + j * y for i, j, w in monomials]
    top = np.max(np.broadcast_arrays(*logs), axis=0)
    shares = [np.exp(v - top) * (np.asarray(w) > 0) for v, (_, _, w) in zip(logs, monomials)]
    total = sum(shares)
    return top + np.log(total), [s / total for s in shares]


def _boundary_slope(curve, monomials, x):
    """(value, d/dx) of log sum of monomials along y = y_lo(x)."""
    y = curve.y_lo(x)
    value, shares = _log_sum(monomials, x, y)
    dy = curve.slope_y_lo(x, y)
    slope = sum(s * (i + j * dy) for s, (i, j, _) in zip(shares, monomials))
    return value, slope


def _root_increasing(fun, lo, hi):
    """Bisection for the x where an increasing fun changes sign from < 0 to >= 0 within [lo, hi]."""
    for _ in range(_HALVINGS):
        mid = 0.5 * (lo + hi)
        up = fun(mid) >= 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return 0.5 * (lo + hi)


def _cap_interval(curve, monomials, x_lo, x_hi):
    """The x where log(cap) <= 0 along the boundary, within [x_lo, x_hi]: convex (module docstring), so around
    its minimum (bisection on its slope), the roots on either side. Empty gives lo > hi."""
    if all(np.all(np.asarray(j) == 0) for _, j, _ in monomials) and len(monomials) == 1:
        (i, _, w), = monomials  # a bound on N alone: closed form
        bound = -np.log(w) / i
        return (np.maximum(x_lo, bound), x_hi) if i < 0 else (x_lo, np.minimum(x_hi, bound))
    at_min = _root_increasing(lambda x: _boundary_slope(curve, monomials, x)[1], x_lo, x_hi)
    low_value = _boundary_slope(curve, monomials, at_min)[0]
    value = lambda x: _boundary_slope(curve, monomials, x)[0]  # noqa: E731
    left = np.where(value(x_lo) <= 0, x_lo, _root_increasing(lambda x: -value(x), x_lo, at_min))
    right = np.where(value(x_hi) <= 0, x_hi, _root_increasing(value, at_min, x_hi))
    return np.where(low_value <= 0, left, np.inf), np.where(low_value <= 0, right, -np.inf)


def solve_penalized(curve: PenalizedCurve, terms, caps=()) -> ExactSolution:
    """The optimum on the three-term constraint (module docstring); the `tco.solve.exact` result type, with
    zeta = log N and the interval the caps leave of log N."""
    x_min = curve.x_min()
    x_lo, x_hi = x_min, np.maximum(_X_TOP, x_min + 5.0)
    cost = [(i, j, w) for i, j, w in terms]
    cap_monomials = []
    for i, j, limit, *extra in caps:  # each cap as monomials over its limit: log(sum) <= 0
        limit = np.asarray(limit, dtype=float)
        monomials = [(i, j, 1.0 / limit)] + [(i_k, j_k, np.asarray(w, dtype=float) / limit)
                                              for i_k, j_k, w in (extra[0] if extra else ())]
        cap_monomials.append(monomials)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lo, hi = _cap_interval(curve, monomials, x_lo, x_hi)
        x_lo, x_hi = np.maximum(x_lo, lo), np.minimum(x_hi, hi)
    feasible = x_lo <= x_hi
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = np.where(feasible, x_lo, x_min)
        hi = np.where(feasible, x_hi, x_min + 1.0)
        # the cost's slope along the boundary rises through zero once (convexity): its root, clipped to the caps
        x = _root_increasing(lambda z: _boundary_slope(curve, cost, z)[1], lo, hi)
        y = curve.y_lo(x)
        objective = sum(np.asarray(w, dtype=float) * np.exp(i * x + j * y) for i, j, w in cost)
        binding = np.array([np.abs(_log_sum(m, x, y)[0]) < 1e-9 for m in cap_monomials], dtype=bool).reshape(
            (len(cap_monomials), *np.shape(x)))
    nan = np.where(feasible, 1.0, np.nan)
    return ExactSolution(params=np.exp(x) * nan, tokens=np.exp(y) * nan, zeta=x, feasible=np.asarray(feasible),
                         binding=binding & feasible, interval=(x_lo, x_hi),
                         objective=np.where(feasible, objective, np.inf))
