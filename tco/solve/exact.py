"""THE exact 1-D kernel: minimize a sum of monomials on an iso-loss curve, for arrays of scenarios at once.

    minimize  sum_k w_k N^i_k D^j_k    subject to    the iso-loss curve (tco.solve.curve),  N^i_m D^j_m <= L_m

with real exponents i_k, j_k >= 0 and weights w_k >= 0 (arrays broadcast; a zero weight is a term absent from
that element). Along the curve the cost is log-convex in zeta (tco.solve.curve), so the optimum is where
``g = d log cost / d zeta`` changes sign, clipped to the caps' interval of zeta. We solve the equivalent

    H(zeta) = log(dn SI) - log(-dd SJ) = zeta + log(dn / -dd) - zeta + log(SI / SJ) = 0

(dn, dd: the zeta-slopes of log N, log D; SI = sum_k i_k t_k and SJ = sum_k j_k t_k with t_k the terms) by
safeguarded Newton. H has exactly the sign of g (it is the log of the ratio of g's positive and negative parts),
so the bracket, updated from the sign of H at every iterate, always holds the root whatever H's curvature;
Newton steps that leave it, or stop halving (rtsafe's rule), fall back to bisection. From the Chinchilla point
it converges in 4-8 steps on the plain curve (up to ~30 for designs at hundreds of epochs on the repeated one),
with K + 2 transcendental functions per step for K terms: one exp and one log1p for the curve point, the K - 1
ratios of the terms to the dominant (training) term, and one log.

Caps become intervals of zeta: a bound on N or D alone is a closed form (tco.solve.curve); a product cap's log
is convex along the curve, so it is the interval between the two roots around its minimum (safeguarded Newton).
A posynomial cap ``N^i D^j + sum_k w_k N^i_k D^j_k <= L`` (exponents >= 0; the training deadline with
attention FLOPs) is log-convex along the curve for the same reason the cost is (log-sum-exp of convex
functions), so it too is the interval between two roots around its minimum; all three are found by bisection
on the sign of its log and of its slope, which needs no curvature of the curve and holds at the repeated curve's
saturation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..numeric import bisect_increasing, safeguarded_root
from .curve import PlainCurve, part

__all__ = ["ExactSolution", "solve_curve", "cap_interval", "safeguarded_root", "bisect_increasing", "merge_terms",
           "KERNEL_CHUNK"]


@dataclass(frozen=True)
class ExactSolution:
    """The exact optimum of every element: N, D, the curve coordinate, feasibility and which caps bind."""

    params: np.ndarray  # NaN where infeasible
    tokens: np.ndarray  # the real D (NaN where infeasible)
    zeta: np.ndarray
    feasible: np.ndarray  # False where the caps (or the repetition's saturation) leave no point of the curve
    binding: np.ndarray  # shape (n_caps, ...): cap m binds at the optimum (relative slack ~ 0)
    interval: tuple[np.ndarray, np.ndarray]  # feasible zeta range after all caps
    objective: np.ndarray  # the minimized sum of monomials (inf where infeasible)


def merge_terms(terms: Sequence[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, np.ndarray]]:
    """(i, j, weight) triples with equal scalar exponents summed into one (fewer exponentials per step)."""
    merged: dict[tuple[float, float], int] = {}
    out: list[tuple[Any, Any, np.ndarray]] = []
    for i, j, w in terms:
        w = np.asarray(w, dtype=float)
        if np.ndim(i) == 0 and np.ndim(j) == 0:
            key = (float(i), float(j))
            if key in merged:
                k = merged[key]
                out[k] = (out[k][0], out[k][1], out[k][2] + w)
                continue
            merged[key] = len(out)
        out.append((i, j, w))
    for i, j, _ in out:
        if np.any(np.asarray(i) < 0) or np.any(np.asarray(j) < 0):
            raise ValueError("cost terms need exponents >= 0 (what makes the cost log-convex along the curve)")
    return out


def _stationarity(curve, terms):
    """H(zeta) and dH/dzeta for the merged terms [(i, j, log weight)].

    The terms enter through their ratios t_k to a reference: a term whose exponents are the largest of all in both
    N and D, when there is one with positive weights (the training term N D): the ratios then stay bounded on
    the whole curve (N, D are bounded below along it) and the reference costs no exponential. Otherwise the
    largest term of each element is the reference."""
    ref = _reference_term(terms)
    others = [term for k, term in enumerate(terms) if k != ref]
    if ref is not None:  # the weights' ratios to the reference, once (loop invariants of the Newton iteration)
        i0, j0, lw0 = terms[ref]
        relative = [(i, j, i - i0, j - j0, lw - lw0) for i, j, lw in others]

    def f(z):
        log_n, log_d, dn, dd, log_ratio, dlog_ratio = curve.slopes(z)
        if ref is None:
            ells = [lw + _log_monomial(i, j, log_n, log_d) for i, j, lw in terms]
            top = ells[0]
            for ell in ells[1:]:
                top = np.maximum(top, ell)
            top = np.where(np.isfinite(top), top, 0.0)
            pairs = [(i, j, np.exp(ell - top)) for (i, j, _), ell in zip(terms, ells)]
        else:
            pairs = [(i0, j0, 1.0)] + [(i, j, np.exp(dlw + _log_monomial(di, dj, log_n, log_d)))
                                       for i, j, di, dj, dlw in relative]
        # the sums skip exact no-ops (0.0 + x, 1 * x, x / 1.0): each would be a pass over the chunk's memory
        si = sj = dsi = dsj = None
        for i, j, t in pairs:
            a = _plus(_times(i, dn) if _nonzero(i) else None, _times(j, dd) if _nonzero(j) else None)
            if _nonzero(i):
                si = _plus(si, _times(i, t))
                dsi = _plus(dsi, _times(_times(i, t), a))
            if _nonzero(j):
                sj = _plus(sj, _times(j, t))
                dsj = _plus(dsj, _times(_times(j, t), a))
        si, sj, dsi, dsj = (0.0 if v is None else v for v in (si, sj, dsi, dsj))
        h = z + log_ratio + np.log(_over(si, sj))
        return h, 1.0 + dlog_ratio + _over(dsi, si) - _over(dsj, sj)

    return f


def _reference_term(terms):
    """Index of a term whose exponents are >= every other term's and whose weights are all positive, or None."""
    for k, (i, j, lw) in enumerate(terms):
        if np.ndim(i) or np.ndim(j) or not np.all(np.isfinite(lw)):
            continue
        if all(np.ndim(i2) == 0 and np.ndim(j2) == 0 and i2 <= i and j2 <= j for i2, j2, _ in terms):
            return k
    return None


