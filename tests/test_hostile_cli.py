"""Hostile command lines: every bad count, size, range or number gives exit 2, ONE stderr line naming the option,
nothing on stdout, never a traceback, never a silent reinterpretation; runs over the size limits are refused
before they start (within a time bound), unless --allow-large."""

import time
from pathlib import Path

import pytest
import yaml

from tco.errors import TcoError

ROOT = Path(__file__).resolve().parents[1]
CHAT = str(ROOT / "scenarios" / "chat-assistant-70b-quality.yaml")
UNCERTAIN = str(ROOT / "scenarios" / "uncertain-demand-and-law.yaml")
SARDANA = str(ROOT / "tests" / "data" / "sardana_training_runs.csv")
GRID = "--vary=demand.requests=1e9,2e9"


@pytest.fixture
def refused(tco_run, tmp_path, monkeypatch):
    """Run a command that must be refused: exit 2, one stderr line naming `option`, empty stdout, no files."""
    monkeypatch.chdir(tmp_path)

    def check(option, *args, within=None):
        start = time.perf_counter()
        code, out, err = tco_run(*args)
        elapsed = time.perf_counter() - start
        lines = err.strip().splitlines()
        assert code == 2, (code, out, err)
        assert out == "", out
        assert len(lines) == 1, err
        assert option in lines[0], lines[0]
        assert "Traceback" not in err
        if within is not None:
            assert elapsed < within, f"took {elapsed:.1f} s: it must refuse before running"
        assert not (tmp_path / "reports").exists()  # nothing written
        return lines[0]

    return check


# --- counts and sizes: zero, negative, non-integral, not a number ------------------------------------------
COUNT_CASES = [
    # (command and fixed arguments, option, bad values)
    (("montecarlo", UNCERTAIN, "--no-report"), "--samples", ["0", "-1", "-100000", "2.5", "1e5", "ten"]),
    (("montecarlo", UNCERTAIN, "--no-report"), "--seed", ["-1", "2.5", "x"]),
    (("montecarlo", UNCERTAIN, "--no-report"), "--chunk", ["0", "-1", "2.5"]),
    (("sweep", CHAT, GRID, "--no-report"), "--chunk", ["0", "-1", "-1000000", "2.5"]),
    (("robust", CHAT), "--samples", ["0", "-1", "2.5"]),
    (("robust", CHAT), "--seed", ["-1", "0.5"]),
    (("robust", CHAT), "--quantile", ["0", "-0.1", "1.5", "nan", "x"]),
    (("robust", CHAT), "--stderr", ["E=-0.01", "E=0.01,E=0.02", "E=1,5", "E", "A=12x"]),
    (("sensitivity", CHAT, "--no-report"), "--pct", ["0", "-5", "100", "250", "nan"]),
    (("fit", SARDANA, "--params-col", "Parameters", "--tokens-col", "Tokens", "--loss-col", "Smoothed Loss"),
     "--starts", ["0", "-1", "2.5"]),
    (("fit", SARDANA), "--bootstrap", ["-1", "2.5"]),
    (("fit", SARDANA), "--seed", ["-1"]),
    (("fit", SARDANA), "--budgets", ["0", "-1e21", "1e21,,1e23", "1e21,1e21", "1,5e21x"]),
    (("allocate",), "--flops", ["0", "-1e20", "1,5e20", "1e20..1e24:0", "1e20..1e24:1", "1e20..1e24:2.5",
                                "1e24..1e20", "1e20..", "1e20x"]),
    (("breakeven", CHAT), "--tokens-per-param", ["0", "-5", "100,,200", "100,100", "abc", "1.2.3"]),
    (("optimize", CHAT, "--no-report"), "--sweep", ["1e9..1e16:0", "1e9..1e16:1", "1e9..1e16:2.5", "1e16..1e9",
                                                    "1,5e9..1e16", "1e9"]),
    (("report", CHAT), "--sweep", ["1e9..1e16:1", "1e9..1e16:x"]),
    (("loss",), "--params", ["1,5B", "70Bx", "1__0B", "0"]),
    (("implied-demand", "--tokens", "1T"), "--params", ["1,5B", "70B junk"]),
    # sizes outside the ranges the scenario fields use (parameters 1e6-1e15, tokens 1e6-1e17, 6 N D for FLOPs)
    (("loss", "--tokens", "1.4T"), "--params", ["1e300", "1e16", "999999"]),
    (("loss", "--params", "70B"), "--tokens", ["1e300", "1e18", "10"]),
    (("implied-demand", "--tokens", "1T"), "--params", ["1e300", "1e16"]),
    (("implied-demand", "--params", "70B"), "--tokens", ["1e300", "100"]),
    (("allocate",), "--flops", ["1e300", "1e33", "1e10", "1e20..1e40:3", "1..1e24:3"]),
]


