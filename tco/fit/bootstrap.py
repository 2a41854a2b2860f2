"""Bootstrap uncertainty of an Approach 3 fit: refit on runs resampled with replacement.

A resample is a vector of run multiplicities (how often each run was drawn), so the summed Huber objective of a
resample is the weighted sum over the original runs. Each resample starts from the full-data best fit plus a few
points of the start grid; all of them take a batched L-BFGS pass together (tco.fit.lbfgs), and scipy's L-BFGS-B
polishes the best start of each resample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .parametric import BOUNDS, COLUMNS, batch_objective, log_data, phase, polish, start_grid, to_constants

__all__ = ["BootstrapResult", "bootstrap_fit", "DEFAULT_BUDGETS", "budget_key"]

DEFAULT_BUDGETS = (1e21, 1e23, 1e25)
GRID_STARTS = 3  # grid points per resample, besides the best full-data fit
PASS1_ITERATIONS = 20
PERCENTILES = (10, 50, 90)


def budget_key(flops: float) -> str:
    """'tokens_per_param_1e+21': the name of a derived quantity at a FLOP budget."""
    return f"tokens_per_param_{flops:.3g}"


def derived(constants: dict[str, float], budgets) -> dict[str, float]:
    """Compute-optimal exponent a = beta / (alpha + beta) and tokens per parameter at each budget."""
    from ..laws import ChinchillaLaw

    law = ChinchillaLaw(name="sample", source="bootstrap", **constants)
    out = {"a": constants["beta"] / (constants["alpha"] + constants["beta"])}
    for flops in budgets:
        params, tokens = law.allocate(flops)
        out[budget_key(flops)] = tokens / params
    return out


@dataclass(frozen=True)
class BootstrapResult:
    """Refitted constants per resample (`samples`, columns E, A, B, alpha, beta) and derived quantities."""

    samples: np.ndarray  # (n_resamples, 5)
    derived: dict[str, np.ndarray]  # "a", "tokens_per_param_<budget>" -> (n_resamples,)
    seed: int
    budgets: tuple[float, ...]
    columns: tuple[str, ...] = COLUMNS
    objectives: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.samples)

    def quantities(self) -> dict[str, np.ndarray]:
        return {**{c: self.samples[:, i] for i, c in enumerate(self.columns)}, **self.derived}

    def stderr(self) -> dict[str, float | None]:
        """Standard deviation over resamples (None with fewer than two)."""
        return {k: (float(np.std(v, ddof=1)) if len(v) > 1 else None) for k, v in self.quantities().items()}

    def percentiles(self) -> dict[str, dict[str, float]]:
        return {k: {f"p{q}": float(np.percentile(v, q)) for q in PERCENTILES}
                for k, v in self.quantities().items()}

    def to_dict(self, samples: bool = True) -> dict:
        out = {"n_resamples": len(self), "seed": self.seed, "columns": list(self.columns)}
        if samples:
            out["samples"] = [[float(v) for v in row] for row in self.samples]
        out["stderr"] = self.stderr()
        out["percentiles"] = self.percentiles()
        return out


def bootstrap_fit(runs, best_theta, *, resamples: int = 1000, seed: int = 0, budgets=DEFAULT_BUDGETS,
              grid_starts: int = GRID_STARTS, delta: float | None = None, progress=None) -> BootstrapResult:
    """Refit `runs` on `resamples` resamples (with replacement); deterministic for a given seed.
    `progress(phase, done, total)`, if given, is told how far "bootstrap pass" and "bootstrap refits" are."""
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    data = log_data(runs) if delta is None else log_data(runs, delta=delta)
    n = len(runs)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB007]))
    draws = rng.integers(0, n, size=(resamples, n))
    weights = np.stack([np.bincount(row, minlength=n) for row in draws]).astype(float)
    grid = start_grid(4500, seed)
    picks = rng.integers(0, len(grid), size=(resamples, grid_starts))
    per = 1 + grid_starts
    starts: np.ndarray = np.empty((resamples, per, 5))  # reshaped to (resamples * per, 5) below
    starts[:, 0] = best_theta
    starts[:, 1:] = grid[picks]
    starts = starts.reshape(-1, 5)
    row_weights = np.repeat(weights, per, axis=0)

    from .lbfgs import batched_lbfgs
    from .threads import single_threaded_blas

    x, y, logl, dlt, _ = data
    with single_threaded_blas():
        thetas, values = batched_lbfgs(batch_objective((x, y, logl, dlt, row_weights)), starts, BOUNDS,
                                       PASS1_ITERATIONS, progress=phase(progress, "bootstrap pass"))
        best_rows = np.arange(resamples) * per + values.reshape(resamples, per).argmin(axis=1)
        thetas, values = polish(thetas[best_rows], data, weights=weights,
                                progress=phase(progress, "bootstrap refits"))
    constants = [to_constants(t) for t in thetas]
    samples = np.array([[c[k] for k in COLUMNS] for c in constants])
    budgets = tuple(float(b) for b in budgets)
    rows = [derived(c, budgets) for c in constants]
    extra = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return BootstrapResult(samples=samples, derived=extra, seed=seed, budgets=budgets, objectives=values)
