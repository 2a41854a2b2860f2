"""Issue 13: `tco calibrate MEASUREMENTS` fits serving.roofline.calibration to measured step times, prints every
row's residual and writes a calibration file that scenarios reference like law files."""

import re
from pathlib import Path

import pytest
import yaml

import tco
from tco.scenario.roofline import ServingCalibration
from tco.studies.calibration import predict
from tco.studies.measurements import read_measurements

DATA = Path(__file__).resolve().parent / "data" / "serving_measurements.csv"
ROOFLINE = Path(__file__).resolve().parents[1] / "scenarios" / "roofline-long-context-assistant.yaml"


def test_calibrate_writes_a_file_a_scenario_references(tco_run, tmp_path):
    out = tmp_path / "cal.yaml"
    code, stdout, err = tco_run("calibrate", DATA, "--out", out)
    assert code == 0, err
    assert "Llama-2-70B H100 SXM tp4" in stdout and "calibration written to" in stdout
    doc = yaml.safe_load(out.read_text())
    fitted = ServingCalibration(**doc["calibration"])
    rows = read_measurements(DATA)
    assert doc["fit"]["rows"] == len(rows) and len(doc["fit"]["residuals"]) == len(rows)
    assert fitted.overhead_per_layer_us == pytest.approx(ServingCalibration().overhead_per_layer_us, rel=0.03)
    # the residual table is the fitted model's prediction of each row
    first = doc["fit"]["residuals"][0]
    assert first["predicted_tpot_ms"] == pytest.approx(predict(rows[0], fitted.model_dump()).predicted_tpot_ms)
    # a scenario next to the file references it by a relative path
    data = yaml.safe_load(ROOFLINE.read_text())
    data["serving"]["roofline"]["calibration"] = "cal.yaml"
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text(yaml.safe_dump(data))
    loaded = tco.load_scenario(scenario_path)
    assert loaded.serving.roofline.calibration == fitted.model_copy(update={"source_file": str(tmp_path / "cal.yaml")})
    # and an output may not overwrite it: the scenario's files are inputs of every command that reads it
    code, _, err = tco_run("optimize", scenario_path, "--out", tmp_path / "cal.yaml")
    assert code == 2 and "is the input file" in err and "cal.yaml" in err
    assert (tmp_path / "cal.yaml").read_text().startswith("# Serving calibration")


def test_calibrate_json(tco_run, tmp_path):
    import json

    code, stdout, err = tco_run("calibrate", DATA, "--out", tmp_path / "c.yaml", "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert set(data) == {"calibration", "fit", "written"}


@pytest.mark.parametrize("content, message", [
    ("calibration: {overhead_per_layer_us: -3}\n", "serving.roofline.calibration.overhead_per_layer_us"),
    ("overhead_per_layer_us: 3\n", "needs a top-level `calibration:` mapping"),
    (None, "file not found"),
])
def test_a_bad_calibration_file_is_one_line(tco_run, tmp_path, content, message):
    if content is not None:
        (tmp_path / "cal.yaml").write_text(content)
    data = yaml.safe_load(ROOFLINE.read_text())
    data["serving"]["roofline"]["calibration"] = "cal.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = tco_run("optimize", path, "--no-report")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err, err


@pytest.mark.parametrize("args, message", [
    (["--set", "tp"], "--set: expected COLUMN=VALUE"),
    (["--set", "nonsense=1"], "--set nonsense: not a measurement column"),
])
def test_bad_calibrate_options_are_one_line(tco_run, tmp_path, args, message):
    code, out, err = tco_run("calibrate", DATA, "--out", tmp_path / "c.yaml", *args)
    assert code == 2 and out == "" and message in err, err


@pytest.mark.parametrize("cells, message", [
    ({"hardware": "Nope"}, r"row 1, column 'hardware': unknown hardware 'Nope'"),
    ({"kv_heads": "64"}, r"row 1, column 'kv_heads': 64 KV heads exceed the 32 query heads"),
    ({"dtype": "int3"}, r"row 1, column 'dtype': .*no 'int3' peak"),
])
def test_a_row_no_scenario_can_describe_is_one_line_naming_row_and_column(tco_run, tmp_path, cells, message):
    row = {"model": "x", "params": "7e9", "layers": "32", "heads": "32", "kv_heads": "32", "head_dim": "128",
           "hardware": "H100 SXM", "dtype": "bf16", "tp": "1", "batch": "1", "prompt_tokens": "354",
           "generated_tokens": "215", "tpot_ms": "6.2", **cells}
    path = tmp_path / "m.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    code, out, err = tco_run("calibrate", path, "--out", tmp_path / "c.yaml")
    assert code == 2 and out == "" and not (tmp_path / "c.yaml").exists()
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_fields_no_row_informs_stay_exactly_at_their_defaults():
    from tco.studies.calibration import fit_calibration, informed_fields

    rows = [r for r in read_measurements(DATA) if r.tp == 1 and r.ttft_ms is None]  # the batch-60 A100 row only
    assert informed_fields(rows) == ("overhead_per_layer_us", "attention_ns_per_layer_context_token")
    fitted, default = fit_calibration(rows), ServingCalibration()
    for field in ("allreduce_latency_us", "prefill_compute_efficiency", "prefill_us_per_prompt_token"):
        assert getattr(fitted, field) == getattr(default, field)


def test_a_calibration_file_with_an_unknown_key_is_refused(tmp_path):
    (tmp_path / "cal.yaml").write_text("calibration: {overhead_per_layer_us: 30}\nbogus: 1\n")
    data = yaml.safe_load(ROOFLINE.read_text())
    data["serving"]["roofline"]["calibration"] = "cal.yaml"
    with pytest.raises(tco.ScenarioError, match=r"unknown top-level key 'bogus'"):
        tco.scenario_from_dict(data, base_dir=tmp_path)