@pytest.mark.parametrize("command, option, value", [
    pytest.param(command, option, value, id=f"{command[0]}{option}={value}")
    for command, option, values in COUNT_CASES for value in values
])
def test_bad_counts_and_sizes_are_one_line_naming_the_option(refused, command, option, value):
    extra = ("--tokens", "1T") if command[0] == "loss" else ()
    refused(option, *command, *extra, f"{option}={value}", within=30)


@pytest.mark.parametrize("spec", [
    "demand.requests=1e9:1e10:log:0", "demand.requests=1e9:1e10:log:1", "demand.requests=1e9:1e10:log:2.5",
    "demand.requests=1e9:1e10:log:-3", "demand.requests=1e9:1e9:lin:3", "demand.requests=1e9:1e10:cubic:3",
    "demand.requests=-1e9:1e10:log:3", "demand.requests=1e9,,2e9", "demand.requests=1e9,1e9",
    "demand.requests=1e9,1B", "demand.requests=1,5e9:2e10:log:3", "demand.requests=70Bx",
    "demand.requests=", "=1e9",
])
def test_bad_vary_values_are_refused(refused, spec):
    refused("--vary", "sweep", CHAT, f"--vary={spec}", "--no-report")


def test_a_vary_path_given_twice_is_refused_not_dropped(refused):
    line = refused("--vary", "sweep", CHAT, "--vary=demand.requests=1e9,2e9", "--vary=demand.requests=3e9",
                   "--no-report")
    assert "demand.requests" in line and "twice" in line


# --- the size limits: refused before running, within a time bound ------------------------------------------
@pytest.mark.parametrize("args, option", [
    pytest.param(("sweep", CHAT, "--vary=demand.requests=1e8..1e12:10000",
                  "--vary=training.price_usd_per_hour=1..4:10000:lin", "--no-report"), "--vary", id="sweep-1e8"),
    pytest.param(("sweep", CHAT, "--vary=demand.requests=1e8..1e12:1000000000", "--no-report"), "--vary",
                 id="sweep-1e9-one-axis"),
    pytest.param(("sweep", CHAT, "--vary=demand.requests=1e8..1e12:1000", "--vary=target.loss=1.95..2.1:1000:lin",
                  "--report"), "--vary", id="sweep-1e6-into-a-workbook"),
    pytest.param(("montecarlo", UNCERTAIN, "--samples=1000000000", "--no-report"), "--samples", id="mc-1e9"),
    pytest.param(("montecarlo", UNCERTAIN, "--samples=2000000000", "--no-report", "--allow-large"), "--samples",
                 id="mc-over-the-hard-cap-even-allowed"),
    pytest.param(("robust", CHAT, "--samples=100000"), "--samples", id="robust-1e5"),
    pytest.param(("robust", CHAT, "--samples=5000", "--quantile=0.5"), "--samples", id="robust-5000-q0.5"),
    pytest.param(("allocate", "--flops=1e20..1e24:100000000"), "--flops", id="allocate-1e8"),
    pytest.param(("optimize", CHAT, "--sweep=1e9..1e16:10000000"), "--sweep", id="optimize-workbook-sweep-1e7"),
    pytest.param(("optimize", CHAT, "--no-report", "--sweep=1e9..1e16:10000000"), "--sweep",
                 id="optimize-sweep-checked-without-report"),
    pytest.param(("report", CHAT, CHAT, "--sweep=1e9..1e16:1000000"), "--sweep", id="report-sweeps-2e6"),
    pytest.param(("fit", SARDANA, "--params-col", "Parameters", "--tokens-col", "Tokens", "--loss-col",
                  "Smoothed Loss", "--bootstrap=10000000"), "--bootstrap", id="fit-bootstrap-1e7"),
    pytest.param(("fit", SARDANA, "--params-col", "Parameters", "--tokens-col", "Tokens", "--loss-col",
                  "Smoothed Loss", "--starts=1000000000"), "--starts", id="fit-starts-1e9"),
])
def test_runs_over_the_limits_are_refused_before_they_start(refused, args, option):
    line = refused(option, *args, within=10)
    assert "--allow-large" in line or "at most" in line


def test_allow_large_runs_what_the_limits_refuse(tco_run, monkeypatch, tmp_path):
    from tco.studies import limits

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(limits, "MAX_MEMORY_BYTES", 1.0)
    code, out, err = tco_run("allocate", "--flops=1e20..1e24:5", "--json")
    assert code == 2 and out == "" and "--allow-large" in err
    code, out, err = tco_run("allocate", "--flops=1e20..1e24:5", "--json", "--allow-large")
    assert code == 0, err
    assert len(yaml.safe_load(out)["allocations"]) == 5
    code, out, err = tco_run("sweep", CHAT, "--vary=demand.requests=1e9,2e9,3e9", "--no-report", "--json")
    assert code == 2 and out == "" and "--vary grid 3" in err
    code, out, err = tco_run("sweep", CHAT, "--vary=demand.requests=1e9,2e9,3e9", "--no-report", "--json",
                             "--allow-large")
    assert code == 0, err
    assert yaml.safe_load(out)["points"] == 3


