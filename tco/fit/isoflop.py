"""Approach 2 (IsoFLOP profiles, Hoffmann et al. 2022): the compute-optimal allocation straight from the runs.

Runs are grouped by compute budget C = 6 N D (within a relative tolerance); per budget, a parabola of the loss
against log N gives the loss-minimizing size N_opt (and D_opt = C / (6 N_opt)). Across budgets,
N_opt = k C^a and D_opt = k' C^b are fitted in log space. This gives the allocation only, not the five
constants of the law.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import FitDataError

__all__ = ["IsoflopFit", "fit_isoflop", "group_budgets", "MIN_RUNS_PER_BUDGET", "MIN_BUDGETS"]

MIN_RUNS_PER_BUDGET = 3  # a parabola has three coefficients
MIN_BUDGETS = 2  # a power law has two


@dataclass(frozen=True)
class IsoflopFit:
    """Approach 2's allocation: N_opt = k C^a and D_opt = k' C^b fitted across the used budgets."""

    a: float  # N_opt = k C^a
    k: float
    b: float  # D_opt = k' C^b
    k_prime: float
    tolerance: float
    budgets: list[dict]  # per used budget: flops, n_runs, params_opt, tokens_opt, tokens_per_param, loss_opt
    skipped: list[dict] = field(default_factory=list)  # budgets left out, with the reason
    warnings: list[str] = field(default_factory=list)

    def allocate(self, flops):
        flops = np.asarray(flops, dtype=float)
        return self.k * flops**self.a, self.k_prime * flops**self.b

    def to_dict(self) -> dict:
        return {"budget_tolerance": self.tolerance, "a": self.a, "k": self.k, "b": self.b, "k_prime": self.k_prime,
                "formula": "N_opt = k * C^a, D_opt = k_prime * C^b, C = 6 N D in FLOPs",
                "budgets": self.budgets, "skipped": self.skipped}


def group_budgets(flops: np.ndarray, tolerance: float) -> list[np.ndarray]:
    """Indices of runs per budget: sorted by C, a group takes runs up to (1 + tolerance) x its smallest C."""
    order = np.argsort(flops, kind="stable")
    groups: list[list[int]] = []
    for i in order:
        if groups and flops[i] <= flops[groups[-1][0]] * (1 + tolerance):
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return [np.array(g) for g in groups]


def _profile(runs, index: np.ndarray) -> tuple[dict | None, str]:
    """The parabola minimum of one budget's runs, or (None, why not)."""
    log_n = np.log(runs.params[index])
    if len(np.unique(log_n)) < MIN_RUNS_PER_BUDGET:
        return None, f"needs runs at >= {MIN_RUNS_PER_BUDGET} model sizes, has {len(np.unique(log_n))}"
    center = log_n.mean()  # centred for a well-conditioned fit
    c2, c1, c0 = np.polyfit(log_n - center, runs.loss[index], 2)
    if not c2 > 0:
        return None, "the loss does not curve upward in log N (no minimum)"
    u = -c1 / (2 * c2)
    flops = float(np.exp(np.log(runs.flops[index]).mean()))
    params = float(np.exp(center + u))
    tokens = flops / (6 * params)
    inside = log_n.min() <= center + u <= log_n.max()
    return {"flops": flops, "n_runs": int(len(index)), "params_opt": params, "tokens_opt": tokens,
            "tokens_per_param": tokens / params, "loss_opt": float(c0 - c1 * c1 / (4 * c2)),
            "extrapolated": not inside, "rows": [int(r) for r in runs.row_numbers()[index]]}, ""


def fit_isoflop(runs, tolerance: float = 0.10) -> IsoflopFit:
    """Approach 2 on `runs`; FitDataError (one line) when too few budgets have enough runs."""
    used, skipped = [], []
    for index in group_budgets(runs.flops, tolerance):
        flops = float(np.exp(np.log(runs.flops[index]).mean()))
        if len(index) < MIN_RUNS_PER_BUDGET:
            skipped.append({"flops": flops, "n_runs": int(len(index)),
                            "reason": f"fewer than {MIN_RUNS_PER_BUDGET} runs"})
            continue
        profile, why = _profile(runs, index)
        if profile is None:
            skipped.append({"flops": flops, "n_runs": int(len(index)), "reason": why})
        else:
            used.append(profile)
    if len(used) < MIN_BUDGETS:
        every = sorted(used + skipped, key=lambda s: s["flops"])
        found = ", ".join(f"{s['flops']:.3g} FLOPs ({s['n_runs']} run{'s' * (s['n_runs'] != 1)})" for s in every[:6])
        found += ", ..." if len(every) > 6 else ""
        raise FitDataError(
            f"{runs.name}: --method isoflop needs at least {MIN_BUDGETS} compute budgets (C = 6ND, grouped within "
            f"{tolerance:.0%}) with at least {MIN_RUNS_PER_BUDGET} runs at different sizes each; {len(used)} "
            f"usable of {len(used) + len(skipped)} budgets: {found}"
        )
    log_c = np.log([u["flops"] for u in used])
    a, log_k = np.polyfit(log_c, np.log([u["params_opt"] for u in used]), 1)
    b, log_kp = np.polyfit(log_c, np.log([u["tokens_opt"] for u in used]), 1)
    warnings = [f"budget {u['flops']:.3g} FLOPs: the loss minimum lies outside the sampled model sizes "
                "(extrapolated); add runs beyond it" for u in used if u["extrapolated"]]
    warnings += [f"budget {s['flops']:.3g} FLOPs ({s['n_runs']} runs) left out: {s['reason']}" for s in skipped]
    if len(used) == MIN_BUDGETS:
        warnings.append("only two budgets: the exponent is exact through two points, with no check on it")
    return IsoflopFit(a=float(a), k=float(np.exp(log_k)), b=float(b), k_prime=float(np.exp(log_kp)),
                      tolerance=tolerance, budgets=used, skipped=skipped, warnings=warnings)
