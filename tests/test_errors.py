"""Every mistake a user can make ends as ONE line on stderr starting with `error:` and exit status 2.

The CLI runs in-process (`tco.cli.main()` with a patched `sys.argv`), except for one subprocess smoke test.
Bad scenarios are built by mutating the valid example `scenarios/sardana-cost-objective.yaml`.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

import tco
import tco.cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "sardana-cost-objective.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --- helpers ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_scenario() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def scenario(base_scenario) -> dict:
    """A fresh, mutable copy of the valid example scenario."""
    return copy.deepcopy(base_scenario)


@pytest.fixture
def write_yaml(tmp_path):
    """write_yaml(data_or_text, name=...) -> Path: a dict is dumped as YAML, a str is written verbatim."""

    def write(content, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _emulate_python_warning_filters() -> None:
    """The filters a plain `python`/`tco` process starts with, so warnings reach stderr as they would there."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


@pytest.fixture
def run_cli(monkeypatch, capsys, tmp_path):
    """run_cli(*args) -> (exit_code, stdout, stderr), running `tco.cli.main()` in-process.

    Runs in tmp_path (so a stray report cannot land in the repository). Warnings are shown on stderr as a real
    process would show them, so a warning leaking out of a failing run counts as extra stderr output.
    """
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["tco", *map(str, args)])
        capsys.readouterr()  # drop anything printed before
        shown: list[str] = []
        code = 0
        with warnings.catch_warnings(record=True) as caught:
            _emulate_python_warning_filters()
            try:
                tco.cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        for w in caught:
            shown.append(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
        out, err = capsys.readouterr()
        return code, ANSI.sub("", out), ANSI.sub("", err) + "".join(shown)

    return run


def assert_one_line_error(code: int, out: str, err: str) -> str:
    """The contract of every user error: exit 2, nothing on stdout, one `error: ...` line on stderr."""
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert out == "", f"stdout should be empty, got {out!r}"
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("error:"), line
    assert line.removeprefix("error:").strip(), "empty error message"
    return line


@pytest.fixture
def optimize_error(run_cli, write_yaml):
    """optimize_error(data_or_text) -> (message line, path): `tco optimize --no-report FILE` must fail cleanly."""

    def run(content, name: str = "scenario.yaml") -> tuple[str, Path]:
        path = write_yaml(content, name)
        line = assert_one_line_error(*run_cli("optimize", "--no-report", str(path)))
        assert str(path) in line, f"the message should name the file {path}: {line}"
        return line, path

    return run


def test_the_example_is_valid(scenario):
    """Guard: the mutations below start from a scenario that loads."""
    assert tco.scenario_from_dict(scenario).target_loss == pytest.approx(1.947)


# --- 1. loss target at or below the irreducible loss ------------------------------------------------------
@pytest.mark.parametrize("loss", [1.5, 1.69], ids=["below-E", "equal-to-E"])
def test_loss_target_at_or_below_irreducible_loss(optimize_error, scenario, loss):
    scenario["target"]["loss"] = loss
    line, _ = optimize_error(scenario)
    assert "target.loss" in line
    assert "1.69" in line  # E of sardana2024
    assert "irreducible" in line
    assert "sardana2024" in line


# --- 2. prices --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "phase, price, shown",
    [("training", 0, "got 0"), ("serving", -1, "got -1")],
    ids=["zero-training-price", "negative-serving-price"],
)
def test_non_positive_price(optimize_error, scenario, phase, price, shown):
    scenario[phase]["price_usd_per_hour"] = price
    line, _ = optimize_error(scenario)
    assert f"{phase}.price_usd_per_hour" in line
    assert "positive" in line
    assert shown in line


# --- 3. MFU -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "phase, field, value",
    [("training", "mfu", 1.5), ("serving", "decode_mfu", 0)],
    ids=["training-mfu-above-1", "decode-mfu-zero"],
)
def test_mfu_outside_unit_interval(optimize_error, scenario, phase, field, value):
    scenario[phase][field] = value
    line, _ = optimize_error(scenario)
    assert f"{phase}.{field}" in line
    assert "(0, 1]" in line
    assert f"got {value:g}" in line


# --- 4. unknown hardware ----------------------------------------------------------------------------------
def test_unknown_hardware_lists_the_catalog(optimize_error, scenario):
    scenario["training"]["hardware"] = "H900"
    line, _ = optimize_error(scenario)
    assert "training.hardware" in line
    assert "'H900'" in line
    for name in ("H100 SXM", "A100 80GB", "MI300X"):
        assert name in line


# --- 5. unknown law ---------------------------------------------------------------------------------------
def test_unknown_law_lists_the_presets(optimize_error, scenario):
    scenario["law"] = "chinchilla3000"
    line, _ = optimize_error(scenario)
    assert re.search(r": law: ", line), line
    assert "'chinchilla3000'" in line
    for name in tco.PRESETS:
        assert name in line
    assert "sardana2024" in line


