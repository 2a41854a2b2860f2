"""A cheap first pass for many starts at once: limited-memory BFGS run in lockstep on a (K, 5) batch.

scipy's L-BFGS-B pays ~100 us of Python overhead per function evaluation, one start at a time; for thousands of
starts that overhead dominates. Here every iteration evaluates the objective for all K starts in one vectorized
call, with the two-loop recursion, a backtracking (Armijo) line search and bounds (by projection) done per row.
It only has to rank the starts: the best few are then polished by scipy's L-BFGS-B to tight tolerances.
"""

from __future__ import annotations

import numpy as np

__all__ = ["batched_lbfgs"]

_ARMIJO = 1e-4
_BACKTRACKS = 12
_CURVATURE_EPS = 1e-12


def _direction(g, S, Y, rho, gamma):
    """Two-loop recursion per row: -H g from the stored pairs (oldest first along axis 1); gamma scales H0."""
    q = g.copy()
    m = S.shape[1]
    coef = np.zeros((len(g), m))
    for j in range(m - 1, -1, -1):
        coef[:, j] = rho[:, j] * np.einsum("ki,ki->k", S[:, j], q)
        q -= coef[:, j, None] * Y[:, j]
    gamma = gamma.copy()
    first = gamma <= 0  # no curvature yet: a short steepest-descent step
    gamma[first] = 0.5 / np.maximum(np.abs(g[first]).max(axis=1), 1e-12)
    r = gamma[:, None] * q
    for j in range(m):
        beta = rho[:, j] * np.einsum("ki,ki->k", Y[:, j], r)
        r += S[:, j] * (coef[:, j] - beta)[:, None]
    return -r


def batched_lbfgs(func, theta, bounds, iterations: int = 25, memory: int = 6, progress=None):
    """Run `iterations` L-BFGS steps on every row of `theta` (K, p).

    `func(batch, rows) -> (values, grads)` evaluates the rows `rows` (indices into theta; None for all) at the
    points `batch`, so that a row may carry its own data (a bootstrap resample).

    A row whose line search fails stays put and restarts from steepest descent. Returns (theta, values).
    `progress(done, total)`, if given, is called after each iteration.
    """
    low, high = np.asarray(bounds, dtype=float).T
    x = np.clip(np.array(theta, dtype=float), low, high)
    k, p = x.shape
    f, g = func(x, None)
    S, Y = np.zeros((k, memory, p)), np.zeros((k, memory, p))
    rho, gamma = np.zeros((k, memory)), np.zeros(k)
    for iteration in range(iterations):
        if progress is not None:
            progress(iteration, iterations)
        d = _direction(g, S, Y, rho, gamma)
        uphill = np.einsum("ki,ki->k", d, g) >= 0
        d[uphill] = -g[uphill] * (0.5 / np.maximum(np.abs(g[uphill]).max(axis=1, initial=0), 1e-12))[:, None]
        step = np.ones(k)
        x_new, f_new, g_new = x.copy(), f.copy(), g.copy()
        todo = np.arange(k)
        for _ in range(_BACKTRACKS):
            trial = np.clip(x[todo] + step[todo, None] * d[todo], low, high)
            ft, gt = func(trial, todo)
            ok = np.isfinite(ft) & (ft <= f[todo] + _ARMIJO * np.einsum("ki,ki->k", g[todo], trial - x[todo]))
            rows = todo[ok]
            x_new[rows], f_new[rows], g_new[rows] = trial[ok], ft[ok], gt[ok]
            todo = todo[~ok]
            if not len(todo):
                break
            step[todo] *= 0.25
        s, yv = x_new - x, g_new - g
        sy = np.einsum("ki,ki->k", s, yv)
        yy = np.einsum("ki,ki->k", yv, yv)
        good = (sy > _CURVATURE_EPS * np.sqrt(yy)) & (yy > 0)
        S, Y, rho = np.roll(S, -1, axis=1), np.roll(Y, -1, axis=1), np.roll(rho, -1, axis=1)
        S[:, -1], Y[:, -1] = np.where(good[:, None], s, 0.0), np.where(good[:, None], yv, 0.0)
        rho[:, -1] = np.where(good, 1.0 / np.where(good, sy, 1.0), 0.0)
        gamma = np.where(good, sy / np.where(good, yy, 1.0), gamma)
        if len(todo):  # line search failed: forget the curvature pairs, restart from steepest descent
            S[todo], Y[todo], rho[todo], gamma[todo] = 0.0, 0.0, 0.0, 0.0
        x, f, g = x_new, f_new, g_new
    if progress is not None:
        progress(iterations, iterations)
    return x, f
