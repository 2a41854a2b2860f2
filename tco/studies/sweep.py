"""Demand sweeps: the optimum as lifetime inference demand varies, solved in one call of the exact solver.

The GP is not needed: the exact solver finds the same optimum (every `optimize` call cross-checks the two, and
tests/test_sweep.py compares sweep points with full `optimize` runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ScenarioError
from ..results.table import ColumnTable
from .arrays import demand_overrides, solve_table

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["demand_sweep", "demand_sweep_table", "inference_tokens_label", "horizon_words", "DEFAULT_SWEEP_TOKENS"]

#: Lifetime inference tokens swept by default: from a research prototype to a global product.
DEFAULT_SWEEP_TOKENS = (1e9, 1e16)
#: The most lifetime inference tokens a sweep may reach: the range of prompt plus generated tokens.
MAX_SWEEP_TOKENS = 2e24
#: The sweep table's historical column names: the optimum's figures lose their `optimal_` prefix.
_RENAMED = {"savings_total_cost_usd": "savings_usd"}


def demand_sweep(
    scenario: "Scenario",
    inference_tokens=None,
    *,
    points: int = 50,
    low: float = DEFAULT_SWEEP_TOKENS[0],
    high: float = DEFAULT_SWEEP_TOKENS[1],
    objective: str | None = None,
) -> "pd.DataFrame":
    """`demand_sweep_table` as a pandas DataFrame: optimal design and costs for each lifetime inference demand
    (total prompt + generated tokens).

    The demand is set by `tco.studies.arrays.demand_overrides`: the lifetime tokens that price inference, with the
    scenario's prompt:generated mix; with a demand horizon (requests_per_year) these are present values at
    training time (frame.attrs["inference_tokens_label"] says which). Everything else (law, target, prices,
    caps) is fixed. Returns one row per demand with the optimum, its cost breakdown, the Chinchilla baseline
    and the savings.

    Example:  demand_sweep(scenario, points=20)[["inference_tokens", "params", "savings_fraction"]]
    """
    return demand_sweep_table(scenario, inference_tokens, points=points, low=low, high=high,
                              objective=objective).to_pandas()


def demand_sweep_table(scenario: "Scenario", inference_tokens=None, *, points: int = 50,
                       low: float = DEFAULT_SWEEP_TOKENS[0], high: float = DEFAULT_SWEEP_TOKENS[1],
                       objective: str | None = None) -> ColumnTable:
    """`demand_sweep`'s table as numpy columns (`tco.results.table.ColumnTable`), without pandas: the workbook's
    demand sweep on the `tco optimize` path."""
    tokens = (np.logspace(np.log10(low), np.log10(high), points) if inference_tokens is None
              else np.asarray(inference_tokens, dtype=float))
    if tokens.ndim != 1 or np.any(tokens < 0) or not np.all(np.isfinite(tokens)):
        raise ValueError("inference_tokens must be a 1-D array of non-negative finite token counts")
    if np.max(tokens, initial=0.0) > MAX_SWEEP_TOKENS:
        raise ScenarioError(f"the demand sweep reaches {np.max(tokens):.3g} lifetime inference tokens, above "
                            f"{MAX_SWEEP_TOKENS:g} (the range of demand.prompt_tokens + generated_tokens: 1e18 "
                            "requests of a million tokens each)", source=scenario.source or scenario.name)
    table = solve_table(scenario, demand_overrides(scenario, tokens), objective=objective, validate=False)
    table.insert(0, "inference_tokens", tokens)
    optimal = {c: c.removeprefix("optimal_") for c in table.columns if c.startswith("optimal_")
               and c.removeprefix("optimal_") not in table.columns}
    table = table.rename({**optimal, **_RENAMED})
    table.attrs.update({"target_loss": float(table["target_loss"][0]),
                        "chinchilla_params": float(table["chinchilla_params"][0]),
                        "chinchilla_tokens": float(table["chinchilla_tokens"][0]),
                        "inference_tokens_label": inference_tokens_label(scenario)})
    return table


def inference_tokens_label(scenario: "Scenario") -> str:
    """What the swept demand is: lifetime inference tokens, present values when the scenario has a horizon."""
    horizon = horizon_words(scenario)
    label = f"lifetime inference tokens (present value, {horizon})" if horizon else "lifetime inference tokens"
    if scenario.serving.pricing == "provisioned":  # demand_overrides moves the peak with the demand
        label += ", the peak in proportion"
    return label


def horizon_words(scenario: "Scenario") -> str | None:
    """'3-year horizon discounted at 10%/year' for a demand horizon, else None."""
    d = scenario.demand
    if d.requests_per_year is None:
        return None
    return f"{d.years:g}-year horizon discounted at {100 * d.discount_rate:.4g}%/year"
