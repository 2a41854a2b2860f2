"""Small numeric helpers shared by the model (capacity limits) and the solvers: no physics, no solver state."""

from __future__ import annotations

import numpy as np

__all__ = ["bisect_increasing"]

#: Bisection halves the bracket each step: 200 steps reach double precision from any finite bracket.
_BISECT_ITERATIONS = 200


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
