"""Small numeric root finders shared by the model (capacity limits) and the solvers (the kernel, the repeated
curve): no physics, no solver state."""

from __future__ import annotations

import numpy as np

__all__ = ["bisect_increasing", "safeguarded_root"]

#: Bisection halves the bracket each step: 200 steps reach double precision from any finite bracket.
_BISECT_ITERATIONS = 200
#: Safeguarded Newton: an upper bound on its steps (Newton takes 4-8, a bisection fallback at most ~55 on
#: [-300, 300]), and its tolerance on the step, relative to max(1, |z|).
_MAX_STEPS = 100
_TOL = 1e-13


def bisect_increasing(f, lo, hi):
    """Root of f, increasing in its argument, on [lo, hi] (elementwise; f(lo) <= 0 <= f(hi) assumed)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_BISECT_ITERATIONS):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


def safeguarded_root(f, lo, hi, start, tol: float = _TOL, *, log_like: bool = False):
    """Root of f (increasing; f(z) returns (value, slope)) in [lo, hi], elementwise: Newton from `start`, with
    the bracket updated from the sign of f at each iterate and bisection whenever Newton leaves it.
    `log_like`: f goes to -infinity like a log at `lo` (the repeated curve's saturation); Newton from the right
    then overshoots, and Newton on e^f - 1 is tried before bisection.

    Returns an end of [lo, hi] where f does not change sign there (the end it tends to)."""
    lo, hi, z = (np.array(np.broadcast_to(v, np.broadcast(lo, hi, start).shape), dtype=float)
                 for v in (lo, hi, start))
    with np.errstate(invalid="ignore"):
        z = np.clip(z, lo, hi)
        active = lo <= hi  # converged elements are frozen (later bisections must not move them); empty ones too
    last = older = np.full(z.shape, np.inf)  # the last two step lengths
    for _ in range(_MAX_STEPS):
        with np.errstate(all="ignore"):
            value, slope = f(z)
            below, above = value < 0, value > 0
            lo = np.where(below, z, lo)
            hi = np.where(above, z, hi)
            # Newton is kept while it stays in the bracket and its steps at least halve every two steps (as
            # in Numerical Recipes' rtsafe): that rules out the 2-cycles Newton falls into on sigmoid-like H.
            # Else, for a log-like f, Newton on e^f - 1 (from the right its step (1 - e^-f)/f' is the shorter
            # one: it does not overshoot a log); else bisection. A step of 0 (f = 0) is kept.
            new = z - value / slope
            bad = ~((new >= lo) & (new <= hi) & (np.abs(new - z) <= 0.5 * older))
            if log_like and bad.any():
                new = np.where(bad & above, z + np.expm1(-value) / slope, new)
                bad = ~((new >= lo) & (new <= hi) & (np.abs(new - z) <= 0.5 * older))
            new = np.where(bad, 0.5 * (lo + hi), new)
            step = np.abs(new - z)
            done = step <= tol * np.maximum(1.0, np.abs(z))
            last, older = step, last
        z = np.where(active, new, z)
        active &= ~done
        if not active.any():
            break
    return z
