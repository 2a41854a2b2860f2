"""Issue 15 part 5: the optimize path stays light, solve_frame's chunks agree with one call, sweeps write CSV
through pyarrow with the same values as pandas, and the curve's softplus is exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tco
from tco.studies import arrays
from tco.studies.arrays import solve_frame, solve_table

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

_WRAPPER = """
import runpy, sys
sys.argv = ["tco", *sys.argv[1:]]
try:
    runpy.run_module("tco", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = [m for m in ("pandas", "pyarrow", "matplotlib", "dask") if m in sys.modules]
print("HEAVY", ",".join(heavy) or "-", "CODE", code, file=sys.stderr)
"""


def test_optimize_with_its_default_report_imports_no_pandas_or_pyarrow(tmp_path):
    """`tco optimize` builds its workbook's 50-point demand sweep from numpy columns: pandas and pyarrow (0.4 s
    of a cold start) are never imported, and the workbook is still written."""
    out = tmp_path / "report.xlsx"
    run = subprocess.run([sys.executable, "-c", _WRAPPER, "optimize", str(SCENARIOS / "chat-assistant-70b-quality.yaml"),
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    line = [x for x in run.stderr.splitlines() if x.startswith("HEAVY")][-1]
    assert line == "HEAVY - CODE 0", run.stderr[-2000:]
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("name", ["chat-assistant-70b-quality", "roofline-long-context-assistant",
                                  "data-limited-domain-model", "capped-deadline-and-data"])
def test_solve_frame_in_chunks_equals_one_call(monkeypatch, name):
    """Chunks of FRAME_CHUNK elements give the same table as one call (the kernel is elementwise): bounded
    memory, same numbers to 1e-14 relative, same feasibility and binding caps."""
    scenario = tco.load_scenario(SCENARIOS / f"{name}.yaml")
    rng = np.random.default_rng(7)
    overrides = {"demand.requests": 10 ** rng.uniform(8, 12, 2_000),
                 "training.price_usd_per_hour": np.full(2_000, 2.0) * rng.uniform(0.5, 2.0, 2_000)}
    whole = solve_table(scenario, overrides, validate=False, allow_infeasible=True)
    monkeypatch.setattr(arrays, "FRAME_CHUNK", 300)  # 7 chunks, the last one short
    chunked = solve_table(scenario, overrides, validate=False, allow_infeasible=True)
    assert chunked.columns == whole.columns and chunked.attrs == whole.attrs
    for column in whole.columns:
        a, b = whole[column], chunked[column]
        assert a.dtype == b.dtype and a.shape == b.shape == (2_000,), column
        if a.dtype == bool:
            assert np.array_equal(a, b), column
        else:
            np.testing.assert_allclose(b, a, rtol=1e-14, atol=0, equal_nan=True, err_msg=column)


def test_solve_frame_chunks_broadcast_a_grid_and_count_bad_targets_over_all_elements(monkeypatch):
    """A 2-D broadcast of overrides is chunked over its flattened elements in C order; a loss target below the
    law's floor is counted over every element, not per chunk."""
    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    requests = np.logspace(8, 12, 40)[:, None]
    price = np.linspace(1.0, 4.0, 30)[None, :]
    whole = solve_frame(scenario, {"demand.requests": requests, "training.price_usd_per_hour": price},
                        validate=False)
    monkeypatch.setattr(arrays, "FRAME_CHUNK", 128)
    chunked = solve_frame(scenario, {"demand.requests": requests, "training.price_usd_per_hour": price},
                          validate=False)
    assert len(chunked) == 1_200
    np.testing.assert_array_equal(chunked["demand.requests"], np.broadcast_to(requests, (40, 30)).ravel())
    np.testing.assert_allclose(chunked["optimal_total_cost_usd"], whole["optimal_total_cost_usd"], rtol=1e-14)
    floor = scenario.resolved_law.min_loss
    targets = np.r_[np.full(500, floor + 0.3), np.full(300, floor - 0.01)]
    with pytest.raises(tco.ScenarioError, match=r"^.*300 of 800 loss targets"):
        solve_frame(scenario, {"target.loss": targets}, validate=False)
