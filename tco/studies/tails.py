"""What a Monte Carlo result leads with: the median and P10/P90 of each output, whether its tail is heavy, and what
drives it.

Costs over a log-uniform demand and sampled law constants are heavy-tailed: a few samples whose law makes the
target expensive put the mean above the P90 (uncertain-demand-and-law: a mean cost of $42M against a P90 of
$12M). The mean of such a tail drifts with the sample count and describes no typical outcome, while the quantiles
converge at the usual 1/sqrt(n) rate in probability, so they are the headline. A heavy tail is flagged (mean above
P90) and explained by the sampled inputs whose ranks correlate most with the output's (Spearman's rank
correlation: monotone, insensitive to the tail it explains).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["OutputStats", "Driver", "output_stats", "rank_correlation", "tail_warning", "HEADLINE_QUANTILES",
           "TOP_DRIVERS"]

#: The quantiles every summary leads with: median and the P10/P90 band.
HEADLINE_QUANTILES = (0.5, 0.1, 0.9)
#: How many inputs a heavy-tail warning names.
TOP_DRIVERS = 3


@dataclass(frozen=True)
class Driver:
    """A sampled input and Spearman's rank correlation of the output with it, over the solved samples."""

    input: str
    rank_correlation: float


@dataclass(frozen=True)
class OutputStats:
    """One output's headline: median, P10, P90 and mean over its finite samples; heavy_tail = mean above P90."""

    output: str
    median: float
    p10: float
    p90: float
    mean: float
    samples: int
    drivers: tuple[Driver, ...] = ()  # every sampled input, by |rank correlation|, largest first

    @property
    def heavy_tail(self) -> bool:
        # beyond rounding: a constant output's mean can exceed its P90 in the last bit
        scale = max(abs(self.p90), abs(self.median), self.p90 - self.p10)
        return bool(self.samples) and self.mean - self.p90 > 1e-9 * scale

    def to_dict(self) -> dict:
        return {"median": self.median, "p10": self.p10, "p90": self.p90, "mean": self.mean,
                "heavy_tail": self.heavy_tail, "samples": self.samples,
                "drivers": [{"input": d.input, "rank_correlation": d.rank_correlation} for d in self.drivers]}


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share theirs), as Spearman's coefficient needs."""
    from scipy.stats import rankdata

    return rankdata(values)


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two equal-length arrays; NaN when either is constant."""
    return _correlation(_ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float)))


def _correlation(rx: np.ndarray, ry: np.ndarray) -> float:
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def output_stats(outputs: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> tuple[OutputStats, ...]:
    """The headline of each output's samples; `inputs` are the sampled inputs, aligned with the outputs. An
    input's ranks are computed once and reused for every output solved in every sample."""
    every = {path: _ranks(np.asarray(v, dtype=float)) for path, v in inputs.items()}
    found = []
    for name, values in outputs.items():
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        kept = values[finite]
        if not kept.size:
            found.append(OutputStats(name, *(float("nan"),) * 4, samples=0))
            continue
        median, p10, p90 = (float(np.quantile(kept, q)) for q in HEADLINE_QUANTILES)
        ranks = _ranks(kept)
        drivers = []
        for path, sampled in inputs.items():
            rx = every[path] if finite.all() else _ranks(np.asarray(sampled, dtype=float)[finite])
            rho = _correlation(rx, ranks)
            if np.isfinite(rho):
                drivers.append(Driver(path, rho))
        drivers.sort(key=lambda d: -abs(d.rank_correlation))
        found.append(OutputStats(name, median, p10, p90, float(kept.mean()), int(kept.size), tuple(drivers)))
    return tuple(found)


def tail_warning(stats: OutputStats) -> str | None:
    """The heavy-tail warning for one output, naming its strongest drivers; None for a light tail."""
    if not stats.heavy_tail:
        return None
    named = ", ".join(f"{d.input} ({d.rank_correlation:+.2f})" for d in stats.drivers[:TOP_DRIVERS])
    return (f"{stats.output} is heavy-tailed: its mean {stats.mean:.4g} is above its P90 {stats.p90:.4g}, so the "
            f"mean is no typical outcome and drifts with the sample count; read the median {stats.median:.4g} and "
            f"P10..P90 {stats.p10:.4g}..{stats.p90:.4g}"
            + (f". Rank correlation with the sampled inputs: {named}" if named else ""))