def test_the_python_api_checks_the_same_limits():
    from tco import load_scenario
    from tco.studies.engine import chunk_ranges
    from tco.studies.grid import grid_sweep
    from tco.studies.limits import MAX_SAMPLES
    from tco.studies.montecarlo import monte_carlo
    import numpy as np

    scenario = load_scenario(UNCERTAIN)
    for bad in (0, -5, 2.5, MAX_SAMPLES + 1):
        with pytest.raises(TcoError, match="samples"):
            monte_carlo(scenario, samples=bad)
    with pytest.raises(TcoError, match="samples .* --allow-large"):
        monte_carlo(scenario, samples=MAX_SAMPLES)
    with pytest.raises(TcoError, match="chunk"):
        chunk_ranges(10, 0)
    with pytest.raises(TcoError, match="chunk"):
        grid_sweep(scenario, {"demand.requests": np.array([1e9, 2e9])}, chunk=-1)


# --- odd exits ------------------------------------------------------------------------------------------------
def test_an_unreachable_dask_scheduler_is_one_line_with_its_address(refused):
    pytest.importorskip("distributed")
    line = refused("tcp://127.0.0.1:1", "sweep", CHAT, GRID, "--no-report", "--engine=dask",
                   "--scheduler=tcp://127.0.0.1:1", within=20)
    assert "--scheduler" in line


def _ragged_law_file(tmp_path) -> Path:
    law = tmp_path / "ragged-law.yaml"
    law.write_text(yaml.safe_dump({
        "law": {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658, "name": "ragged"},
        "bootstrap": {"columns": ["E", "A", "B", "alpha", "beta"],
                      "samples": [[1.8, 480.0, 2080.0, 0.35, 0.36], [1.82, 490.0, 2090.0, 0.34]]},
    }))
    scenario = yaml.safe_load(Path(UNCERTAIN).read_text())
    scenario["law"] = "ragged-law.yaml"
    scenario["uncertainty"]["law"] = "bootstrap"
    scenario["uncertainty"]["samples"] = 1000
    path = tmp_path / "ragged.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def test_a_ragged_bootstrap_table_names_the_law_file(refused, tmp_path):
    path = _ragged_law_file(tmp_path)
    line = refused("ragged-law.yaml", "montecarlo", path, "--no-report")
    assert "bootstrap" in line
    line = refused("ragged-law.yaml", "robust", path)
    assert "bootstrap" in line


@pytest.mark.parametrize("field, value", [
    ("samples", 0), ("samples", -5), ("samples", 2.5), ("samples", 2_000_000_000), ("samples", 1_000_000_000),
    ("seed", -1),
    ("quantiles", [1.5]), ("quantiles", []), ("quantiles", [0.5, 0.5]),
])
def test_bad_uncertainty_counts_in_the_scenario_name_the_field(refused, tmp_path, field, value):
    scenario = yaml.safe_load(Path(UNCERTAIN).read_text())
    scenario["uncertainty"][field] = value
    path = tmp_path / "bad-uncertainty.yaml"
    path.write_text(yaml.safe_dump(scenario))
    refused(f"uncertainty.{field}", "montecarlo", path, "--no-report")


@pytest.mark.parametrize("text", ["1,5B", "10,5", "12,34,567", "1,0000", "10B requests", "1__0B"])
def test_ambiguous_number_text_in_a_scenario_names_the_field(refused, tmp_path, text):
    scenario = yaml.safe_load(Path(CHAT).read_text())
    scenario["demand"]["requests"] = text
    path = tmp_path / "ambiguous.yaml"
    path.write_text(yaml.safe_dump(scenario))
    line = refused("demand.requests", "optimize", path, "--no-report")
    assert repr(text) in line


def test_grid_sweep_checks_the_frame_it_holds_in_memory(monkeypatch):
    import numpy as np

    from tco import load_scenario
    from tco.studies import limits
    from tco.studies.grid import grid_sweep

    scenario = load_scenario(CHAT)
    axes = {"demand.requests": np.array([1e9, 2e9, 3e9])}
    monkeypatch.setattr(limits, "MAX_MEMORY_BYTES", 1000.0)
    with pytest.raises(TcoError, match="3 rows .* memory .* --allow-large"):
        grid_sweep(scenario, axes)
    assert len(grid_sweep(scenario, axes, allow_large=True)) == 3
