"""Honest labels (issue 15, part 2): the baseline is named for what it is, FLOPs-objective output leads with FLOPs,
every command that reports a design warns beyond ~1,000 tokens/param, and a catalog alias is named when resolved."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import tco
from tco.assemble import EXTRAPOLATION_TOKENS_PER_PARAM, extrapolation_note, hardware_notes
from tco.results import BASELINE_LABEL

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"
SARDANA = ROOT / "scenarios" / "sardana-cost-objective.yaml"
FLOPS = ROOT / "scenarios" / "sardana-flops-objective.yaml"


# --- the tokens/param warning: one function, every command --------------------------------------------------
def test_extrapolation_note_names_the_design_and_counts_only_those_beyond():
    assert extrapolation_note(EXTRAPOLATION_TOKENS_PER_PARAM) is None  # at the limit is not beyond it
    one = extrapolation_note(2253.4, "the robust design")
    assert one.startswith("the robust design trains 2,253 tokens per parameter, beyond ~1,000")
    many = extrapolation_note(np.array([10.0, 1500.0, 41096.6, np.nan]), "sweep optima")
    assert many.startswith("2 of 3 sweep optima train beyond ~1,000 tokens per parameter (up to 41,097)")
    assert extrapolation_note(np.array([2000.0]), "optima", out_of=7).startswith("1 of 7 optima")
    assert extrapolation_note(np.array([5.0, 999.0]), "optima") is None
    # one consequence that holds for every command: robust and evaluate report no savings to call optimistic
    assert one.endswith("overstates the gains of over-training: the loss reached there may be worse than the law "
                        "predicts")
    assert "savings" not in one


def test_robust_help_example_warns_about_its_tokens_per_param():
    """`tco robust --help`'s own example (sardana-cost-objective, --stderr E=0.01,A=40,B=400) lands far beyond
    1,000 tokens/param: its result must say so."""
    from tco.studies.robust import robust_design

    result = robust_design(tco.load_scenario(SARDANA), quantile=0.9, samples=60, seed=0,
                           stderr={"E": 0.01, "A": 40.0, "B": 400.0})
    assert result.robust.tokens_per_param > EXTRAPOLATION_TOKENS_PER_PARAM
    expected = f"the robust design trains {result.robust.tokens_per_param:,.0f} tokens per parameter"
    assert any(w.startswith(expected) for w in result.warnings), result.warnings


def test_evaluate_warns_for_a_design_beyond_the_limit():
    scenario = tco.load_scenario(CHAT)
    far = tco.evaluate(scenario, params=7e9, tokens=7e9 * 3000)
    near = tco.evaluate(scenario, params=7e9, tokens=7e9 * 200)
    assert any(n.startswith("the design trains 3,000 tokens per parameter") for n in far.notes), far.notes
    assert not any("tokens per parameter" in n for n in near.notes)


def test_sweep_summary_warns_with_the_count_beyond(tco_run, tmp_path):
    code, out, _ = tco_run("sweep", SARDANA, "--vary", "demand.requests=1e9,1e11,1e13", "--no-report", "--json",
                           "--out", tmp_path / "s.csv")
    assert code == 0
    import pandas as pd

    frame = pd.read_csv(tmp_path / "s.csv")
    ratio = frame["optimal_tokens"] / frame["optimal_params"]
    beyond = int((ratio > EXTRAPOLATION_TOKENS_PER_PARAM).sum())
    assert 0 < beyond < len(frame)  # the grid straddles the limit, so the count means something
    (warning,) = json.loads(out)["warnings"]
    assert warning.startswith(f"{beyond} of {len(frame)} feasible sweep optima train beyond ~1,000")
    assert f"(up to {ratio.max():,.0f})" in warning


# --- the baseline's name ---------------------------------------------------------------------------------------
def test_terminal_and_json_name_the_baseline_compute_optimal(tco_run):
    code, out, _ = tco_run("optimize", CHAT, "--no-report")
    assert code == 0
    assert "Compute-optimal (same loss)" in out and f"Savings vs {BASELINE_LABEL}:" in out
    assert "Chinchilla" not in out  # the design is the law's compute-optimal point, not Chinchilla's 70B/1.4T
    code, out, _ = tco_run("optimize", CHAT, "--no-report", "--json")
    data = json.loads(out)
    assert data["baseline_label"] == BASELINE_LABEL == "compute-optimal at the same loss"
    assert "chinchilla" in data  # the key stays for compatibility


def test_help_names_the_baseline(tco_run):
    code, out, _ = tco_run("optimize", "--help")
    assert code == 0 and "compute-optimal design at the same loss" in " ".join(out.split())


# --- FLOPs objective leads with FLOPs ---------------------------------------------------------------------------
def test_flops_objective_optimize_leads_with_flops(tco_run):
    code, out, _ = tco_run("optimize", FLOPS, "--no-report")
    assert code == 0
    result = tco.optimize(tco.load_scenario(FLOPS))
    assert result.objective == "flops"
    headline = next(line for line in out.splitlines() if "saved" in line or line.startswith("Savings"))
    assert headline.startswith(f"FLOPs saved vs {BASELINE_LABEL}: {result.savings.total_flops:.3e} FLOPs")
    assert "$" not in headline
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows.index("Total FLOPs") < rows.index("Training cost") < rows.index("Total cost")
    assert re.search(r"Shadow price of the loss target: [0-9.e+]+ FLOPs per 0.01 nats \(\$", out)


def test_usd_objective_keeps_dollars_first(tco_run):
    code, out, _ = tco_run("optimize", CHAT, "--no-report")
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows.index("Training cost") < rows.index("Total FLOPs")
    assert re.search(r"Shadow price of the loss target: \$", out)


def test_report_line_of_a_flops_scenario_shows_flops(tco_run, tmp_path):
    code, out, _ = tco_run("report", FLOPS, SARDANA, "--out", tmp_path / "c.xlsx", "--sweep", "1e9..1e16:3")
    assert code == 0
    flops_line, usd_line = (line for line in out.splitlines() if line.startswith("sardana-"))
    result = tco.optimize(tco.load_scenario(FLOPS))
    assert f"total {result.optimal.total_flops:.3e} FLOPs, saves {result.savings.flops_fraction:.1%} of FLOPs" \
        in flops_line and "$" not in flops_line
    assert "total $" in usd_line and f"vs {BASELINE_LABEL}" in usd_line


# --- a catalog alias is named when resolved ---------------------------------------------------------------------
def _with_hardware(tmp_path, name: str) -> Path:
    data = yaml.safe_load(CHAT.read_text())
    data["training"]["hardware"] = name
    path = tmp_path / "alias.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_alias_is_named_in_the_result_and_on_stderr(tco_run, tmp_path):
    path = _with_hardware(tmp_path, "H100")
    scenario = tco.load_scenario(path)
    assert hardware_notes(scenario) == ["training.hardware: 'H100' is the catalog's 'H100 SXM' (see `tco hardware`)"]
    assert hardware_notes(scenario)[0] in tco.optimize(scenario).warnings
    code, out, err = tco_run("optimize", path, "--no-report", "--json")
    assert code == 0
    assert hardware_notes(scenario)[0] in json.loads(out)["warnings"]
    assert err.strip() == f"note: {hardware_notes(scenario)[0]}"


@pytest.mark.parametrize("name", ["H100 SXM", "h100-sxm"])
def test_the_devices_own_name_gets_no_note(tmp_path, name):
    assert hardware_notes(tco.load_scenario(_with_hardware(tmp_path, name))) == []


def test_sensitivity_warns_for_tornado_designs_beyond_the_limit(tco_run, tmp_path):
    data = yaml.safe_load(SARDANA.read_text())
    data["demand"]["requests"] = "3T"  # heavy demand: the optimum over-trains far past 1,000 tokens/param
    path = tmp_path / "heavy.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, _ = tco_run("sensitivity", path, "--no-report", "--json")
    assert code == 0
    doc = json.loads(out)
    ratios = [doc["base_tokens"] / doc["base_params"]]
    ratios += [r[f"tokens_{side}"] / r[f"params_{side}"] for r in doc["inputs"] for side in ("low", "high")]
    beyond = sum(r > EXTRAPOLATION_TOKENS_PER_PARAM for r in ratios)
    assert beyond > 0
    (warning,) = doc["warnings"]
    assert warning.startswith(f"{beyond} of {len(ratios)} designs of the tornado")