def _nonzero(x) -> bool:
    return bool(np.ndim(x)) or x != 0


def _times(c, x):
    """c * x, without the pass over memory when c is the scalar 1 (exactly x)."""
    return x if np.ndim(c) == 0 and c == 1 else c * x


def _plus(acc, x):
    """acc + x, where None is nothing yet (so 0.0 + x is never computed)."""
    if acc is None:
        return 0.0 if x is None else x
    return acc if x is None else acc + x


def _over(x, y):
    """x / y, without the pass over memory when y is the scalar 1.0 (exactly x)."""
    return x if np.ndim(y) == 0 and y == 1 else x / y


def _log_monomial(n_exp, d_exp, log_n, log_d):
    """n_exp log N + d_exp log D, with 0 * inf taken as 0 (an exponent of zero ignores an unbounded side)."""
    return _plus(_times(n_exp, log_n) if _nonzero(n_exp) else None, _times(d_exp, log_d) if _nonzero(d_exp) else None)


def cap_interval(curve, n_exp, d_exp, limit, extra=()):
    """The zeta interval where ``N^n_exp D^d_exp <= limit`` holds on `curve` (lo > hi, as (inf, -inf), when empty).

    n_exp, d_exp >= 0, or one of them negative and the other 0 (a lower bound, e.g. N >= N* as N^-1 <= 1/N*);
    a limit of np.inf bounds nothing and 0 allows nothing. `extra` ((i_k, j_k, w_k), ...) makes the cap the
    posynomial ``N^n_exp D^d_exp + sum_k w_k N^i_k D^j_k <= limit`` (all exponents >= 0, weights >= 0).
    """
    if extra:
        return _posynomial_interval(curve, ((n_exp, d_exp, 1.0), *extra), limit)
    if n_exp < 0 < d_exp or d_exp < 0 < n_exp or (n_exp < 0 and d_exp < 0):
        raise ValueError("caps are N^i D^j <= limit with i, j >= 0, or a lower bound on one of N, D alone")
    with np.errstate(divide="ignore"):
        log_limit = np.log(np.asarray(limit, dtype=float))
    lo, hi = curve.lo, curve.hi
    if n_exp == 0 and d_exp == 0:
        empty = log_limit < 0
    elif d_exp == 0:  # log N increases along the curve
        with np.errstate(invalid="ignore"):
            at = curve.zeta_of_log_params(log_limit / n_exp)
        at = np.where(np.isposinf(log_limit / n_exp), np.inf, np.where(np.isneginf(log_limit / n_exp), -np.inf, at))
        lo, hi = (lo, np.minimum(hi, at)) if n_exp > 0 else (np.maximum(lo, at), hi)
        empty = lo > hi
    elif n_exp == 0:  # log D decreases along the curve
        with np.errstate(invalid="ignore"):
            at = curve.zeta_of_log_tokens(log_limit / d_exp)
        at = np.where(np.isposinf(log_limit / d_exp), -np.inf, np.where(np.isneginf(log_limit / d_exp), np.inf, at))
        lo, hi = (np.maximum(lo, at), hi) if d_exp > 0 else (lo, np.minimum(hi, at))
        empty = lo > hi
    elif not np.any(np.isfinite(log_limit)):
        empty = np.isneginf(log_limit)  # no element is bounded (or all allow nothing)
    else:  # a product cap: m = n log N + d log D - log L is convex, with its minimum at the balance point
        bottom = np.clip(curve.balance(n_exp, d_exp), lo, hi)
        finite = np.isfinite(log_limit)
        ref = np.where(finite, log_limit, 0.0)

        def m(z):
            log_n, log_d, dn, dd = curve.slopes(z)[:4]
            return _log_monomial(n_exp, d_exp, log_n, log_d) - ref, n_exp * dn + d_exp * dd

        with np.errstate(all="ignore"):
            empty = (finite & (m(bottom)[0] > 0)) | (log_limit == -np.inf)
            left_ok, right_ok = m(lo)[0] <= 0, m(hi)[0] <= 0

        def descending(z):
            value, slope = m(z)
            return -value, -slope

        if curve.product_roots is not None:
            left, right = curve.product_roots(n_exp, d_exp, ref, lo, bottom, hi)
        else:  # the repeated curve: the left root is near the saturation, where m is log-like
            left = safeguarded_root(descending, lo, bottom, 0.5 * (lo + bottom), log_like=True)
            right = safeguarded_root(m, bottom, hi, hi)
        lo = np.where(left_ok | ~finite, lo, left)
        hi = np.where(right_ok | ~finite, hi, right)
    empty = np.broadcast_to(empty | ~curve.reachable, np.broadcast(lo, hi, empty).shape)
    return np.where(empty, np.inf, lo), np.where(empty, -np.inf, hi)


