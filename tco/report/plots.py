"""`--plot PATH` figures (PNG or SVG, by the suffix): the optimum on its iso-loss curve, sweeps, Monte Carlo.

Exporters only: every function reads what a study computed (a Result and the `tco.studies.isoloss` curve's
arrays, a sweep frame, a Monte Carlo result's draws) and never solves. Each `*_figure` returns the matplotlib
Figure, so a notebook can show it and a test can read back the plotted values; `write_figure` saves one
atomically. matplotlib is imported only inside these functions, through its object API (Figure + Agg canvas):
no pyplot, no global backend, and nothing of matplotlib on a path that does not plot.

Text is never mathtext: scenario names and dollar amounts are shown as written (`_text`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TcoError
from ..text import one_line
from ..units import format_count, format_usd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..results import Result

__all__ = ["PLOT_SUFFIXES", "check_plot_path", "new_figure", "write_figure", "optimize_figure",
           "sweep_series", "sweep_rows", "sweep_figure", "montecarlo_figure", "MAX_SWEEP_SERIES"]

#: suffix -> matplotlib format
PLOT_SUFFIXES = {".png": "png", ".svg": "svg"}
#: The most series a sweep figure draws (one per combination of the axes after the first, evenly chosen).
MAX_SWEEP_SERIES = 8
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", "-.", ":")
_DPI = 110


def check_plot_path(path: str | Path, option: str = "--plot") -> Path:
    """`path` when its suffix is .png or .svg (case-insensitive); a one-line TcoError naming `option` otherwise."""
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        got = f"got {one_line(path.suffix)!r}" if path.suffix else "it has no suffix"
        raise TcoError(f"{option} {one_line(str(path))}: use a .png or .svg file name ({got})")
    return path


def _text(value: object) -> str:
    """Each line made one line (no control characters), every $ escaped: matplotlib would start mathtext at a
    pair of them."""
    return "\n".join(one_line(line) for line in str(value).split("\n")).replace("$", r"\$")


def new_figure(width_inches: float, height_inches: float) -> "Figure":
    """A Figure on its own Agg canvas (no pyplot, no global backend state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_inches, height_inches), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def write_figure(fig: "Figure", path: str | Path, option: str = "--plot") -> Path:
    """Save `fig` atomically as PNG or SVG (by the suffix of `path`); returns the path. SVG keeps text as text."""
    import matplotlib

    fmt = PLOT_SUFFIXES[check_plot_path(path, option).suffix.lower()]
    from ..atomic import atomic_write

    def save(tmp: Path) -> None:
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tco"}):  # reproducible SVG ids
            fig.savefig(tmp, format=fmt, dpi=_DPI, metadata={"Date": None} if fmt == "svg" else None)

    return atomic_write(path, save)


