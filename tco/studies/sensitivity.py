"""One-at-a-time sensitivity (a tornado): each input moved by +-X%, the change in total cost, N and D."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import solve_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["sensitivity", "DEFAULT_FRACTION", "default_inputs"]

DEFAULT_FRACTION = 0.20
# Inputs a budget owner can move; law constants belong to the uncertainty analysis, not a +-20% tornado.
_SKIP_PREFIXES = ("law.",)
# Deployment-sizing inputs (tco.results.deployment.serving_sizing) size the fleet but do not enter the optimization
# (except the batch, which serving.roofline prices decode at).
_SIZING_ONLY = ("serving.batch_size", "serving.headroom", "demand.peak_requests_per_second")


def default_inputs(scenario: "Scenario") -> list[str]:
    """Every numeric input the scenario actually sets (or that has a cited default), except law constants."""
    from .arrays import numeric_paths

    sizing_only = set(_SIZING_ONLY) - ({"serving.batch_size"} if scenario.serving.roofline is not None else set())
    if scenario.serving.pricing == "provisioned":  # the fleet serving pays for is sized at peak x (1 + headroom)
        sizing_only -= {"serving.headroom", "demand.peak_requests_per_second"}
    sizing_only |= _unused_fit_inputs(scenario)
    paths = []
    for path in numeric_paths(scenario):
        if path.startswith(_SKIP_PREFIXES) or path in sizing_only:
            continue
        node = scenario
        for part in path.split("."):
            node = getattr(node, part)
        if node is None or node == 0:
            continue
        if path == "demand.samples_per_request" and not scenario.demand.reasons:
            continue  # one plain answer per request: the floor of the field, and not an input the user stated
        if (path.startswith("demand.") and path.endswith("_per_request") and scenario.demand.requests is None
                and scenario.demand.requests_per_year is None):
            continue
        paths.append(path)
    return paths


def _unused_fit_inputs(scenario: "Scenario") -> set[str]:
    """Replica-fit inputs that do not enter this scenario's optimization (only deployment sizing): the replica's
    devices and KV cache cap N only with memory_fit or a latency target (the roofline prices its own KV), and
    the weight bytes also price a roofline's decode."""
    s = scenario.serving
    caps = (s.memory_fit or s.max_time_per_output_token_ms is not None
            or s.max_time_to_first_token_ms is not None)
    unused = set()
    # the calibrated roofline step divides the per-layer overhead by the devices and all-reduces across them
    calibrated = s.roofline is not None and s.roofline.calibration is not None
    if not caps and not calibrated:
        unused.add("serving.devices_per_replica")
    if not caps or s.roofline is not None:
        unused.add("serving.kv_cache_gb")
    if not caps and s.roofline is None:
        unused.add("serving.bytes_per_param")
    if calibrated and s.max_time_to_first_token_ms is None:  # the first-token figures only cap N
        unused |= {"serving.roofline.calibration.prefill_compute_efficiency",
                   "serving.roofline.calibration.prefill_us_per_prompt_token"}
    return unused


def _moved(scenario: "Scenario", path: str, fraction: float) -> tuple[float, np.ndarray]:
    """(value, [low, high]) for one input. The loss target moves its reducible part (l - E), since +-20% of
    a loss would cross the irreducible loss; MFUs and efficiencies are capped at 1."""
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    value = float(node)
    if path == "target.loss":
        floor = scenario.resolved_law.min_loss
        return value, floor + (value - floor) * np.array([1 - fraction, 1 + fraction])
    values = value * np.array([1 - fraction, 1 + fraction])
    if path.endswith("ownership.pue"):  # PUE is at least 1
        return value, np.maximum(values, 1.0)
    return value, np.minimum(values, 1.0) if path.endswith(("mfu", "utilization", "efficiency", "goodput")) else values


def sensitivity(scenario: "Scenario", *, fraction: float = DEFAULT_FRACTION, inputs: list[str] | None = None,
                objective: str | None = None) -> "pd.DataFrame":
    """Ranked table: one row per input with low/high values and the resulting total cost, N and D.

    Sorted by the larger absolute change in the optimal total cost. All runs are exact re-optimizations.

    Example:  sensitivity(scenario, fraction=0.2)[["input", "cost_change_low", "cost_change_high"]].head()
    """
    from .arrays import refuse_quantization

    refuse_quantization(scenario, "tco sensitivity")
    import pandas as pd

    if not 0 < fraction < 1:
        raise ValueError("fraction must be in (0, 1), e.g. 0.2 for +-20%")
    base = solve_frame(scenario, {}, objective=objective, validate=False).iloc[0]
    rows = []
    for path in inputs or default_inputs(scenario):
        value, values = _moved(scenario, path, fraction)
        frame = solve_frame(scenario, {path: values}, objective=objective, allow_infeasible=True)
        low, high = frame.iloc[0], frame.iloc[1]
        rows.append({
            "input": path,
            "base_value": value,
            "low_value": values[0],
            "high_value": values[1],
            "total_cost_usd_low": low["optimal_total_cost_usd"],
            "total_cost_usd_high": high["optimal_total_cost_usd"],
            "cost_change_low": low["optimal_total_cost_usd"] / base["optimal_total_cost_usd"] - 1,
            "cost_change_high": high["optimal_total_cost_usd"] / base["optimal_total_cost_usd"] - 1,
            "params_low": low["optimal_params"],
            "params_high": high["optimal_params"],
            "tokens_low": low["optimal_tokens"],
            "tokens_high": high["optimal_tokens"],
            "savings_fraction_low": low["savings_fraction"],
            "savings_fraction_high": high["savings_fraction"],
        })
    frame = pd.DataFrame(rows)
    swing = np.maximum(frame["cost_change_low"].abs(), frame["cost_change_high"].abs())
    # ranked by swing; swings equal to 10 significant digits (e.g. a price and a demand that scale the same
    # cost term) keep the inputs' order, so solver round-off never reorders the tornado
    rank = pd.Series([-float(f"{v:.10g}") for v in swing], index=frame.index)
    frame = (frame.assign(swing=swing, _rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")
             .reset_index(drop=True))
    frame.attrs.update({"scenario": scenario.name, "fraction": fraction,
                        "base_total_cost_usd": float(base["optimal_total_cost_usd"]),
                        "base_params": float(base["optimal_params"]), "base_tokens": float(base["optimal_tokens"])})
    return frame
