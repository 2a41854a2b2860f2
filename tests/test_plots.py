"""`--plot PATH` on optimize, sweep and montecarlo: real PNG and SVG files whose plotted values are the study's
numbers (the optimum's marker at the Result's N and cost, bars equal to the breakdown by registered term, sweep
series equal to the table, Monte Carlo quantiles equal to the summary), one-line errors for bad paths, and no
matplotlib on the plain optimize path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tco
from tco.model.build import build_model
from tco.model.costs import registered
from tco.report.plots import MAX_SWEEP_SERIES, montecarlo_figure, optimize_figure, sweep_figure, sweep_rows
from tco.studies.isoloss import iso_loss_curve
from tco.studies.montecarlo import monte_carlo
from tco.units import format_usd

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
COST = SCENARIOS / "sardana-cost-objective.yaml"
CAPPED = SCENARIOS / "capped-deadline-and-data.yaml"
FLOPS = SCENARIOS / "sardana-flops-objective.yaml"
UNCERTAIN = SCENARIOS / "uncertain-demand-and-law.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _marker(fig, gid: str) -> tuple[float, float]:
    ax = fig.axes[0]
    (line,) = [line for line in ax.lines if line.get_gid() == gid]
    (x,), (y,) = line.get_xdata(), line.get_ydata()
    return float(x), float(y)


@pytest.mark.parametrize("path, key", [(COST, "total_cost_usd"), (CAPPED, "total_cost_usd"), (FLOPS, "total_flops")])
def test_the_markers_sit_at_the_results_designs_and_the_curve_passes_through_them(path, key):
    scenario = tco.load_scenario(path)
    result = tco.optimize(scenario)
    curve = iso_loss_curve(scenario, result)
    fig = optimize_figure(result, curve)
    for gid, point in (("optimum", result.optimal), ("compute-optimal", result.chinchilla)):
        assert _marker(fig, gid) == (point.params, point.figures[key])
        # the curve is priced independently of the Result (Model.figures along the solver's curve)
        at = int(np.argmin(np.abs(np.log(curve.params / point.params))))
        assert curve.params[at] == pytest.approx(point.params, rel=1e-12)
        assert curve.tokens[at] == pytest.approx(point.tokens, rel=1e-9)
        assert curve.objective[at] == pytest.approx(point.figures[key], rel=1e-9)
    # every design on the curve reaches the loss target, and no feasible one is cheaper than the optimum
    model = build_model(scenario, result.objective)
    np.testing.assert_allclose(model.loss_of(curve.params, curve.tokens), result.target_loss, rtol=1e-9)
    assert curve.objective[curve.feasible].min() >= result.optimal.figures[key] * (1 - 1e-9)
    assert curve.params.min() < result.optimal.params / 5 and curve.params.max() > result.chinchilla.params * 5


def test_the_capped_scenario_marks_where_the_curve_violates_a_cap():
    scenario = tco.load_scenario(CAPPED)
    result = tco.optimize(scenario)
    assert result.binding_constraints  # the point of this case: the optimum is not the curve's own minimum
    curve = iso_loss_curve(scenario, result)
    assert curve.objective.min() < result.optimal.total_cost_usd * (1 - 1e-3)
    assert not curve.feasible[np.argmin(curve.objective)]
    labels = [line.get_label() for line in optimize_figure(result, curve).axes[0].lines]
    assert "total (violates a cap)" in labels


def test_the_breakdown_bars_iterate_the_registry_and_equal_each_terms_dollars():
    from tests.test_cost_registry import CheckpointStorage

    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    with registered(CheckpointStorage):
        result = tco.optimize(scenario)
        curve = iso_loss_curve(scenario, result)
    assert "checkpoint_storage" in curve.breakdown_usd
    bars = optimize_figure(result, curve).axes[1]
    drawn = {c.patches[0].get_gid().removeprefix("term:"): [p.get_height() for p in c.patches] for c in bars.containers}
    expected = {name: [result.optimal.breakdown[name], result.chinchilla.breakdown[name]]
                for name in result.optimal.breakdown if result.optimal.breakdown[name] > 0}
    assert set(expected) == set(drawn) and "checkpoint_storage" in drawn
    for name, heights in expected.items():
        assert drawn[name] == pytest.approx(heights, rel=1e-12)
    tops = [sum(h[i] for h in drawn.values()) for i in range(2)]
    assert tops == pytest.approx([result.optimal.total_cost_usd, result.chinchilla.total_cost_usd], rel=1e-12)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".PNG"])
def test_optimize_writes_a_real_figure(tco_run, tmp_path, suffix):
    out = tmp_path / f"curve{suffix}"
    code, stdout, stderr = tco_run("optimize", COST, "--no-report", "--plot", out)
    assert code == 0, stderr
    assert "plot written to" in stdout
    data = out.read_bytes()
    assert len(data) > 20_000
    if suffix.lower() == ".png":
        assert data.startswith(PNG_MAGIC)
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width > 1000 and height > 400
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        text = "".join(root.itertext())
        result = tco.optimize(tco.load_scenario(COST))
        assert "optimum" in text and "compute-optimal at the same loss" in text
        assert format_usd(result.optimal.total_cost_usd) in text  # the label is the Result's cost
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_optimize_json_and_plot_keep_stdout_json(tco_run, tmp_path):
    code, stdout, stderr = tco_run("optimize", COST, "--no-report", "--json", "--plot", tmp_path / "c.png")
    assert code == 0, stderr
    assert json.loads(stdout)["optimal"]["params"] > 0 and "plot written to" in stderr


BAD_PLOTS = [("c.pdf", "use a .png or .svg file name (got '.pdf')"), ("c", "it has no suffix"),
             ("file.txt/c.png", "is not a folder")]


@pytest.mark.parametrize("name, message", BAD_PLOTS)
@pytest.mark.parametrize("command", [
    ("optimize", COST, "--no-report"),
    ("sweep", COST, "--vary", "demand.requests=1e9..1e11:3", "--no-report"),
    ("montecarlo", UNCERTAIN, "--samples", "100", "--no-report"),
])
def test_a_bad_plot_path_is_one_line_and_exit_2_before_any_work(tco_run, tmp_path, command, name, message):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    code, stdout, stderr = tco_run(*command, "--out", tmp_path / "t.csv", "--plot", tmp_path / name) \
        if command[0] == "sweep" else tco_run(*command, "--plot", tmp_path / name)
    assert code == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and message in stderr
    assert sorted(tmp_path.rglob("*")) == before  # refused before the sweep or the samples ran


def test_plain_optimize_never_imports_matplotlib_and_plot_does(tmp_path):
    probe = ("import sys\nfrom tco import cli\nsys.argv = ['tco', 'optimize', {scenario!r}, '--no-report'{extra}]\n"
             "try:\n    cli.main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print('MPL', any(m == 'matplotlib' or m.startswith('matplotlib.') for m in sys.modules))\n")
    env = {**os.environ, "MPLBACKEND": ""}
    env.pop("MPLBACKEND")
    found = {}
    for name, extra in (("plain", ""), ("plot", f", '--plot', {str(tmp_path / 'c.png')!r}")):
        run = subprocess.run([sys.executable, "-c", probe.format(scenario=str(COST), extra=extra)], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        found[name] = run.stdout.strip().splitlines()[-1]
    assert found == {"plain": "MPL False", "plot": "MPL True"}


def test_sweep_plot_draws_one_distinct_series_per_value_of_the_second_axis(tco_run, tmp_path):
    table, out = tmp_path / "s.csv", tmp_path / "s.svg"
    code, stdout, stderr = tco_run("sweep", COST, "--vary", "demand.requests=1e9..1e12:6",
                                   "--vary", "training.price_usd_per_hour=1,2,4", "--out", table, "--no-report",
                                   "--plot", out, "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["plot"] == str(out)
    ET.fromstring(out.read_bytes())
    frame = pd.read_csv(table)
    axes = {"demand.requests": np.unique(frame["demand.requests"]),
            "training.price_usd_per_hour": np.unique(frame["training.price_usd_per_hour"])}
    fig = sweep_figure(frame, axes, "t")
    for panel, column, scale in ((fig.axes[0], "optimal_params", 1.0), (fig.axes[1], "savings_fraction", 100.0)):
        lines = [line for line in panel.lines if (line.get_gid() or "").startswith("series:")]
        assert len(lines) == 3
        assert len({(line.get_marker(), line.get_linestyle(), line.get_color()) for line in lines}) == 3
        for line, price in zip(lines, (1, 2, 4)):
            rows = frame[frame["training.price_usd_per_hour"] == price].sort_values("demand.requests")
            np.testing.assert_array_equal(line.get_xdata(), rows["demand.requests"])
            np.testing.assert_allclose(line.get_ydata(), scale * rows[column], rtol=1e-12)
            assert line.get_label() == f"price_usd_per_hour = {price}"


def test_sweep_plot_caps_the_series_and_says_so():
    values = np.arange(1, 13, dtype=float)
    frame = pd.DataFrame([{"x": x, "y": y, "optimal_params": x * y * 1e9, "savings_fraction": 0.1, "feasible": True}
                          for x in (1.0, 2.0) for y in values])
    axes = {"x": np.array([1.0, 2.0]), "y": values}
    fig = sweep_figure(frame, axes, "t")
    lines = [line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("series:")]
    assert len(lines) == MAX_SWEEP_SERIES
    assert fig.legends[0].get_title().get_text() == f"{MAX_SWEEP_SERIES} of 12 series shown"
    assert lines[0].get_label() == "y = 1" and lines[-1].get_label() == "y = 12"  # both ends are shown
    # what the CLI keeps of each streamed chunk draws the same figure from 16 of the 24 rows
    kept = pd.concat([sweep_rows(frame.iloc[:10], axes), sweep_rows(frame.iloc[10:], axes)])
    assert len(kept) == 2 * MAX_SWEEP_SERIES
    again = [line for line in sweep_figure(kept, axes, "t").axes[0].lines if line.get_gid().startswith("series:")]
    assert [(list(a.get_xdata()), list(a.get_ydata()), a.get_label()) for a in again] == \
        [(list(b.get_xdata()), list(b.get_ydata()), b.get_label()) for b in lines]


@pytest.fixture(scope="module")
def mc():
    return monte_carlo(tco.load_scenario(UNCERTAIN), samples=2000, seed=3, keep_draws=True, progress=False)


def test_montecarlo_figure_marks_the_summarys_median_and_p10_p90(mc):
    fig = montecarlo_figure(mc, "t")
    summary = mc.summary.set_index("output")
    for ax, output, scale in ((fig.axes[0], "optimal_params", 1.0), (fig.axes[1], "savings_fraction", 100.0)):
        marks = {line.get_gid(): float(line.get_xdata()[0]) for line in ax.lines}
        for gid in ("p10", "p50", "p90"):
            if gid in summary.columns:
                assert marks[gid] == pytest.approx(scale * summary.loc[output, gid], rel=1e-12)
        assert marks["p10"] < marks["p50"] < marks["p90"]
        counts = sum(p.get_height() for p in ax.patches)
        assert counts == np.isfinite(mc.draws[output]).sum()  # every solved sample is in the histogram


def test_montecarlo_cli_writes_the_plot(tco_run, tmp_path):
    out = tmp_path / "mc.png"
    code, stdout, stderr = tco_run("montecarlo", UNCERTAIN, "--samples", "300", "--no-report", "--plot", out)
    assert code == 0, stderr
    assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 20_000
    assert "plot written to" in stdout


def test_montecarlo_figure_needs_the_draws(mc):
    import dataclasses

    with pytest.raises(ValueError, match="keep_draws=True"):
        montecarlo_figure(dataclasses.replace(mc, draws=None))


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenarios_curve_reaches_the_target_and_passes_through_both_designs(path):
    scenario = tco.load_scenario(path)
    result = tco.optimize(scenario)
    curve = iso_loss_curve(scenario, result, points=60)
    from tco.choice import chosen_scenario

    model = build_model(chosen_scenario(scenario, result), result.objective)
    np.testing.assert_allclose(model.loss_of(curve.params, curve.tokens), result.target_loss, rtol=1e-9)
    key = "total_cost_usd" if result.objective == "usd" else "total_flops"
    for point in (result.optimal, result.chinchilla):
        at = int(np.argmin(np.abs(np.log(curve.params / point.params))))
        assert curve.objective[at] == pytest.approx(point.figures[key], rel=1e-9)
    assert curve.objective[curve.feasible].min() >= result.optimal.figures[key] * (1 - 1e-9)
    assert np.all(np.diff(curve.params) > 0) and np.all(np.diff(curve.tokens) < 0)  # more N needs less D
