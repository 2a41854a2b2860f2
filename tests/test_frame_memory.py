"""solve_frame's columns= and iter_solve_frame: the same rows as the full frame, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tco
from tco.studies import arrays, iter_solve_frame, solve_frame

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("name", ["capped-deadline-and-data", "chat-assistant-70b-quality"])
def test_columns_and_iterator_equal_the_full_frame_bit_for_bit(monkeypatch, name):
    scenario = tco.load_scenario(SCENARIOS / f"{name}.yaml")
    rng = np.random.default_rng(7)
    overrides = {"demand.requests": 10 ** rng.uniform(8, 12, 1_000),
                 "training.price_usd_per_hour": rng.uniform(0.5, 4.0, 1_000)}
    monkeypatch.setattr(arrays, "FRAME_CHUNK", 300)  # chunk boundaries inside the frame
    full = solve_frame(scenario, overrides, validate=False, allow_infeasible=True)
    picked = solve_frame(scenario, overrides, validate=False, allow_infeasible=True,
                         columns=["optimal_params", "savings_fraction"])
    assert list(picked.columns) == ["demand.requests", "training.price_usd_per_hour", "optimal_params",
                                    "savings_fraction", "feasible"]
    pd.testing.assert_frame_equal(picked, full[list(picked.columns)], check_exact=True)
    streamed = pd.concat(list(iter_solve_frame(scenario, overrides, validate=False, allow_infeasible=True)))
    pd.testing.assert_frame_equal(streamed, full, check_exact=True)


def test_unknown_column_names_the_closest():
    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    with pytest.raises(tco.ScenarioError, match="did you mean 'optimal_params'"):
        solve_frame(scenario, {"demand.requests": np.logspace(8, 12, 5)}, columns=["optimal_param"])