# --- 6. unknown keys --------------------------------------------------------------------------------------
def test_unknown_nested_key_suggests_the_right_one(optimize_error, scenario):
    scenario["constraints"] = {"max_param": "10B"}
    line, _ = optimize_error(scenario)
    assert "constraints.max_param:" in line
    assert "unknown key 'max_param'" in line
    assert "did you mean 'max_params'" in line


def test_unknown_top_level_key_suggests_the_right_one(optimize_error, scenario):
    scenario["targett"] = {"loss": 1.9}  # an extra, misspelt key next to the real one
    line, _ = optimize_error(scenario)
    assert re.search(r": targett: ", line), line
    assert "unknown key 'targett'" in line
    assert "did you mean 'target'" in line


def test_misspelt_required_key_reports_the_typo_not_just_the_missing_field(optimize_error, scenario):
    """The realistic typo: `target` renamed to `targett`. 'target: missing required field' alone hides the
    cause; the message must point at the misspelt key and suggest the right one."""
    scenario["targett"] = scenario.pop("target")
    line, _ = optimize_error(scenario)
    assert "unknown key 'targett'" in line
    assert "did you mean 'target'" in line


# --- 7. malformed YAML ------------------------------------------------------------------------------------
def test_malformed_yaml_gives_a_line_number(optimize_error):
    line, _ = optimize_error("name: broken\nlaw: sardana2024\ntarget: {loss: 1.9\ntraining:\n  mfu: 0.5\n")
    assert "malformed YAML" in line
    assert re.search(r"\bline \d+", line), line


# --- 8. object-constructing YAML tags ---------------------------------------------------------------------
def test_python_object_tag_is_refused_and_not_executed(optimize_error, tmp_path):
    marker = tmp_path / "PWNED"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "name: sardana-cost-objective", f'name: !!python/object/apply:os.system ["touch {marker}"]'
    )
    assert "!!python/object/apply" in text
    line, _ = optimize_error(text)
    assert "python/object/apply:os.system" in line
    assert "not allowed" in line
    assert not marker.exists(), "the YAML tag was executed"


# --- 9. missing file --------------------------------------------------------------------------------------
def test_missing_file(run_cli, tmp_path):
    path = tmp_path / "no-such-scenario.yaml"
    line = assert_one_line_error(*run_cli("optimize", "--no-report", str(path)))
    assert str(path) in line
    assert "not found" in line


# --- 10. unparseable numbers ------------------------------------------------------------------------------
def test_unparseable_count(optimize_error, scenario):
    scenario["demand"]["requests"] = "7Q"
    line, _ = optimize_error(scenario)
    assert "demand.requests" in line
    assert "7Q" in line


# --- 11. dtype the device does not have -------------------------------------------------------------------
def test_unsupported_dtype_lists_the_supported_ones(optimize_error, scenario):
    scenario["training"]["dtype"] = "fp8"
    line, _ = optimize_error(scenario)
    assert "training.dtype" in line
    assert "'fp8'" in line
    assert "A100 80GB" in line
    supported = sorted(tco.get_device("A100 80GB").peak_flops)
    assert "fp8" not in supported
    for dtype in supported:
        assert dtype in line


# --- 12. infeasible constraints ---------------------------------------------------------------------------
INFEASIBLE = [
    pytest.param({"max_params": "5B", "max_tokens": "1T"},
                 ("constraints.max_params", "constraints.max_tokens"), id="params-and-tokens"),
    pytest.param({"max_params": "1B"}, ("constraints.max_params",), id="params-alone"),
    pytest.param({"training_deadline": {"gpus": 8, "days": 1}}, ("constraints.training_deadline",),
                 id="deadline"),
]
ALL_CAPS = ("constraints.max_params", "constraints.max_tokens", "constraints.training_deadline")


@pytest.mark.parametrize("constraints, conflicting", INFEASIBLE)
def test_infeasible_constraints_are_named(run_cli, write_yaml, scenario, constraints, conflicting):
    assert scenario["target"]["loss"] == 1.947 and scenario["law"] == "sardana2024"
    scenario["constraints"] = constraints
    path = write_yaml(scenario)
    line = assert_one_line_error(*run_cli("optimize", "--no-report", str(path)))
    assert "infeasible" in line
    assert "1.947" in line
    for name in ALL_CAPS:
        assert (name in line) == (name in conflicting), f"{name}: {line}"
    # Checked last so that a failure here does not hide the checks above.
    assert str(path) in line, f"the message should name the file {path}: {line}"


