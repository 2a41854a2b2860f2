"""One call from validated runs to everything `tco fit` reports: `fit_runs(runs, ...) -> FitResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bootstrap import DEFAULT_BUDGETS, BootstrapResult, bootstrap_fit, derived
from .data import Runs
from .isoflop import IsoflopFit
from .parametric import HUBER_DELTA, ParametricFit, fit_parametric

__all__ = ["FitResult", "fit_runs", "METHODS"]

METHODS = ("parametric", "isoflop")


@dataclass(frozen=True)
class FitResult:
    """Everything `tco fit` reports for one set of runs: the parametric fit, optional bootstrap and IsoFLOP."""

    runs: Runs
    method: str
    parametric: ParametricFit
    name: str
    seed: int
    budgets: tuple[float, ...]
    bootstrap: BootstrapResult | None = None
    isoflop: IsoflopFit | None = None
    columns: dict = field(default_factory=dict)  # which CSV columns held params, tokens, loss

    @property
    def constants(self) -> dict[str, float]:
        return self.parametric.constants

    @property
    def source(self) -> str:
        data = f"sha256 {self.runs.sha256[:12]}" if self.runs.sha256 else "in memory"
        return f"tco fit {self.runs.name} ({data}), Approach 3, {len(self.runs)} runs"

    @property
    def law(self):
        """The fitted law (tco.laws.ChinchillaLaw), as a scenario would load it from the law file."""
        return self.parametric.law(self.name, self.source)

    @property
    def warnings(self) -> list[str]:
        return list(self.parametric.warnings) + (list(self.isoflop.warnings) if self.isoflop else [])

    def compute_optimal(self) -> dict:
        """Compute-optimal exponent a = beta/(alpha+beta) and the allocation at each budget, under the fit."""
        law = self.law
        rows = []
        for flops in self.budgets:
            params, tokens = law.allocate(flops)
            rows.append({"flops": flops, "params": params, "tokens": tokens, "tokens_per_param": tokens / params,
                         "loss": law.loss(params, tokens)})
        c = self.constants
        return {"a": c["beta"] / (c["alpha"] + c["beta"]), "b": c["alpha"] / (c["alpha"] + c["beta"]),
                "budgets": rows}

    def summary(self) -> dict[str, dict]:
        """Per quantity (E, A, B, alpha, beta, a, tokens per param at each budget): the fitted value, and
        the bootstrap standard error and P10/P50/P90 when there is a bootstrap."""
        values = {**self.constants, **derived(self.constants, self.budgets)}
        stderr = self.bootstrap.stderr() if self.bootstrap else {}
        pct = self.bootstrap.percentiles() if self.bootstrap else {}
        return {k: {"value": v, "stderr": stderr.get(k), **pct.get(k, {})} for k, v in values.items()}

    def residuals(self) -> dict[str, np.ndarray]:
        """Per run: fitted loss and the log-space residual log(fitted) - log(observed) that the fit minimized."""
        fitted = self.parametric.predict(self.runs.params, self.runs.tokens)
        return {"row": self.runs.row_numbers(), "fitted": fitted,
                "residual": np.log(fitted) - np.log(self.runs.loss)}


def fit_runs(runs, *, method: str = "parametric", name: str = "fitted", starts: int = 4500, resamples: int = 1000,
             seed: int = 0, budgets=DEFAULT_BUDGETS, budget_tolerance: float = 0.10,
             delta: float = HUBER_DELTA, columns: dict | None = None, progress=None) -> FitResult:
    """Fit `runs`: Approach 3 (always: it is the law a scenario loads), Approach 2 with method="isoflop",
    and the bootstrap of the Approach 3 constants (resamples=0 skips it). `progress(phase, done, total)`, if
    given, follows the multi-start fit and the bootstrap (`tco fit` draws it as a bar on stderr)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    iso = None
    if method == "isoflop":  # first: its data errors are cheaper to find than a full parametric fit
        from .isoflop import fit_isoflop

        iso = fit_isoflop(runs, budget_tolerance)
    parametric = fit_parametric(runs, starts=starts, seed=seed, delta=delta, progress=progress)
    boot = None
    if resamples > 0:
        boot = bootstrap_fit(runs, parametric.theta, resamples=resamples, seed=seed, budgets=budgets, delta=delta,
                             progress=progress)
    return FitResult(runs=runs, method=method, parametric=parametric, name=name, seed=seed,
                     budgets=tuple(float(b) for b in budgets), bootstrap=boot, isoflop=iso,
                     columns=dict(columns or {}))