def _log_formatter(fmt):
    """matplotlib's log-axis formatter (it picks which minor ticks get a label) printing `fmt(value)`."""
    from matplotlib.ticker import LogFormatter

    class _Formatter(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            return _text(fmt(x))

    return _Formatter


def _format_axis(axis, fmt, *, log: bool) -> None:
    """Tick labels as `fmt` prints them ($1,000,000, 24.2B), on the major and, on a log axis, minor ticks."""
    from matplotlib.ticker import FuncFormatter

    if not log:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: _text(fmt(v)) if v > 0 else ""))
        return
    formatter = _log_formatter(fmt)
    axis.set_major_formatter(formatter(labelOnlyBase=False))
    axis.set_minor_formatter(formatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _measure(objective: str) -> tuple[str, str, Any]:
    """(figure key, axis title, formatter) of what the objective minimizes."""
    if objective == "flops":
        return "total_flops", "lifetime FLOPs", lambda v: f"{v:.3e} FLOPs"
    return "total_cost_usd", "total lifetime cost ($)", format_usd


# --- tco optimize -----------------------------------------------------------------------------------------------
def optimize_figure(result: "Result", curve: Any) -> "Figure":
    """Two panels: (a) the objective along the iso-loss curve (log N) with each term's share, the optimum and the
    compute-optimal design at the same loss marked; (b) both designs' breakdown by cost term, stacked.

    `curve` is a `tco.studies.isoloss.IsoLossCurve`. The optimum's marker is the Line2D with gid "optimum",
    the compute-optimal design's has gid "compute-optimal": their data are the Result's N and objective."""
    fig = new_figure(13, 5.2)
    left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
    _curve_panel(left, result, curve)
    _breakdown_panel(right, result, curve.labels)
    objective = "lifetime $" if result.objective == "usd" else "lifetime FLOPs"
    fig.suptitle(_text(f"{result.scenario}: law {result.law}, target loss {result.target_loss:.5g}, minimizing "
                       f"{objective}"))
    return fig


def _curve_panel(ax: "Axes", result: "Result", curve: Any) -> None:
    key, title, fmt = _measure(result.objective)
    usd = key == "total_cost_usd"
    total = np.asarray(curve.total_cost_usd if usd else curve.total_flops)
    terms = curve.breakdown_usd if usd else curve.breakdown_flops
    colors = _term_colors(ax, list(curve.labels))
    for name, values in terms.items():
        if np.any(np.asarray(values) > 0):
            ax.plot(curve.params, values, lw=1, color=colors[name], alpha=0.8,
                    label=_text(f"{curve.labels[name]} term"))
    feasible = np.asarray(curve.feasible, dtype=bool)
    ax.plot(curve.params, np.where(feasible, total, np.nan), lw=2.4, color="black", label="total (feasible)")
    if not feasible.all():
        ax.plot(curve.params, np.where(feasible, np.nan, total), lw=1.6, ls="--", color="0.55",
                label="total (violates a cap)")
    designs = (("optimum", result.optimal, "*", "crimson", 16),
               ("compute-optimal", result.chinchilla, "o", "tab:blue", 9))
    for gid, point, marker, color, size in designs:
        y = point.figures[key]
        label = "optimum" if gid == "optimum" else "compute-optimal at the same loss"
        ax.plot([point.params], [y], ls="none", marker=marker, ms=size, color=color, mec="black", mew=0.6,
                zorder=5, gid=gid, label=label)
        ax.annotate(_text(f"{label}\nN = {format_count(point.params)}, D/N = {point.tokens_per_param:,.0f}\n"
                          f"{fmt(y)}"), (point.params, y), xytext=(12, 18 if gid == "optimum" else -34),
                    textcoords="offset points", fontsize=8, color=color, zorder=6,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": color, "lw": 0.6, "alpha": 0.9},
                    arrowprops={"arrowstyle": "-", "color": color, "lw": 0.8})
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Near the curve's ends one term explodes (N or D -> its asymptote): keep the view on the two designs
    top = 30 * max(result.optimal.figures[key], result.chinchilla.figures[key])
    shown = np.concatenate([np.asarray(v, dtype=float)[np.asarray(v) > 0] for v in (total, *terms.values())])
    ax.set_ylim(max(float(shown.min()), top / 1e5) / 1.5, top)
    _format_axis(ax.xaxis, format_count, log=True)
    if usd:
        _format_axis(ax.yaxis, format_usd, log=True)
    ax.set_xlabel("parameters N (log scale; D follows from the loss target)")
    ax.set_ylabel(_text(title + " (log scale)"))
    ax.set_title(_text(f"(a) designs at loss {result.target_loss:.5g}: the iso-loss curve"), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def _term_colors(ax: "Axes", names: list[str]) -> dict[str, Any]:
    """One colour per cost term (the registry's order), shared by both panels."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _breakdown_panel(ax: "Axes", result: "Result", labels: Mapping[str, str]) -> None:
    """Stacked bars, one segment per registered term, for the optimum and the compute-optimal design."""
    usd = result.objective == "usd"
    suffix = "cost_usd" if usd else "flops"
    designs = (("optimum", result.optimal), ("compute-optimal\nat the same loss", result.chinchilla))
    colors = _term_colors(ax, list(labels))
    bottoms = np.zeros(len(designs))
    for name, label in labels.items():
        values = np.array([p.figures.get(f"{name}_{suffix}", 0.0) for _, p in designs], dtype=float)
        if not np.any(values > 0):
            continue
        ax.bar(range(len(designs)), values, bottom=bottoms, color=colors[name], width=0.55, label=_text(label),
               gid=f"term:{name}")
        bottoms += values
    key, title, fmt = _measure(result.objective)
    for i, (_, point) in enumerate(designs):
        ax.annotate(_text(fmt(point.figures[key])), (i, bottoms[i]), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_xticks(range(len(designs)), [d for d, _ in designs])
    ax.set_ylim(0, bottoms.max() * 1.12)
    if usd:
        _format_axis(ax.yaxis, format_usd, log=False)
    ax.set_ylabel(_text(title))
    saving = result.savings.fraction if usd else result.savings.flops_fraction
    ax.set_title(_text(f"(b) by cost term: the optimum saves {saving:.1%}"), fontsize=10)
    ax.legend(fontsize=8, loc="upper left", reverse=True)
    ax.grid(True, axis="y", alpha=0.3)


# --- tco sweep --------------------------------------------------------------------------------------------------
def sweep_series(axes: Mapping[str, Any]) -> list[tuple[float, ...]]:
    """The combinations of the axes after the first that `sweep_figure` draws, in sorted order: all of them, or
    MAX_SWEEP_SERIES evenly chosen (the first and the last included). () alone for a one-axis sweep."""
    values = [np.unique(np.asarray(v, dtype=float)) for v in list(axes.values())[1:]]
    total = math.prod(len(v) for v in values)
    picks = np.unique(np.linspace(0, total - 1, min(total, MAX_SWEEP_SERIES)).round().astype(int))
    index = np.unravel_index(picks, [len(v) for v in values]) if values else ()
    return [tuple(float(v[i[k]]) for v, i in zip(values, index)) for k in range(len(picks))]


def sweep_rows(frame: Any, axes: Mapping[str, Any]) -> Any:
    """The rows of `frame` (a chunk of the grid) that `sweep_figure` draws, with only the columns it reads: what
    a command keeps while a large grid streams to its table."""
    others = list(axes)[1:]
    keep = np.zeros(len(frame), dtype=bool)
    for combo in sweep_series(axes):
        match = np.ones(len(frame), dtype=bool)
        for path, value in zip(others, combo):
            match &= frame[path].to_numpy(dtype=float) == value
        keep |= match
    return frame.loc[keep, [*axes, "optimal_params", "savings_fraction", "feasible"]]


def _short_names(paths: list[str]) -> list[str]:
    """Each path's last component ("decode_mfu"), or the whole path where two would read the same."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return [short if last.count(short) == 1 else path for short, path in zip(last, paths)]


def sweep_figure(frame: Any, axes: Mapping[str, Any], title: str = "") -> "Figure":
    """Optimal N and savings against the first swept axis, one series per combination of the other axes (at
    most MAX_SWEEP_SERIES, `sweep_series`, each with its own colour, marker and line style). `frame` is a
    `tco.studies.grid.grid_sweep` frame, or the `sweep_rows` of its chunks; infeasible rows are left out."""
    names = list(axes)
    x_name, others = names[0], names[1:]
    series = sweep_series(axes)
    total = math.prod(len(np.unique(np.asarray(v, dtype=float))) for v in list(axes.values())[1:])
    fig = new_figure(12, 5.6)
    n_ax, s_ax = fig.subplots(1, 2)
    x_values = np.asarray(axes[x_name], dtype=float)
    log_x = bool(np.all(x_values > 0) and x_values.max() / x_values.min() > 100)
    feasible = frame["feasible"].to_numpy(dtype=bool)
    dropped = 0
    for k, combo in enumerate(series):
        match = np.ones(len(frame), dtype=bool)
        for path, value in zip(others, combo):
            match &= frame[path].to_numpy(dtype=float) == value
        dropped += int(np.count_nonzero(match & ~feasible))
        group = frame[match & feasible].sort_values(x_name)
        label = ", ".join(f"{p} = {v:.4g}" for p, v in zip(_short_names(others), combo)) or "optimum"
        style = {"marker": _MARKERS[k % len(_MARKERS)], "ls": _LINESTYLES[k % len(_LINESTYLES)], "ms": 4,
                 "lw": 1.3, "label": _text(label), "gid": f"series:{k}"}
        n_ax.plot(group[x_name], group["optimal_params"], **style)
        s_ax.plot(group[x_name], 100 * group["savings_fraction"], **style)
    for ax, y_title in ((n_ax, "optimal parameters N"), (s_ax, "savings vs compute-optimal at the same loss (%)")):
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(_text(x_name))
        ax.set_ylabel(_text(y_title))
        ax.grid(True, alpha=0.3)
    n_ax.set_yscale("log")
    _format_axis(n_ax.yaxis, format_count, log=True)
    n_ax.set_title("(a) optimal model size", fontsize=10)
    s_ax.set_title("(b) savings of the optimum", fontsize=10)
    if others:  # below both panels: the curves fill the axes
        handles, labels = n_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=8,
                   ncols=min(4 if max(map(len, labels)) <= 36 else 2, len(series)),
                   title=None if len(series) == total else
                   f"{len(series)} of {total:,} series shown", title_fontsize=8)
    points = len(x_values) * total
    fig.suptitle(_text(f"{title}: {points:,} points" + (f", {dropped:,} infeasible left out" if dropped else "")))
    return fig


# --- tco montecarlo ---------------------------------------------------------------------------------------------
def montecarlo_figure(result: Any, title: str = "") -> "Figure":
    """Histograms of the optimal N (log bins) and of the savings fraction over the samples, with the median and
    P10/P90 marked (vertical lines with gid "p10", "p50", "p90"). `result` is a
    `tco.studies.montecarlo.MonteCarloResult` with its draws kept (`keep_draws=True`)."""
    draws = result.draws
    if draws is None:
        raise ValueError("montecarlo_figure needs the draws: run monte_carlo(..., keep_draws=True)")
    fig = new_figure(12, 4.6)
    n_ax, s_ax = fig.subplots(1, 2)
    params = draws["optimal_params"].to_numpy(dtype=float)
    _histogram(n_ax, params[np.isfinite(params)], log=True, fmt=format_count)
    n_ax.set_xlabel("optimal parameters N (log scale)")
    n_ax.set_title("(a) optimal model size", fontsize=10)
    _format_axis(n_ax.xaxis, format_count, log=True)
    savings = draws["savings_fraction"].to_numpy(dtype=float)
    _histogram(s_ax, 100 * savings[np.isfinite(savings)], log=False, fmt=lambda v: f"{v:.2f}%")
    s_ax.set_xlabel("savings vs compute-optimal at the same loss (%)")
    s_ax.set_title("(b) savings of the optimum", fontsize=10)
    for ax in (n_ax, s_ax):
        ax.set_ylabel("samples")
        ax.grid(True, alpha=0.3)
    lost = result.unreachable + result.infeasible
    fig.suptitle(_text(f"{title}: {result.samples:,} samples (seed {result.seed})"
                       + (f", {lost:,} without a design left out" if lost else "")))
    return fig


def _histogram(ax: "Axes", values: np.ndarray, *, log: bool, fmt) -> None:
    if values.size == 0:
        ax.text(0.5, 0.5, "no sample has a design", ha="center", va="center", transform=ax.transAxes)
        return
    lo, hi = float(values.min()), float(values.max())
    bins: Any
    if lo == hi:
        bins = 1
    elif log:
        bins = np.logspace(np.log10(lo), np.log10(hi), 40)
        bins[0], bins[-1] = lo, hi  # exactly: 10**log10(x) may round past the extreme sample
    else:
        bins = 40
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.75, edgecolor="white", linewidth=0.4)
    if log:
        ax.set_xscale("log")
    for q, style, color in ((0.1, ":", "tab:orange"), (0.5, "-", "crimson"), (0.9, ":", "tab:orange")):
        v = float(np.quantile(values, q))
        name = "median" if q == 0.5 else f"P{round(q * 100)}"
        ax.axvline(v, ls=style, lw=1.8, color=color, gid=f"p{round(q * 100)}", label=_text(f"{name} {fmt(v)}"))
    ax.legend(fontsize=8, loc="best")