def _log_posynomial(monomials, log_n, log_d, dn=None, dd=None):
    """log(sum_k w_k N^i_k D^j_k) and, with the curve's slopes dn, dd, its zeta-derivative."""
    with np.errstate(divide="ignore"):  # a zero weight (an element without that monomial) is log 0 = -inf
        logs = [np.log(np.asarray(w, dtype=float)) + _log_monomial(i, j, log_n, log_d) for i, j, w in monomials]
    top = np.maximum.reduce(np.broadcast_arrays(*logs))
    top = np.where(np.isfinite(top), top, 0.0)
    shares = [np.exp(ell - top) for ell in logs]
    total = sum(shares)
    value = top + np.log(total)
    if dn is None:
        return value, None
    slope = sum(t * ((i * dn if _nonzero(i) else 0.0) + (j * dd if _nonzero(j) else 0.0))
                for (i, j, _), t in zip(monomials, shares)) / total
    return value, slope


def _posynomial_interval(curve, monomials, limit):
    """`cap_interval` of a posynomial cap: m = log(left side) - log limit is convex along the curve, so the
    feasible zeta lie between the roots of m on either side of its minimum (the root of m's slope)."""
    if any(np.any(np.asarray(i) < 0) or np.any(np.asarray(j) < 0) for i, j, _ in monomials):
        raise ValueError("a posynomial cap needs exponents >= 0")
    with np.errstate(divide="ignore"):
        log_limit = np.log(np.asarray(limit, dtype=float))
    finite = np.isfinite(log_limit)
    ref = np.where(finite, log_limit, 0.0)
    lo, hi = curve.lo, curve.hi

    def m(z):
        log_n, log_d, dn, dd = curve.slopes(z)[:4]
        value, slope = _log_posynomial(monomials, log_n, log_d, dn, dd)
        return value - ref, slope

    with np.errstate(all="ignore"):
        bottom = bisect_increasing(lambda z: m(z)[1], lo, hi)  # the slope increases (convexity)
        low, bottom_value, high = m(lo)[0], m(bottom)[0], m(hi)[0]
        left = bisect_increasing(lambda z: -m(z)[0], lo, bottom)
        right = bisect_increasing(lambda z: m(z)[0], bottom, hi)
        empty = (finite & (bottom_value > 0)) | (log_limit == -np.inf)
        lo = np.where((low <= 0) | ~finite, lo, left)
        hi = np.where((high <= 0) | ~finite, hi, right)
    empty = np.broadcast_to(empty | ~curve.reachable, np.broadcast(lo, hi, empty).shape)
    return np.where(empty, np.inf, lo), np.where(empty, -np.inf, hi)


