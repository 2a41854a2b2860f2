"""Approach 3 (Hoffmann et al. 2022, as corrected by Besiroglu et al. 2024): fit L = E + A/N^alpha + B/D^beta.

Minimize over theta = (a, b, e, alpha, beta), with A = exp(a), B = exp(b), E = exp(e), the SUM over runs of

    Huber_delta( LSE(a - alpha log N, b - beta log D, e) - log L ),   delta = 1e-3

with L-BFGS-B from a grid of starts. The sum, not the mean: averaging divides the gradient by the number of runs,
so L-BFGS-B's gradient and relative-decrease tolerances are met long before the optimum (Besiroglu et al.).

Speed: every start first gets `PASS1_ITERATIONS` steps of a batched L-BFGS (all starts in lockstep, one
vectorized objective call per step; tco.fit.lbfgs); only the best few percent are then polished by scipy's
L-BFGS-B to tight tolerances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "HUBER_DELTA", "COLUMNS", "BOUNDS", "ParametricFit", "huber_objective", "start_grid", "fit_parametric",
    "minimize_from", "to_constants", "polish", "batch_objective", "log_data", "phase",
]

HUBER_DELTA = 1e-3
COLUMNS = ("E", "A", "B", "alpha", "beta")
#: Bounds on (a, b, e, alpha, beta). Loose: only there to keep exponents positive and exp() finite.
BOUNDS = ((-20.0, 100.0), (-20.0, 100.0), (-20.0, 5.0), (1e-4, 5.0), (1e-4, 5.0))
PASS1_ITERATIONS = 25
SURVIVOR_FRACTION = 0.02
MIN_SURVIVORS = 24
POLISH = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 3000}
#: Two optima are "distinct" when E, alpha or beta differs by more than this (relative). A and B are left out:
#: along the fit's valleys they swing by tens of percent with tiny changes of alpha and beta. Near-best means
#: an objective within NEAR_BEST_RELATIVE of the best one.
DISTINCT_RELATIVE = 0.01
NEAR_BEST_RELATIVE = 0.01


def huber_objective(theta, x, y, logl, delta: float = HUBER_DELTA, reduction: str = "sum", weights=None):
    """Summed (or, to show the pitfall, averaged) Huber loss of the log-space residuals, and its gradient.

    `theta` is (a, b, e, alpha, beta), or a (K, 5) batch of them; `x`, `y`, `logl` are log N, log D, log L
    per run; `weights` are run multiplicities (a bootstrap resample; shape (n,) or (K, n)). Returns
    (value, gradient): shapes () and (5,), or (K,) and (K, 5) for a batch.
    """
    a, b, e, alpha, beta = np.asarray(theta, dtype=float).T[..., None]
    t1 = a - alpha * x
    t2 = b - beta * y
    top = np.maximum(np.maximum(t1, t2), e)
    w1, w2, w3 = np.exp(t1 - top), np.exp(t2 - top), np.exp(e - top)
    total = w1 + w2 + w3
    r = top + np.log(total) - logl
    abs_r = np.abs(r)
    huber = np.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))
    slope = np.clip(r, -delta, delta) / total  # dHuber/dr times the softmax denominator
    if weights is not None:
        huber, slope = huber * weights, slope * weights
    g1, g2 = slope * w1, slope * w2
    value = huber.sum(axis=-1)
    grad = np.stack([g1.sum(axis=-1), g2.sum(axis=-1), (slope * w3).sum(axis=-1),
                     -(g1 * x).sum(axis=-1), -(g2 * y).sum(axis=-1)], axis=-1)
    if reduction == "mean":
        scale = 1.0 / (np.sum(weights, axis=-1) if weights is not None else len(x))
        return value * scale, grad * np.asarray(scale)[..., None]
    if reduction != "sum":
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    return value, grad


def to_constants(theta) -> dict[str, float]:
    a, b, e, alpha, beta = (float(v) for v in theta)
    return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}


def start_grid(n_starts: int = 4500, seed: int = 0) -> np.ndarray:
    """Starting points (a, b, e, alpha, beta) on Hoffmann et al.'s grid.

    4,500 (the default) is their grid exactly: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
    a, b in {0, 5, ..., 25}. Other counts use the same ranges, finer or coarser, thinned to `n_starts`
    points by a seeded draw.
    """
    if n_starts < 1:
        raise ValueError("need at least one start")
    scale = (n_starts / 4500.0) ** 0.2
    m1, m2 = max(2, math.ceil(5 * scale - 1e-9)), max(2, math.ceil(6 * scale - 1e-9))
    axes = [np.linspace(0, 25, m2), np.linspace(0, 25, m2), np.linspace(-1, 1, m1),
            np.linspace(0, 2, m1), np.linspace(0, 2, m1)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 5)
    if len(grid) > n_starts:
        grid = grid[np.sort(np.random.default_rng(seed).choice(len(grid), n_starts, replace=False))]
    low, high = np.array(BOUNDS).T
    return np.clip(grid, low, high)


def minimize_from(theta0, data, options=None, reduction: str = "sum"):
    """One L-BFGS-B run from theta0; data = (x, y, logl, delta, weights). Returns (theta, value, iterations)."""
    from scipy.optimize import minimize

    x, y, logl, delta, weights = data
    result = minimize(huber_objective, np.asarray(theta0, float), args=(x, y, logl, delta, reduction, weights),
                      jac=True, method="L-BFGS-B", bounds=BOUNDS, options=options or {})
    return result.x, float(result.fun), int(result.nit)


def batch_objective(data, chunk: int = 256):
    """(theta (K, 5), rows) -> (values, grads) for the batched first pass, in cache-sized chunks of rows.

    Weights of shape (K, n) give each row its own resample; `rows` says which rows theta holds (None: all).
    """
    x, y, logl, delta, weights = data

    def func(theta, rows):
        w = weights if weights is None or np.ndim(weights) == 1 or rows is None else weights[rows]
        parts = [huber_objective(theta[i:i + chunk], x, y, logl, delta, "sum",
                                 w if w is None or np.ndim(w) == 1 else w[i:i + chunk])
                 for i in range(0, len(theta), chunk)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return func


def polish(starts: np.ndarray, data, weights: np.ndarray | None = None, progress=None):
    """scipy L-BFGS-B to tight tolerances from each start; returns (thetas, values).

    `weights` (K, n), if given, are per-start run multiplicities (one bootstrap resample per start). Serial on
    purpose: worker processes forked after OpenBLAS has started its threads ran several times slower here.
    `progress(done, total)`, if given, is called after each start.
    """
    x, y, logl, delta, _ = data
    out = []
    for i, s in enumerate(starts):
        out.append(minimize_from(s, data if weights is None else (x, y, logl, delta, weights[i]), POLISH))
        if progress is not None:
            progress(i + 1, len(starts))
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


@dataclass(frozen=True)
class ParametricFit:
    """The best Approach 3 fit and what the other starts found."""

    theta: np.ndarray  # (a, b, e, alpha, beta)
    objective: float  # summed Huber loss at theta
    n_runs: int
    n_starts: int
    n_polished: int
    delta: float
    optima: list[dict] = field(default_factory=list)  # distinct local optima, best first
    warnings: list[str] = field(default_factory=list)

    @property
    def constants(self) -> dict[str, float]:
        return to_constants(self.theta)

    @property
    def near_best(self) -> list[dict]:
        """Distinct optima whose objective is within NEAR_BEST_RELATIVE of the best one."""
        limit = self.objective * (1 + NEAR_BEST_RELATIVE) + 1e-15
        return [o for o in self.optima if o["objective"] <= limit]

    def law(self, name: str = "fitted", source: str = "tco fit"):
        from ..laws import ChinchillaLaw

        return ChinchillaLaw(name=name, source=source, **self.constants)

    def predict(self, params, tokens):
        c = self.constants
        params, tokens = np.asarray(params, float), np.asarray(tokens, float)
        return c["E"] + c["A"] / params ** c["alpha"] + c["B"] / tokens ** c["beta"]


def _same(c1: dict, c2: dict) -> bool:
    return all(abs(c1[k] - c2[k]) <= DISTINCT_RELATIVE * max(abs(c1[k]), abs(c2[k])) for k in ("E", "alpha", "beta"))


def distinct_optima(thetas: np.ndarray, values: np.ndarray) -> list[dict]:
    """Group polished solutions whose E, alpha, beta agree within 1%; best first, with how many starts reached each."""
    groups: list[dict] = []
    for i in np.argsort(values, kind="stable"):
        constants = to_constants(thetas[i])
        for group in groups:
            if _same(group["constants"], constants):
                group["starts"] += 1
                break
        else:
            groups.append({"objective": float(values[i]), "constants": constants, "starts": 1})
    return groups


def log_data(runs, weights=None, delta: float = HUBER_DELTA):
    return np.log(runs.params), np.log(runs.tokens), np.log(runs.loss), delta, weights


def _bound_warnings(theta) -> list[str]:
    names = ("log A", "log B", "log E", "alpha", "beta")
    out = []
    for name, value, (low, high) in zip(names, theta, BOUNDS):
        if abs(value - low) <= 1e-6 * max(1, abs(low)) or abs(value - high) <= 1e-6 * max(1, abs(high)):
            out.append(f"the best fit has {name} = {value:g} at the edge of its search range "
                       f"[{low:g}, {high:g}]: the runs do not constrain it; treat the law with suspicion")
    return out


def phase(progress, name: str):
    """`progress(name, done, total)` as the (done, total) callback of one phase; None stays None."""
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def fit_parametric(runs, *, starts: int = 4500, seed: int = 0, delta: float = HUBER_DELTA,
                   progress=None) -> ParametricFit:
    """Approach 3 on `runs` (a tco.fit.Runs): a batched L-BFGS pass from every grid start, then scipy's
    L-BFGS-B polishes the best few percent to tight tolerances. `progress(phase, done, total)`, if given, is
    told how far each phase ("multi-start pass", "polishing the best starts") has got."""
    data = log_data(runs, delta=delta)
    grid = start_grid(starts, seed)
    from .lbfgs import batched_lbfgs
    from .threads import single_threaded_blas

    with single_threaded_blas():
        thetas, values = batched_lbfgs(batch_objective(data), grid, BOUNDS, PASS1_ITERATIONS,
                                       progress=phase(progress, "multi-start pass"))
        keep = min(len(grid), max(MIN_SURVIVORS, math.ceil(SURVIVOR_FRACTION * len(grid))))
        survivors = thetas[np.argsort(values, kind="stable")[:keep]]
        thetas, values = polish(survivors, data, progress=phase(progress, "polishing the best starts"))
    best = int(np.argmin(values))
    optima = distinct_optima(thetas, values)
    fit = ParametricFit(theta=thetas[best], objective=float(values[best]), n_runs=len(runs), n_starts=len(grid),
                        n_polished=keep, delta=delta, optima=optima)
    fit.warnings.extend(_bound_warnings(fit.theta))
    near = fit.near_best
    if len(near) > 1:
        spread = "; ".join(", ".join(f"{k}={o['constants'][k]:.4g}" for k in COLUMNS) for o in near[:3])
        fit.warnings.append(
            f"{len(near)} distinct optima (E, alpha or beta differing by more than 1%) are within 1% of the best "
            f"objective, so the runs do not single out one law; e.g. {spread}. Check the bootstrap spread."
        )
    return fit
