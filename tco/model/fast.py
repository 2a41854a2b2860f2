"""The fast exact kernel: the standard objective  k_t N D + k_i N + k_d D  with caps N <= n_max, D <= d_max,
N D <= nd_max, for arrays of scenarios (every input may vary per element).

Same curve parametrization as `exact.py` (zeta = log(w / r) on the iso-loss curve), but instead of ~60
bisection steps it takes a few safeguarded Newton steps on a function that is almost linear in zeta:

    H(zeta) = log(k_t + k_d / N) - log(rho (k_t + k_i / D)),   rho = (q/p) e^zeta

H is the log of the ratio of the two sides of the stationarity condition (d cost / d log D = 0 along the
curve); it decreases in zeta with slope <= -1 and is asymptotically linear in both tails, so Newton from the
Chinchilla point converges in a handful of steps. Caps have closed forms (N, D) or convex Newton roots (N D).
`exact.py` stays the general, independent reference; tests hold the two together to 1e-12.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_standard"]

_NEWTON_STEPS = 40  # upper bound; typically 4-6 (stops when every element has converged)
_TOL = 1e-13


def _softplus(z):
    return np.logaddexp(0.0, z)


def solve_standard(a, p, b, q, kt, ki, kd, n_max=np.inf, d_max=np.inf, nd_max=np.inf):
    """Vectorized exact optimum. Returns (params, tokens, zeta, feasible, binding) with binding a dict of masks.

    All inputs broadcast; kt > 0 is required (training is never free), ki, kd >= 0; caps may be np.inf.
    """
    a, p, b, q, kt, ki, kd, n_max, d_max, nd_max = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (a, p, b, q, kt, ki, kd, n_max, d_max, nd_max)))
    la, lb = np.log(a), np.log(b)
    log_qp = np.log(q / p)

    # --- unconstrained stationary point: Newton on H, bracketed by bisection ---------------------------
    zeta = np.log(p / q)  # the Chinchilla point (k_i = k_d = 0): rho = 1
    # dH/dzeta <= -1 everywhere, so one value brackets the root: H > 0 puts it in (zeta, zeta + H], H < 0 in
    # [zeta + H, zeta). Newton steps that leave the bracket fall back to bisection; the bracket only shrinks.
    lo = np.full(zeta.shape, -np.inf)
    hi = np.full(zeta.shape, np.inf)
    for _ in range(_NEWTON_STEPS):
        sp = _softplus(zeta)  # softplus(-zeta) = sp - zeta: one transcendental serves both sides
        w = np.exp(zeta - sp)  # share of the data term, e^zeta / (1 + e^zeta)
        r = np.exp(-sp)
        inv_n = np.exp(-(la + sp) / p)  # 1/N
        inv_d = np.exp(-(lb + sp - zeta) / q)  # 1/D
        left, right = kt + kd * inv_n, kt + ki * inv_d
        h = np.log(left) - np.log(right) - log_qp - zeta
        slope = -(kd * inv_n * w / p) / left - 1.0 - (ki * inv_d * r / q) / right
        lo = np.where(h > 0, zeta, np.maximum(lo, zeta + np.minimum(h, 0.0)))
        hi = np.where(h < 0, zeta, np.minimum(hi, zeta + np.maximum(h, 0.0)))
        new = zeta - h / slope
        new = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)
        done = np.abs(new - zeta) <= _TOL * np.maximum(1.0, np.abs(zeta))
        zeta = new
        if np.all(done):
            break

    # --- caps: the feasible zeta interval [z_lo, z_hi] ----------------------------------------------------
    with np.errstate(divide="ignore", invalid="ignore"):
        # N <= n_max  <=>  softplus(zeta) <= p log n_max - log a  <=>  zeta <= log(expm1(p log n_max - log a))
        room_n = p * np.log(n_max) - la
        z_hi = np.where(np.isinf(n_max), np.inf, np.where(room_n > 0, np.log(np.expm1(room_n)), -np.inf))
        room_d = q * np.log(d_max) - lb
        z_lo = np.where(np.isinf(d_max), -np.inf, np.where(room_d > 0, -np.log(np.expm1(room_d)), np.inf))
    nd_lo, nd_hi = _product_interval(la, p, lb, q, np.log(nd_max))
    z_lo, z_hi = np.maximum(z_lo, nd_lo), np.minimum(z_hi, nd_hi)
    feasible = (z_lo <= z_hi) & (z_hi > -np.inf) & (z_lo < np.inf)
    zeta = np.where(feasible, np.clip(zeta, z_lo, z_hi), np.nan)  # NaN marks "no feasible design"
    with np.errstate(invalid="ignore"):
        sp = _softplus(zeta)
        log_n = (la + sp) / p
        log_d = (lb + sp - zeta) / q
    tol = 1e-9
    binding = {
        "max_params": np.isfinite(n_max) & (log_n >= np.log(n_max) - tol),
        "max_tokens": np.isfinite(d_max) & (log_d >= np.log(d_max) - tol),
        "training_deadline": np.isfinite(nd_max) & (log_n + log_d >= np.log(nd_max) - tol),
    }
    return np.exp(log_n), np.exp(log_d), zeta, feasible, binding


def _product_interval(la, p, lb, q, log_limit):
    """zeta interval where N D <= limit: m(zeta) = log N + log D - log limit is convex with minimum at
    zeta* = log(p/q); Newton from the outer side of each root converges monotonically (convexity)."""
    shape = la.shape
    finite = np.isfinite(log_limit)
    if not np.any(finite):
        return np.full(shape, -np.inf), np.full(shape, np.inf)
    limit = np.where(finite, log_limit, 0.0)

    def m_and_slope(z):
        sp = _softplus(z)
        return (la + sp) / p + (lb + sp - z) / q - limit, np.exp(z - sp) / p - np.exp(-sp) / q

    z_star = np.log(p / q)
    depth = -m_and_slope(z_star)[0]  # > 0 when the cap leaves room
    empty = depth < 0
    # Starts: the roots of the linear asymptotes lie outside the true roots (softplus >= its asymptote); near a
    # barely feasible cap the quadratic model around zeta* is closer, and Newton on a convex function
    # converges from either (it steps outside, then monotonically in).
    curvature = (p * q / (p + q) ** 2) * (1.0 / p + 1.0 / q)
    half_width = np.sqrt(2.0 * np.maximum(depth, 0.0) / curvature)
    near = depth < 1.0
    left = np.where(near, z_star - half_width, np.minimum(q * (la / p + lb / q - limit), z_star))
    right = np.where(near, z_star + half_width, np.maximum(p * (limit - lb / q) - la, z_star))
    for _ in range(_NEWTON_STEPS):
        m_left, dm_left = m_and_slope(left)
        m_right, dm_right = m_and_slope(right)
        new_left = np.minimum(left - m_left / np.where(dm_left < 0, dm_left, -1.0), z_star)
        new_right = np.maximum(right - m_right / np.where(dm_right > 0, dm_right, 1.0), z_star)
        done = (np.abs(new_left - left) <= 1e-12 * np.maximum(1, np.abs(left))) & (
            np.abs(new_right - right) <= 1e-12 * np.maximum(1, np.abs(right)))
        left, right = new_left, new_right
        if np.all(done | empty | ~finite):
            break
    lo = np.where(~finite, -np.inf, np.where(empty, np.inf, left))
    hi = np.where(~finite, np.inf, np.where(empty, -np.inf, right))
    return lo, hi