def _cap_log_value(cap, log_n, log_d):
    """log of a kernel cap's left side at (log N, log D): its monomial, or its posynomial with `extra`."""
    n_exp, d_exp = cap[0], cap[1]
    extra = cap[3] if len(cap) > 3 else ()
    if not extra:
        return _log_monomial(n_exp, d_exp, log_n, log_d)
    return _log_posynomial(((n_exp, d_exp, 1.0), *extra), log_n, log_d)[0]


#: Elements solved at a time: each Newton step makes a few dozen passes over its arrays, which then stay in the
#: CPU caches (65,536 doubles are 512 kB), so the cost per element is flat from 1e5 to 1e7 elements and the
#: working memory bounded; the Python overhead per chunk (~100 numpy calls a step) is ~1% at this size.
KERNEL_CHUNK = 65_536


def solve_curve(curve, terms, caps=(), *, rel_tol: float = 1e-9) -> ExactSolution:
    """Minimize ``sum_k w_k N^i_k D^j_k`` on `curve` subject to caps, elementwise.

    terms: (i_k, j_k, w_k) with i_k, j_k >= 0 and w_k >= 0 (arrays broadcast); caps: (n_exp, d_exp, limit) or
    (n_exp, d_exp, limit, extra) as in `cap_interval`. A cap binds where its relative slack is ~0 (within
    `rel_tol` in log), so of two caps
    of one shape only the tighter binds unless they coincide.
    """
    merged = merge_terms(terms)
    # a term whose weight is zero everywhere (a demand-free sweep's inference, a zero data price) adds exact
    # zeros to every sum: dropped, it costs no exponential per Newton step (one term is kept)
    kept = [term for term in merged if np.any(term[2] != 0)] or merged[:1]
    shape = np.broadcast(curve.lo, *[w for *_, w in merged],
                         *[np.asarray(cap[2], dtype=float) for cap in caps],
                         *[np.asarray(w, dtype=float) for cap in caps for *_, w in (cap[3] if len(cap) > 3 else ())]
                         ).shape
    size = int(np.prod(shape, dtype=np.int64))
    if size <= KERNEL_CHUNK or not hasattr(curve, "part"):
        return _solve_block(curve, kept, caps, rel_tol, shape)
    blocks = [_solve_block(curve.part(shape, start, min(start + KERNEL_CHUNK, size)),
                           _part_terms(kept, shape, start, min(start + KERNEL_CHUNK, size)),
                           _part_caps(caps, shape, start, min(start + KERNEL_CHUNK, size)), rel_tol,
                           (min(start + KERNEL_CHUNK, size) - start,))
              for start in range(0, size, KERNEL_CHUNK)]

    def joined(values):
        return np.concatenate(values).reshape(shape)

    return ExactSolution(params=joined([b.params for b in blocks]), tokens=joined([b.tokens for b in blocks]),
                         zeta=joined([b.zeta for b in blocks]), feasible=joined([b.feasible for b in blocks]),
                         binding=np.concatenate([b.binding for b in blocks], axis=1).reshape((len(caps), *shape)),
                         interval=(joined([b.interval[0] for b in blocks]), joined([b.interval[1] for b in blocks])),
                         objective=joined([b.objective for b in blocks]))


