"""`tco fit --plot PATH.png`: observed vs fitted loss, and iso-loss contours of the fit with the runs marked.

matplotlib is imported here, lazily, through its object API (Figure + Agg canvas): no pyplot, no global backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..text import one_line

__all__ = ["write_plot"]


def _observed_vs_fitted(ax, result) -> None:
    runs = result.runs
    fitted = result.residuals()["fitted"]
    ax.scatter(runs.loss, fitted, s=18, c=np.log10(runs.params), cmap="viridis", edgecolors="none")
    low, high = min(runs.loss.min(), fitted.min()), max(runs.loss.max(), fitted.max())
    pad = 0.03 * (high - low or 1.0)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.4", lw=1, ls="--", label="fitted = observed")
    ax.set_xlabel("observed loss (nats/token)")
    ax.set_ylabel("fitted loss")
    ax.set_title("Observed vs fitted (colour: log10 N)")
    ax.legend(loc="upper left", fontsize=8)


def _contours(fig, ax, result) -> None:
    runs, law = result.runs, result.law
    x, y = np.log10(runs.params), np.log10(runs.tokens)
    lo_x, hi_x = x.min() - 0.5, x.max() + 0.5
    lo_y, hi_y = y.min() - 0.5, y.max() + 0.5
    gx, gy = np.meshgrid(np.linspace(lo_x, hi_x, 160), np.linspace(lo_y, hi_y, 160))
    loss = law.loss(10.0**gx, 10.0**gy)
    levels = np.unique(np.quantile(loss, np.linspace(0.03, 0.97, 12)))
    lines = ax.contour(gx, gy, loss, levels=levels, cmap="viridis", linewidths=1)
    ax.clabel(lines, fmt="%.3f", fontsize=7)
    marks = ax.scatter(x, y, c=runs.loss, cmap="viridis", edgecolors="k", linewidths=0.5, s=24, zorder=3)
    fig.colorbar(marks, ax=ax, label="observed loss")
    flops = np.logspace(np.log10(6) + lo_x + lo_y, np.log10(6) + hi_x + hi_y, 60)
    n_opt, d_opt = law.allocate(flops)
    ax.plot(np.log10(n_opt), np.log10(d_opt), color="crimson", lw=1.5, label="compute-optimal (fit)")
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    ax.set_xlabel("log10 parameters N")
    ax.set_ylabel("log10 training tokens D")
    ax.set_title("Iso-loss contours of the fitted law, runs marked")
    ax.legend(loc="upper left", fontsize=8)


def write_plot(result, path: str | Path) -> Path:
    """Write the two-panel PNG atomically; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    _observed_vs_fitted(left, result)
    _contours(fig, right, result)
    c = result.constants
    # parse_math=False: a "$" in a law or file name is a dollar sign, not the start of mathtext
    fig.suptitle(f"{one_line(result.name)}: L = {c['E']:.4g} + {c['A']:.4g}/N^{c['alpha']:.4f} + "
                 f"{c['B']:.4g}/D^{c['beta']:.4f}  ({len(result.runs)} runs, {one_line(result.runs.name)})",
                 parse_math=False)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
