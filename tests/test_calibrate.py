"""Issue 13: `tco calibrate MEASUREMENTS` fits serving.roofline.calibration to measured step times, prints every
row's residual and writes a calibration file that scenarios reference like law files."""

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
    assert tco.load_scenario(scenario_path).serving.roofline.calibration == fitted


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
