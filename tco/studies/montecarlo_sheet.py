"""The Monte Carlo workbook's sheets: a summary that leads with the median and P10/P90 and says in words when a
heavy tail pulls the mean above P90 (the mean of a lognormal-like cost drifts with the sample count; the median
does not), the probabilities, and the histogram of savings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from openpyxl.chart import BarChart, Reference, Series

from ..xlsx import QUALITATIVE_COLOURS, finish_sheet, fit_columns, header, put, text_block

if TYPE_CHECKING:
    from .montecarlo import MonteCarloResult

__all__ = ["write_summary", "write_histogram", "OUTPUT_LABELS", "heavy_tails"]

#: output -> (label, unit, format kind)
OUTPUT_LABELS = {
    "optimal_params": ("Optimal N", "parameters", "count"),
    "optimal_tokens": ("Optimal D", "tokens", "count"),
    "optimal_tokens_per_param": ("Optimal tokens per parameter", "tokens/parameter", "0.0"),
    "optimal_total_cost_usd": ("Optimal lifetime cost", "$", "usd"),
    "savings_total_cost_usd": ("Savings vs the compute-optimal design", "$", "usd"),
    "savings_fraction": ("Savings vs the compute-optimal design", "share of its cost", "fraction"),
    "nominal_design_cost_usd": ("Nominal optimum, priced at the sampled inputs", "$", "usd"),
    "chinchilla_design_cost_usd": ("Nominal compute-optimal design, priced at the sampled inputs", "$", "usd"),
}
_PROBABILITY_LABELS = {
    "savings_at_least_1pct": "P(the optimum saves at least 1% vs the compute-optimal design)",
    "over_trained_design_cheaper_than_chinchilla_design":
        "P(the nominal over-trained design is cheaper than the nominal compute-optimal design)",
    "unreachable": "P(the loss target is unreachable: at or below the sampled irreducible loss)",
}


def _quantile_columns(summary) -> list[str]:
    """p50 first, then the other quantiles in order (p10, p90, ...)."""
    qs = sorted((c for c in summary.columns if c.startswith("p") and c[1:].isdigit()), key=lambda c: int(c[1:]))
    return (["p50"] if "p50" in qs else []) + [q for q in qs if q != "p50"]


def heavy_tails(result: "MonteCarloResult", drivers: Sequence[str] = ()) -> dict[str, str]:
    """{output: sentence} for each output whose mean lies above its highest quantile (P90 by default); `drivers`
    are the sampled inputs (the scenario's `uncertainty:` section), named as what spreads the tail."""
    sampled = ", ".join(drivers) if drivers else "the sampled inputs"
    qs = _quantile_columns(result.summary)
    top = max(qs, key=lambda c: int(c[1:])) if qs else None
    out = {}
    for row in result.summary.to_dict(orient="records"):
        if top is None or not np.isfinite(row["mean"]) or not row["mean"] > row[top]:
            continue
        label, unit, kind = OUTPUT_LABELS.get(row["output"], (row["output"], "", "sci"))
        out[row["output"]] = (f"Heavy tail: the mean of {label.lower()} is above its {top.upper()}, so a few "
                              f"extreme samples set it (the sampled inputs: {sampled}; a wide demand range or a "
                              f"loss target near the sampled irreducible loss drives such tails); read the median "
                              f"and P10-{top.upper()} instead.")
    return out


def write_summary(ws, result: "MonteCarloResult", drivers: Sequence[str] = ()) -> None:
    ws.title = "Monte Carlo"
    qs = _quantile_columns(result.summary)
    put(ws, 1, 1, f"Monte Carlo: {result.samples:,} samples (seed {result.seed}), each re-optimized exactly; the "
                  "median and P10/P90 lead, the mean is last", bold=True)
    titles = ["output", "unit", *[("median (P50)" if q == "p50" else q.upper()) for q in qs], "mean", "heavy tail"]
    header(ws, 3, titles)
    tails = heavy_tails(result, drivers)
    r = 4
    for row in result.summary.to_dict(orient="records"):
        label, unit, kind = OUTPUT_LABELS.get(row["output"], (row["output"].replace("_", " "), "", "sci"))
        put(ws, r, 1, label)
        put(ws, r, 2, unit)
        for c, key in enumerate([*qs, "mean"], start=3):
            value = float(row[key])
            put(ws, r, c, value if np.isfinite(value) else None, kind)
        put(ws, r, len(qs) + 4, "mean above " + max(qs, key=lambda c: int(c[1:])).upper()
            if row["output"] in tails else "")
        r += 1
    last_col = len(titles)
    r += 1
    for sentence in dict.fromkeys(tails.values()):
        text_block(ws, r, sentence, last_col, bold=True)
        r += 1
    r += 1
    header(ws, r, ["probability", "value"])
    for name, value in result.probabilities.items():
        r += 1
        put(ws, r, 1, _PROBABILITY_LABELS.get(name, name.replace("_", " ").replace("chinchilla", "compute-optimal")))
        put(ws, r, 2, value, "fraction")
    r += 2
    text_block(ws, r, f"{result.samples:,} samples, seed {result.seed}; {result.unreachable:,} unreachable, "
               f"{result.infeasible:,} infeasible", last_col)
    for warning in result.warnings:
        r += 1
        text_block(ws, r, f"warning: {warning}", last_col)
    fit_columns(ws, last_col=last_col, maximum=48, first_row=3)
    finish_sheet(ws, freeze="A4", last_col=last_col)


def write_histogram(ws, result: "MonteCarloResult") -> None:
    """Twenty bins of the savings share, as a table and a bar chart beside it (both inside the print area)."""
    assert result.draws is not None, "write_histogram needs the draws (monte_carlo(keep_draws=True))"
    savings = result.draws["savings_fraction"].to_numpy()
    savings = savings[np.isfinite(savings)]
    counts, edges = np.histogram(savings, bins=20)
    header(ws, 1, ["savings from (share)", "savings to (share)", "samples"])
    for r, (lo, hi, n) in enumerate(zip(edges[:-1], edges[1:], counts), start=2):
        put(ws, r, 1, float(lo), "fraction")
        put(ws, r, 2, float(hi), "fraction")
        put(ws, r, 3, int(n), "count")
    chart = BarChart()
    chart.title, chart.height, chart.width = "Distribution of savings vs the compute-optimal design", 10, 18
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.x_axis.title, chart.y_axis.title = "savings (share of the compute-optimal cost, bin start)", "samples"
    chart.x_axis.number_format, chart.y_axis.number_format = "0%", "#,##0"
    chart.legend = None
    series = Series(Reference(ws, min_col=3, min_row=2, max_row=len(counts) + 1), title="samples")
    series.graphicalProperties.solidFill = QUALITATIVE_COLOURS[0]
    chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(counts) + 1))
    ws.add_chart(chart, "E2")
    fit_columns(ws, last_col=3, maximum=24)
    finish_sheet(ws, last_col=3)
