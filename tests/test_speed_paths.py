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
                                   "constraints.max_tokens": 10 ** rng.uniform(11.5, 13.5, rows),
                                   "training.price_usd_per_hour": rng.integers(1, 5, rows).astype(float)},
                        validate=False, allow_infeasible=True)
    extremes = frame["optimal_params"].to_numpy().copy()  # values the formatter must round-trip
    extremes[:7] = [np.inf, -np.inf, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3]
    frame["optimal_params"] = extremes
    return frame


def test_csv_through_pyarrow_reads_back_as_the_frame_to_the_last_bit(tmp_path):
    """pandas.read_csv of the pyarrow CSV gives the frame: the same header, every float bit for bit (NaN where
    infeasible, infinities, subnormals, -0 in a float column), the same booleans and dtypes (a whole-number
    column stays float), written in two chunks, in order."""
    import pandas as pd

    from tco.studies import tables

    frame = _sweep_frame(3_000)
    assert not frame["feasible"].all() and frame["feasible"].any()
    prices = frame["training.price_usd_per_hour"]
    assert (prices == prices.round()).all()  # a whole-number column (pyarrow alone would write "2", not "2.0")
    path = tmp_path / "sweep.csv"
    with tables.CsvWriter(path) as writer:
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


# --- the kernel ---------------------------------------------------------------------------------------------
def test_softplus_is_exact_to_1e15_relative_including_the_extremes():
    """The curve's softplus (max(x, 0) + log1p(e^-|x|)) and the kernel's log1p(e^zeta) on its zeta range
    [-300, 300] against 50-digit arithmetic, on random inputs and the extremes; no overflow at +-1e308."""
    import mpmath  # a dev dependency: the check must run, not skip
    from tco.solve.curve import ZETA_MAX, ZETA_MIN, _softplus_and_shares, softplus

    mpmath.mp.dps = 50
    rng = np.random.default_rng(11)
    on_range = np.r_[rng.uniform(ZETA_MIN, ZETA_MAX, 3_000), rng.normal(0, 3, 2_000), ZETA_MIN, ZETA_MAX, 0.0,
                     -0.0, 1e-300, -1e-300, 36.7, -36.7, 709.0 - 409.0]
    everywhere = np.r_[on_range, -745.0, -1e308, 1e308, 710.0, -710.0, 1e5, -1e5]

    def exact(x):
        return np.array([float(mpmath.log1p(mpmath.exp(mpmath.mpf(float(v))))) for v in x])

    for ours, x in ((softplus(everywhere), everywhere), (_softplus_and_shares(on_range)[0], on_range)):
        want = exact(x)
        assert np.all(np.isfinite(ours))
        tiny = want == 0  # e^x below the smallest double: 0 is the nearest double
        np.testing.assert_array_equal(ours[tiny], 0.0)
        np.testing.assert_allclose(ours[~tiny], want[~tiny], rtol=1e-15, atol=0)


def _random_problems(n, seed=5):
    law = tco.get_law("sardana2024")
    rng = np.random.default_rng(seed)
    loss = law.E + rng.uniform(0.05, 0.8, n)
    c = law.constraint(loss)
    # training 6 N D and inference 2 N per token for 1e9-1e16 tokens; the optimum over-trains up to ~500x N D
    terms = [(1, 1, np.full(n, 6.0)), (1, 0, 2 * 10 ** rng.uniform(9, 16, n)), (0, 1, 0.0)]
    n_c, d_c = law.chinchilla_point(loss)
    caps = [(1, 0, np.where(rng.uniform(size=n) < 0.5, np.inf, n_c * 10 ** rng.uniform(-1.2, 0, n))),
            (0, 1, d_c * 10 ** rng.uniform(0, 3, n)), (1, 1, n_c * d_c * 10 ** rng.uniform(0, 2, n)),
            (1, 1, 30.0 * n_c * d_c, ((1, 0, 1e9 * np.ones(n)),))]
    return c, terms, caps


def test_kernel_in_chunks_is_bit_identical_to_one_block(monkeypatch):
    """KERNEL_CHUNK-element chunks (here 1,000 of 5,500 elements, the last one short) give one block's figures
    bit for bit, with and without caps (bounds on N or D, product and posynomial caps): every root finder of the
    kernel freezes an element once it has converged, so no element depends on the others in its call."""
    from tco.solve import exact

    c, terms, caps = _random_problems(5_500)
    for these in ((), caps[:2], caps):
        monkeypatch.setattr(exact, "KERNEL_CHUNK", 65_536)
        whole = exact.solve_exact(c.a, c.p, c.b, c.q, terms, these)
        monkeypatch.setattr(exact, "KERNEL_CHUNK", 1_000)
        chunked = exact.solve_exact(c.a, c.p, c.b, c.q, terms, these)
        if these:
            assert 0 < np.count_nonzero(whole.feasible) < 5_500 and whole.binding.any(axis=1).all()
        for name in ("params", "tokens", "zeta", "objective", "feasible", "binding"):
            np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
        for mine, theirs in zip(chunked.interval, whole.interval):
            np.testing.assert_array_equal(mine, theirs)


def test_a_cap_without_a_limit_is_skipped_and_never_binds(monkeypatch):
    """A cap whose limit is +inf everywhere costs no cap arithmetic (cap_interval is never called for it) and
    changes nothing: the same optimum as without it, bit for bit, and it never binds."""
    from tco.solve import exact

    c, terms, _ = _random_problems(3_000)
    bare = exact.solve_exact(c.a, c.p, c.b, c.q, terms)

    def refuse(*args, **kwargs):
        raise AssertionError("cap_interval called for a cap with no limit")

    monkeypatch.setattr(exact, "cap_interval", refuse)
    capped = exact.solve_exact(c.a, c.p, c.b, c.q, terms, [(1, 0, np.inf), (0, 1, np.full(3_000, np.inf))])
    for name in ("params", "tokens", "zeta", "objective", "feasible"):
        np.testing.assert_array_equal(getattr(capped, name), getattr(bare, name), err_msg=name)
    assert capped.binding.shape == (2, 3_000) and not capped.binding.any()


def test_bench_issue15_quick_prints_name_value_unit_lines():
    """`benchmarks/bench_issue15.py --quick` (the CI smoke run) prints every figure as `name value unit`, with
    the four ratios of issue 15 among them."""
    import re

    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_issue15.py"), "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    figures = {}
    for line in lines:
        match = re.fullmatch(r"([a-z0-9_]+) (-?[0-9.]+(?:e[+-]?[0-9]+)?) ([A-Za-z/]+)", line)
        assert match, line
        figures[match[1]] = float(match[2])
    for ratio in ("ratio_cold_optimize_to_import_cvxpy", "ratio_csv_sweep_to_parquet_sweep",
                  "ratio_kernel_to_minimal_newton"):
        assert 0 < figures[ratio] < 100, ratio
    assert figures["kernel_vs_minimal_newton_zeta_difference"] < 1e-12  # the two solve the same problems
    assert figures["solve_frame_1e05_result_bytes"] > 1e5 * 8 * 30  # ~40 float columns of 100,000 rows
    # the selection keeps 6 of ~40 columns; streaming keeps one chunk: both well under the full frame's bytes
    assert figures["solve_frame_1e05_selected_columns_result_bytes"] < figures["solve_frame_1e05_result_bytes"] / 5
    assert (figures["iter_solve_frame_1e05_running_min_peak_allocated_during_call_bytes"]
            < figures["solve_frame_1e05_peak_allocated_during_call_bytes"])
