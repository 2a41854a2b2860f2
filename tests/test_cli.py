"""The CLI through its real entry point (tco.cli:main), in-process."""

import json
import sys
from pathlib import Path

import openpyxl
import pytest

import tco

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"
JSON_KEYS = {"params", "tokens", "tokens_per_param", "loss", "training_flops", "inference_flops",
             "training_cost_usd", "inference_cost_usd", "total_cost_usd", "training_gpu_hours"}


def test_optimize_json_is_one_object_with_the_documented_keys(tco_run, tmp_path):
    code, out, err = tco_run("optimize", CHAT, "--json", "--out", tmp_path / "r.xlsx")
    assert code == 0
    data = json.loads(out)  # exactly one JSON document on stdout, nothing else
    assert data["objective"] == "usd"
    for point in ("optimal", "chinchilla"):
        assert JSON_KEYS <= set(data[point])
    assert {"total_cost_usd", "fraction", "total_flops"} <= set(data["savings"])
    assert isinstance(data["loss_shadow_price_usd_per_nat"], float)
    assert data["binding_constraints"] == []
    expected = tco.optimize(tco.load_scenario(CHAT))
    assert data["optimal"]["params"] == pytest.approx(expected.optimal.params, rel=1e-12)
    assert data["savings"]["fraction"] == pytest.approx(expected.savings.fraction, rel=1e-12)
    assert "report written" in err and (tmp_path / "r.xlsx").exists()


def test_optimize_objective_override(tco_run):
    code, out, _ = tco_run("optimize", ROOT / "scenarios" / "sardana-cost-objective.yaml",
                       "--json", "--objective", "flops", "--no-report")
    data = json.loads(out)
    assert code == 0 and data["objective"] == "flops"
    # the FLOPs-optimal design minimizes FLOPs, not $ (cf. the published FLOPs case)
    assert data["savings"]["total_flops"] > 0


def test_optimize_binding_constraints_in_json(tco_run):
    code, out, _ = tco_run("optimize", ROOT / "scenarios" / "capped-deadline-and-data.yaml",
                       "--json", "--no-report")
    assert code == 0
    assert json.loads(out)["binding_constraints"] == ["constraints.max_tokens"]


def test_optimize_writes_the_default_report_path(tco_run, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = tco_run("optimize", CHAT)
    assert code == 0
    assert "Savings vs compute-optimal at the same loss" in out
    assert "Shadow price" in out and "Binding constraints" in out
    path = tmp_path / "reports" / "chat-assistant-70b-quality.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Inputs", "Costs", "Sizing", "Demand sweep", "Charts", "Hardware", "Law"]


def test_no_report_writes_nothing(tco_run, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, _ = tco_run("optimize", CHAT, "--no-report")
    assert code == 0 and not (tmp_path / "reports").exists()


def test_loss_command(tco_run):
    code, out, _ = tco_run("loss", "--law", "sardana2024", "--params", "70B", "--tokens", "1T",
                       "--json")
    assert code == 0
    assert json.loads(out)["loss"] == pytest.approx(1.94727, rel=1e-5)


def test_allocate_range_with_rule_of_thumb(tco_run):
    code, out, _ = tco_run("allocate", "--law", "hoffmann2022", "--flops", "1e21..1e24", "--json")
    assert code == 0
    rows = json.loads(out)["allocations"]
    assert [r["flops"] for r in rows] == pytest.approx([1e21, 1e22, 1e23, 1e24])
    assert rows[0]["params"] == pytest.approx(1.824218e9, rel=1e-6)
    assert rows[-1]["tokens"] == pytest.approx(4.035835e12, rel=1e-6)
    for r in rows:
        assert r["pf_days"] == pytest.approx(r["flops"] / 8.64e19)
        assert r["rule_of_thumb_tokens"] == pytest.approx(20 * r["rule_of_thumb_params"])
        assert 6 * r["rule_of_thumb_params"] * r["rule_of_thumb_tokens"] == pytest.approx(r["flops"])
        assert r["loss"] <= r["rule_of_thumb_loss"]  # the law's own optimum is never worse under that law
    code, out, _ = tco_run("allocate", "--flops", "1e20..1e24:9")
    assert code == 0 and "PF-days" in out


def test_laws_and_hardware_list_sources(tco_run):
    code, out, _ = tco_run("laws", "--json")
    names = {law["name"]: law for law in json.loads(out)}
    assert set(names) == {"hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023", "kaplan2020",
                          "ludziejewski2025"}
    assert all(law["source"] for law in names.values())
    code, out, _ = tco_run("hardware", "--json")
    devices = json.loads(out)
    assert {"H100 SXM", "A100 40GB", "MI300X"} <= {d["name"] for d in devices}
    code, out, _ = tco_run("hardware")
    assert code == 0 and "Sources" in out and "Sardana" in out


def test_help_teaches(tco_run):
    code, out, _ = tco_run("--help")
    assert code == 0 and "optimize" in out and "Chinchilla" in out
    code, out, _ = tco_run("optimize", "--help")
    assert code == 0 and "--no-report" in out and "Example" in out


def test_module_entry_point(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "tco", "loss", "--params", "70B", "--tokens", "1.4T"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "hoffmann2022" in proc.stdout


def test_report_command_compares_scenarios(tco_run, tmp_path):
    out = tmp_path / "cmp.xlsx"
    code, stdout, _ = tco_run("report", ROOT / "scenarios" / "sardana-cost-objective.yaml",
                          ROOT / "scenarios" / "capped-deadline-and-data.yaml", "--out", out, "--sweep", "1e10..1e14:5")
    assert code == 0 and "report written" in stdout
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Comparison"
    assert wb["S1 Demand sweep"].max_row == 6  # header + 5 points


def test_optimize_sweep_range_option(tco_run, tmp_path):
    out = tmp_path / "r.xlsx"
    code, _, _ = tco_run("optimize", CHAT, "--out", out, "--sweep", "1e9..1e15:61")
    assert code == 0
    ws = openpyxl.load_workbook(out)["Demand sweep"]
    assert ws.max_row == 62
    assert ws.cell(62, 1).value == pytest.approx(1e15)
    code, _, err = tco_run("optimize", CHAT, "--out", out, "--sweep", "1e9..1e15:1")
    assert code == 2 and "--sweep" in err


@pytest.mark.parametrize("args, message", [
    (["optimize", CHAT, "--objective", "bogus"], "Invalid value for '--objective'"),
    (["optimize"], "Missing argument"),
    (["optimize", CHAT, "--bogus"], "No such option: --bogus"),
    (["nosuchcommand"], "No such command"),
])
def test_usage_errors_are_one_line_with_exit_2(tco_run, args, message):
    code, out, err = tco_run(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
