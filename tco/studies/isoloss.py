"""Cost along the iso-loss curve: every design that reaches the loss target exactly, priced term by term.

What `tco optimize --plot` draws (`tco.report.plots`, which only reads these arrays): the optimum is the lowest
feasible point of this curve and the compute-optimal design at the same loss another point on it. The curve is
the solver's own (`tco.solve.regimes.model_curve`: plain, repeated data, or the quantization-penalized
boundary), walked by parameter count; each design is priced by the model's cost terms (`Model.figures`), so the
curve at the optimum's N is the optimum's cost.

    >>> import tco
    >>> from tco.studies import iso_loss_curve
    >>> scenario = tco.load_scenario("scenarios/sardana-cost-objective.yaml")
    >>> result = tco.optimize(scenario)
    >>> curve = iso_loss_curve(scenario, result, points=50)
    >>> bool(abs(curve.objective.min() / result.optimal.total_cost_usd - 1) < 1e-3)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..results import Result
    from ..scenario import Scenario

__all__ = ["IsoLossCurve", "iso_loss_curve"]


@dataclass(frozen=True)
class IsoLossCurve:
    """Designs on the iso-loss curve, by increasing parameter count (arrays of one length).

    `breakdown_usd` and `breakdown_flops` map each cost term's name (registry order) to its $ and FLOPs;
    `labels` maps it to the term's label ("Training", ...). `objective` is the figure the optimum minimizes
    (`total_cost_usd` or `total_flops`); `feasible` is False where a cap of the scenario is violated."""

    params: np.ndarray
    tokens: np.ndarray
    total_cost_usd: np.ndarray
    total_flops: np.ndarray
    breakdown_usd: dict[str, np.ndarray]
    breakdown_flops: dict[str, np.ndarray]
    labels: dict[str, str]
    feasible: np.ndarray
    objective_name: str  # "usd" or "flops"

    @property
    def objective(self) -> np.ndarray:
        return self.total_cost_usd if self.objective_name == "usd" else self.total_flops


def _log_tokens_at(curve, log_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log N, log D) on `curve` at the log parameter counts `log_n` it reaches (the others are dropped)."""
    from ..solve.penalized import PenalizedCurve

    if isinstance(curve, PenalizedCurve):  # the lower boundary y_lo(x), defined right of x_min
        x = log_n[log_n >= float(curve.x_min())]
        return x, curve.y_lo(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        zeta = np.asarray(curve.zeta_of_log_params(log_n), dtype=float)
        inside = np.isfinite(zeta) & (zeta >= curve.lo) & (zeta <= curve.hi)
        log_n_on, log_d = curve.logs(zeta[inside])
    keep = np.isfinite(log_n_on) & np.isfinite(log_d)
    return np.asarray(log_n_on)[keep], np.asarray(log_d)[keep]


def iso_loss_curve(scenario: "Scenario", result: "Result", *, points: int = 200,
                   span: float = 10.0) -> IsoLossCurve:
    """The designs at `result`'s loss target from 1/`span` of the smaller of the optimum's and the
    compute-optimal design's parameter count to `span` times the larger, `points` log-spaced sizes plus both
    designs' own (so the curve passes through them exactly).

    Example:  curve = iso_loss_curve(scenario, tco.optimize(scenario)); curve.params, curve.total_cost_usd
    """
    from ..choice import chosen_scenario
    from ..model.build import build_model
    from ..solve.regimes import model_curve

    if points < 2 or not span > 1:
        raise ValueError(f"iso_loss_curve needs points >= 2 and span > 1, got {points} and {span}")
    scenario = chosen_scenario(scenario, result)  # candidate architectures: the winner's curve
    model = build_model(scenario, result.objective)
    sizes = (result.optimal.params, result.chinchilla.params)
    grid = np.linspace(np.log(min(sizes) / span), np.log(max(sizes) * span), points)
    log_n, log_d = _log_tokens_at(model_curve(model), np.unique(np.concatenate([grid, np.log(sizes)])))
    params, tokens = np.exp(log_n), np.exp(log_d)
    figures = model.figures(params, tokens)
    names = [t.name for t in model.terms]
    feasible = np.ones(params.shape, dtype=bool)
    for cap in model.caps:
        feasible &= np.asarray(cap.relative_slack(params, tokens)) >= -1e-9
    zero = np.zeros_like(params)
    return IsoLossCurve(
        params=params, tokens=tokens,
        total_cost_usd=np.asarray(figures["total_cost_usd"], dtype=float) + zero,
        total_flops=np.asarray(figures["total_flops"], dtype=float) + zero,
        breakdown_usd={n: np.asarray(figures[f"{n}_cost_usd"], dtype=float) + zero for n in names},
        breakdown_flops={n: np.asarray(figures.get(f"{n}_flops", 0.0), dtype=float) + zero for n in names},
        labels={t.name: type(t).label for t in model.terms},
        feasible=feasible, objective_name=model.objective)
