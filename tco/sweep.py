"""Demand sweeps: the optimum as lifetime inference demand varies, solved in one call of the exact solver.

The GP is not needed: the exact solver finds the same optimum (every `optimize` call cross-checks the two, and
tests/test_sweep.py compares sweep points with full `optimize` runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .vector import solve_frame

if TYPE_CHECKING:
    import pandas as pd

    from .scenario import Scenario

__all__ = ["demand_sweep", "DEFAULT_SWEEP_TOKENS"]

#: Lifetime inference tokens swept by default: from a research prototype to a global product.
DEFAULT_SWEEP_TOKENS = (1e9, 1e16)
#: Prompt:generated mix used when a scenario has no demand to take its mix from (LMSYS-Chat, Sardana et al.).
_DEFAULT_PROMPT_SHARE = 70.0 / (70.0 + 215.0)
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
    """Optimal design and costs for each lifetime inference demand (total prompt + generated tokens).

    The scenario's prompt:generated mix is kept; everything else (law, target, prices, caps) is fixed. Returns
    one row per demand with the optimum, its cost breakdown, the Chinchilla baseline and the savings.
    """
    tokens = (np.logspace(np.log10(low), np.log10(high), points) if inference_tokens is None
              else np.asarray(inference_tokens, dtype=float))
    if tokens.ndim != 1 or np.any(tokens < 0) or not np.all(np.isfinite(tokens)):
        raise ValueError("inference_tokens must be a 1-D array of non-negative finite token counts")
    demand = scenario.demand
    total = demand.lifetime_prompt_tokens + demand.lifetime_generated_tokens
    share = demand.lifetime_prompt_tokens / total if total > 0 else _DEFAULT_PROMPT_SHARE
    overrides = {"demand.requests": None, "demand.prompt_tokens": tokens * share,
                 "demand.generated_tokens": tokens * (1.0 - share)}
    frame = solve_frame(scenario, overrides, objective=objective, validate=False)
    frame.insert(0, "inference_tokens", tokens)
    optimal = {c: c.removeprefix("optimal_") for c in frame.columns if c.startswith("optimal_")
               and c.removeprefix("optimal_") not in frame.columns}
    frame = frame.rename(columns={**optimal, **_RENAMED})
    frame.attrs.update({"target_loss": float(frame["target_loss"].iloc[0]),
                        "chinchilla_params": float(frame["chinchilla_params"].iloc[0]),
                        "chinchilla_tokens": float(frame["chinchilla_tokens"].iloc[0])})
    return frame
