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
    # an element whose bracket is down to a few ulps is frozen: its root then does not depend on which other
    # elements share the call (the kernel's chunks, tco.solve.exact.KERNEL_CHUNK)
    open_ = np.ones(lo.shape, dtype=bool)  # broadcast with f's shape on the first step
    for _ in range(_BISECT_ITERATIONS):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi = np.where(up & open_, mid, hi)
        lo = np.where(~up & open_, mid, lo)
        open_ = open_ & ~(hi - lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(mid)))
        if not open_.any():
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
        z = np.asarray(np.clip(z, lo, hi))  # an array even of one element: it is updated in place
        active = lo <= hi  # converged elements are frozen (later bisections must not move them); empty ones too
    last = older = np.full(z.shape, np.inf)  # the last two step lengths
    for _ in range(_MAX_STEPS):
        with np.errstate(all="ignore"):
            value, slope = f(z)
            above = value > 0
            np.copyto(lo, z, where=value < 0)  # in place: the kernel's passes over memory are its cost
            np.copyto(hi, z, where=above)
            # Newton is kept while it stays in the bracket and its steps at least halve every two steps (as
            # in Numerical Recipes' rtsafe): that rules out the 2-cycles Newton falls into on sigmoid-like H.
            # Else, for a log-like f, Newton on e^f - 1 (from the right its step (1 - e^-f)/f' is the shorter
            # one: it does not overshoot a log); else bisection. A step of 0 (f = 0) is kept.
            new = z - value / slope
            step = np.abs(new - z)
            ok = (new >= lo) & (new <= hi) & (step <= 0.5 * older)
            if log_like and not ok.all():
                new = np.where(~ok & above, z + np.expm1(-value) / slope, new)
                step = np.abs(new - z)
                ok = (new >= lo) & (new <= hi) & (step <= 0.5 * older)
            if not ok.all():  # bisection where Newton is refused (rare once it converges)
                new = np.where(ok, new, 0.5 * (lo + hi))
                step = np.abs(new - z)
            done = step <= tol * np.maximum(1.0, np.abs(z))
            last, older = step, last
        np.copyto(z, new, where=active)
        active &= ~done
        if not active.any():
            break
    return z
