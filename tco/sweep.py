"""Demand sweeps: the optimum as lifetime inference demand varies, solved by the vectorized exact solver.

One numpy call solves every point; the GP is not needed because the exact solver is the same optimum (the
cross-check of every `optimize` call, and tests/test_sweep.py, hold the two together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .errors import InfeasibleError
from .model.compile import build_model
from .model.exact import solve_exact
from .optimize import check_feasible

if TYPE_CHECKING:
    import pandas as pd

    from .scenario import Scenario

__all__ = ["demand_sweep", "DEFAULT_SWEEP_TOKENS"]

#: Lifetime inference tokens swept by default: from a research prototype to a global product.
DEFAULT_SWEEP_TOKENS = (1e9, 1e16)
#: Prompt:generated mix used when a scenario has no demand to take its mix from (LMSYS-Chat, Sardana et al.).
_DEFAULT_MIX = {"prompt_tokens": 70.0, "generated_tokens": 215.0}


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
    import pandas as pd

    tokens = (np.logspace(np.log10(low), np.log10(high), points) if inference_tokens is None
              else np.asarray(inference_tokens, dtype=float))
    if tokens.ndim != 1 or np.any(tokens < 0) or not np.all(np.isfinite(tokens)):
        raise ValueError("inference_tokens must be a 1-D array of non-negative finite token counts")
    demand = scenario.demand
    base_tokens = demand.lifetime_prompt_tokens + demand.lifetime_generated_tokens
    if base_tokens == 0:  # take prices per token from the default mix instead of a zero demand
        scenario = scenario.model_copy(update={"demand": demand.model_copy(update={"requests": None, **_DEFAULT_MIX})})
        scenario = type(scenario).model_validate(scenario.model_dump())
        base_tokens = sum(_DEFAULT_MIX.values())
    model = build_model(scenario, objective)
    factor = tokens / base_tokens
    loss = model.loss

    def scaled(coef, term):
        return coef * factor if term.per_inference_token else np.full_like(factor, coef)

    terms = [(t.n_exp, t.d_exp, scaled(t.weight(model.objective), t)) for t in model.terms
             if t.weight(model.objective) > 0]
    sol = solve_exact(loss.a, loss.p, loss.b, loss.q, terms, [(c.n_exp, c.d_exp, c.limit) for c in model.caps])
    if not np.all(sol.feasible):
        check_feasible(model)  # names the conflicting caps (demand does not change feasibility)
        raise InfeasibleError("the constraints leave no design that reaches the loss target")
    n, d = sol.params, sol.tokens
    chin_n, chin_d = model.law.chinchilla_point(model.target_loss)

    def breakdown(params, tokens_trained):
        usd = {t.name: scaled(t.usd_coef, t) * t.monomial(params, tokens_trained) for t in model.terms}
        flops = {t.name: scaled(t.flops_coef, t) * t.monomial(params, tokens_trained) for t in model.terms}
        return usd, flops

    usd, flops = breakdown(n, d)
    chin_usd, chin_flops = breakdown(chin_n, chin_d)
    total, chin_total = sum(usd.values()), sum(chin_usd.values())
    total_flops, chin_total_flops = sum(flops.values()), sum(chin_flops.values())
    frame = pd.DataFrame({
        "inference_tokens": tokens,
        "params": n,
        "tokens": d,
        "tokens_per_param": d / n,
        "training_cost_usd": usd["training"],
        "inference_cost_usd": usd["prefill"] + usd["decode"],
        "data_cost_usd": usd["data"],
        "total_cost_usd": total,
        "chinchilla_total_cost_usd": chin_total,
        "savings_usd": chin_total - total,
        "savings_fraction": 1.0 - total / chin_total,
        "total_flops": total_flops,
        "chinchilla_total_flops": chin_total_flops,
        "savings_flops_fraction": 1.0 - total_flops / chin_total_flops,
    })
    for m, cap in enumerate(model.caps):
        frame[f"binds:{cap.name}"] = sol.binding[m]
    frame.attrs.update({"scenario": scenario.name, "objective": model.objective, "law": model.law.name,
                        "target_loss": model.target_loss, "chinchilla_params": chin_n, "chinchilla_tokens": chin_d})
    return frame