@pytest.mark.parametrize("constraints, conflicting", INFEASIBLE)
def test_api_raises_infeasible_error_with_the_names(scenario, constraints, conflicting):
    scenario["constraints"] = constraints
    loaded = tco.scenario_from_dict(scenario)  # valid on its own: the conflict is found by the optimizer
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy noise (inf * 0) must not escape the feasibility check
        with pytest.raises(tco.InfeasibleError) as info:
            tco.optimize(loaded)
    assert info.value.constraints == conflicting
    assert isinstance(info.value, tco.TcoError)


# --- 13. duplicate keys -----------------------------------------------------------------------------------
def test_duplicate_key(optimize_error):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "  price_usd_per_hour: 1.40\n", "  price_usd_per_hour: 1.40\n  price_usd_per_hour: 2.10\n"
    )
    assert text.count("price_usd_per_hour") == 3
    line, _ = optimize_error(text)
    assert "duplicate key" in line
    assert "price_usd_per_hour" in line
    assert re.search(r"\bline \d+", line), line


# --- 14. top level is not a mapping -----------------------------------------------------------------------
@pytest.mark.parametrize("text, kind", [("", "empty"), ("- law: sardana2024\n- target: {loss: 1.9}\n", "list")],
                         ids=["empty-file", "top-level-list"])
def test_top_level_must_be_a_mapping(optimize_error, text, kind):
    line, _ = optimize_error(text)
    assert "top level must be a mapping" in line
    assert kind in line


# --- 15. bad CLI numbers ----------------------------------------------------------------------------------
def test_loss_command_bad_params(run_cli):
    line = assert_one_line_error(*run_cli("loss", "--params", "7Q", "--tokens", "1T"))
    assert "--params" in line
    assert "7Q" in line


@pytest.mark.parametrize(
    "args, option",
    [
        (("loss", "--params", "0", "--tokens", "1T"), "--params"),
        (("allocate", "--flops", "7Q"), "--flops"),
        (("allocate", "--flops", "1e24..1e20"), "--flops"),
    ],
    ids=["loss-zero-params", "allocate-bad-number", "allocate-reversed-range"],
)
def test_other_bad_cli_options(run_cli, args, option):
    """Every `_fail(...)` path of the CLI, not only `loss --params`, must exit 2."""
    line = assert_one_line_error(*run_cli(*args))
    assert option in line


def test_unknown_law_option(run_cli):
    line = assert_one_line_error(*run_cli("loss", "--law", "nope", "--params", "1B", "--tokens", "1T"))
    assert "'nope'" in line
    assert "sardana2024" in line


# --- 16. --debug ------------------------------------------------------------------------------------------
def test_debug_lets_the_error_propagate(monkeypatch, write_yaml, scenario, tmp_path):
    monkeypatch.chdir(tmp_path)
    scenario["training"]["mfu"] = 1.5
    path = write_yaml(scenario)
    monkeypatch.setattr(sys, "argv", ["tco", "--debug", "optimize", "--no-report", str(path)])
    with pytest.raises(tco.ScenarioError, match=r"training\.mfu"):
        tco.cli.main()


# --- Python API -------------------------------------------------------------------------------------------
def test_load_scenario_raises_scenario_error_with_field_path(write_yaml, scenario):
    scenario["serving"]["decode_mfu"] = 0
    path = write_yaml(scenario)
    with pytest.raises(tco.ScenarioError) as info:
        tco.load_scenario(path)
    assert "serving.decode_mfu" in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.path == ("serving", "decode_mfu")
    assert info.value.source == str(path)


def test_scenario_from_dict_raises_scenario_error_with_field_path(scenario):
    scenario["target"]["loss"] = 1.5
    with pytest.raises(tco.ScenarioError) as info:
        tco.scenario_from_dict(scenario)
    assert "target.loss" in str(info.value)
    assert info.value.path == ("target", "loss")


# --- the message is printed verbatim (user text is not rich markup) ---------------------------------------
@pytest.mark.parametrize("name", ["[bold]H900", "H900[/x]"], ids=["opening-tag", "unmatched-closing-tag"])
def test_user_text_in_messages_is_not_interpreted_as_markup(optimize_error, scenario, name):
    scenario["training"]["hardware"] = name
    line, _ = optimize_error(scenario)
    assert f"unknown hardware {name!r}" in line


# --- smoke: the installed entry point, in a real process ---------------------------------------------------
def test_smoke_real_process(write_yaml, scenario, tmp_path):
    scenario["constraints"] = {"max_params": "1B"}
    path = write_yaml(scenario)
    script = Path(sys.executable).with_name("tco")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tco"]
    proc = subprocess.run([*command, "optimize", "--no-report", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    line = assert_one_line_error(proc.returncode, proc.stdout, ANSI.sub("", proc.stderr))
    assert "constraints.max_params" in line
