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
    scenario = SCENARIOS / "chat-assistant-70b-quality.yaml"
    run = subprocess.run([sys.executable, "-c", _WRAPPER, "optimize", str(scenario), "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
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


def _sweep_frame(rows: int):
    scenario = tco.load_scenario(SCENARIOS / "capped-deadline-and-data.yaml")
    rng = np.random.default_rng(3)
    # tokens caps from 0.3T to 30T: the 30B-Chinchilla target is out of reach below ~0.6T (infeasible rows)
    frame = solve_frame(scenario, {"demand.requests": 10 ** rng.uniform(6, 14, rows),
                                   "constraints.max_tokens": 10 ** rng.uniform(11.5, 13.5, rows)},
                        validate=False, allow_infeasible=True)
    extremes = frame["optimal_params"].to_numpy().copy()  # values the formatter must round-trip
    extremes[:7] = [np.inf, -np.inf, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3]
    frame["optimal_params"] = extremes
    return frame


@pytest.mark.parametrize("threads", [1, 3])
def test_csv_through_pyarrow_reads_back_as_the_frame_to_the_last_bit(tmp_path, threads, monkeypatch):
    """pandas.read_csv of the pyarrow CSV gives the frame: the same header, every float bit for bit (NaN where
    infeasible, infinities, subnormals, -0 in a float column), the same booleans; written in several chunks and
    blocks, on worker threads, in order."""
    import pandas as pd

    from tco.studies import tables

    monkeypatch.setattr(tables, "CSV_BLOCK_ROWS", 700)  # several blocks per chunk
    frame = _sweep_frame(3_000)
    assert not frame["feasible"].all() and frame["feasible"].any()
    path = tmp_path / "sweep.csv"
    with tables.CsvWriter(path, threads=threads) as writer:
        writer.write(frame.iloc[:1_800])
        writer.write(frame.iloc[1_800:])
    text = path.read_text()
    pandas_header = frame.iloc[:0].to_csv(index=False)
    assert text.startswith(pandas_header) and text.count("\n") == 3_001
    back = pd.read_csv(path)
    assert list(back.columns) == list(frame.columns)
    for column in frame.columns:
        a, b = frame[column].to_numpy(), back[column].to_numpy()
        if a.dtype == bool:
            assert b.dtype == bool and np.array_equal(a, b), column
        else:
            assert b.dtype == np.float64, column
            same_bits = (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))
            assert same_bits.all(), (column, a[~same_bits][:3], b[~same_bits][:3])


def test_tco_sweep_csv_equals_its_parquet(tmp_path):
    """`tco sweep --out x.csv` and `--out x.parquet` hold the same table (pandas reads both)."""
    import pandas as pd
    from typer.testing import CliRunner

    from tco.cli import app

    scenario = str(SCENARIOS / "chat-assistant-70b-quality.yaml")
    tables = {}
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"s.{suffix}"
        result = CliRunner().invoke(app, ["sweep", scenario, "--vary", "demand.requests=1e8:1e12:log:40",
                                          "--vary", "training.price_usd_per_hour=1.5,2.5", "--no-report", "--json",
                                          "--chunk", "30", "--out", str(out)])
        assert result.exit_code == 0, result.output
        tables[suffix] = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    pd.testing.assert_frame_equal(tables["csv"], tables["parquet"], check_exact=True)