def _part_terms(terms, shape, start, stop):
    return [(part(i, shape, start, stop), part(j, shape, start, stop), part(w, shape, start, stop))
            for i, j, w in terms]


def _part_caps(caps, shape, start, stop):
    out = []
    for cap in caps:
        limit = part(np.asarray(cap[2], dtype=float), shape, start, stop)
        if len(cap) > 3:
            out.append((cap[0], cap[1], limit, tuple((i, j, part(np.asarray(w, dtype=float), shape, start, stop))
                                                     for i, j, w in cap[3])))
        else:
            out.append((cap[0], cap[1], limit))
    return out


def _solve_block(curve, merged, caps, rel_tol, shape) -> ExactSolution:
    """`solve_curve` on elements of one shape (at most a chunk of them)."""
    with np.errstate(divide="ignore"):  # a zero weight (no demand in a sweep) is log 0 = -inf: no weight
        log_terms = [(i, j, np.log(w)) for i, j, w in merged]
    zeta = safeguarded_root(_stationarity(curve, log_terms), curve.lo, curve.hi, np.broadcast_to(curve.start(), shape),
                            log_like=curve.repeated)
    lo, hi = np.broadcast_to(curve.lo, shape), np.broadcast_to(curve.hi, shape)
    # a cap that bounds no element (limit +inf everywhere, no posynomial part) leaves the interval as it is and
    # never binds: no arithmetic on infinities for it
    active = [m for m, cap in enumerate(caps) if len(cap) > 3 and cap[3] or not np.all(np.isposinf(cap[2]))]
    for m in active:
        n_exp, d_exp, limit, *extra = caps[m]
        cap_lo, cap_hi = cap_interval(curve, n_exp, d_exp, limit, *extra)
        lo, hi = np.maximum(lo, cap_lo), np.minimum(hi, cap_hi)
    if caps and len(active) < len(caps) and not np.all(curve.reachable):  # what any cap's interval says there
        lo, hi = np.where(curve.reachable, lo, np.inf), np.where(curve.reachable, hi, -np.inf)
    feasible = (lo <= hi) & np.broadcast_to(curve.reachable, shape)
    with np.errstate(invalid="ignore"):
        zeta = np.where(feasible, np.clip(zeta, lo, hi), np.nan)
        log_n, log_d = curve.logs(zeta)
        ells = [lw + _log_monomial(i, j, log_n, log_d) for i, j, lw in log_terms]
        top = np.maximum.reduce(np.broadcast_arrays(*ells)) if len(ells) > 1 else ells[0]
        objective = np.where(feasible, np.exp(top) * sum(np.exp(e - top) for e in ells), np.inf)
        binding = np.zeros((len(caps), *shape), dtype=bool)
        for m in active:
            cap = caps[m]
            binding[m] = feasible & (_cap_log_value(cap, log_n, log_d) - np.log(cap[2]) >= -rel_tol)
    return ExactSolution(params=np.exp(log_n), tokens=np.exp(log_d), zeta=zeta, feasible=feasible,
                         binding=binding, interval=(lo, hi), objective=objective)


def solve_exact(a, p, b, q, terms, caps=(), rel_tol: float = 1e-9) -> ExactSolution:
    """`solve_curve` on the plain curve ``a N^-p + b D^-q = 1``."""
    return solve_curve(PlainCurve(a, p, b, q), terms, caps, rel_tol=rel_tol)
