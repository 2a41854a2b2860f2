"""Hostile inputs end as ONE line on stderr naming the file and what is wrong, exit 2, quickly.

- special files (devices, FIFOs, directories, symlink loops) as a scenario argument, a `law:` path or a fit CSV;
  files over the size limit;
- YAML 1.1 traps (070, 0x10, 1:30, yes/no/on/off): the YAML 1.2 meaning or an "ambiguous number" error, never the
  1.1 number; merge keys work;
- parsing bounds: an alias bomb, deep nesting, huge values quoted in messages;
- what was refused before stays refused: duplicate keys, `!!python` tags.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

import tco
from tco.fit.data import MAX_RUNS
from tco.scenario.yaml import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "scenarios" / "sardana-cost-objective.yaml").read_text(encoding="utf-8")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(autouse=True)
def no_hang():
    """A test that blocks (a FIFO opened for reading) fails after 20 s instead of hanging the suite."""

    def stop(signum, frame):
        raise TimeoutError("blocked: the input was not refused in time")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def one_line(code: int, out: str, err: str) -> str:
    err = ANSI.sub("", err)
    assert code == 2, f"exit {code}: {err!r}"
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


def optimize(tco_run, path) -> str:
    return one_line(*tco_run("optimize", "--no-report", str(path)))


# --- special files ----------------------------------------------------------------------------------------
def _special(kind: str, tmp_path: Path) -> tuple[str, str]:
    """A path of the given kind and the words the error should use."""
    if kind == "dev-zero":
        return "/dev/zero", "character device"
    if kind == "dev-null":
        return "/dev/null", "character device"
    if kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
        return str(path), "named pipe"
    if kind == "directory":
        path = tmp_path / "folder.yaml"
        path.mkdir()
        return str(path), "directory"
    if kind == "symlink-loop":
        path = tmp_path / "loop.yaml"
        os.symlink(path, path)
        return str(path), "symbolic link loop"
    if kind == "too-big":
        path = tmp_path / "huge.yaml"
        with open(path, "wb") as handle:  # sparse: costs no disk
            handle.truncate(MAX_FILE_BYTES + 1)
        return str(path), "at most 4.0 MB"
    raise AssertionError(kind)


KINDS = ["dev-zero", "dev-null", "fifo", "directory", "symlink-loop", "too-big"]


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_scenario(tco_run, tmp_path, kind):
    path, words = _special(kind, tmp_path)
    started = time.perf_counter()
    line = optimize(tco_run, path)
    assert time.perf_counter() - started < 5
    assert path in line and words in line, line


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_scenario_python_api(tmp_path, kind):
    path, words = _special(kind, tmp_path)
    with pytest.raises(tco.ScenarioError, match=re.escape(words)):
        tco.load_scenario(path)


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_law_path(tco_run, tmp_path, kind):
    path, words = _special(kind, tmp_path)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(EXAMPLE.replace("law: sardana2024", f"law: {path}"), encoding="utf-8")
    line = optimize(tco_run, scenario)
    assert "law" in line and path in line and words in line, line


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "symlink-loop"])
def test_special_file_as_fit_csv(tco_run, tmp_path, kind):
    path, words = _special(kind, tmp_path)
    line = one_line(*tco_run("fit", path, "--out", tmp_path / "law.yaml"))
    assert path in line and words in line, line


def test_fit_csv_with_a_million_rows_is_refused_quickly(tco_run, tmp_path):
    csv = tmp_path / "runs.csv"
    rows = "\n".join(f"{1e8 + i},{2e9 + i},{3.0 + i * 1e-7}" for i in range(1_000_000))
    csv.write_text("params,tokens,loss\n" + rows + "\n", encoding="utf-8")
    started = time.perf_counter()
    line = one_line(*tco_run("fit", csv, "--out", tmp_path / "law.yaml", "--starts", 100, "--bootstrap", 0))
    assert time.perf_counter() - started < 10
    assert "runs.csv" in line and f"more than {MAX_RUNS:,} runs" in line, line
    assert not (tmp_path / "law.yaml").exists()


# --- YAML 1.1 traps ---------------------------------------------------------------------------------------
def scenario_file(tmp_path: Path, old: str, new: str, name: str = "s.yaml") -> Path:
    assert old in EXAMPLE, old
    path = tmp_path / name
    path.write_text(EXAMPLE.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("value, one_one", [("070", "56"), ("-070", "-56"), ("0x10", "16"), ("0o17", "15"),
                                            ("0b101", "5"), ("1:30", "90"), ("1:30:00", "5400")])
@pytest.mark.parametrize("field", ["  prompt_tokens_per_request: 1000", "name: sardana-cost-objective"],
                         ids=["numeric", "string"])
def test_non_decimal_numbers_are_ambiguous(tco_run, tmp_path, value, one_one, field):
    key = field.split(":")[0]
    path = scenario_file(tmp_path, field, f"{key}: {value}")
    line = optimize(tco_run, path)
    assert "ambiguous number" in line and repr(value) in line and "quote it" in line, line
    line_no = EXAMPLE.splitlines().index(field) + 1
    assert f"line {line_no}, column {len(key) + 3}" in line, line
    with pytest.raises(tco.ScenarioError, match="ambiguous number"):
        tco.load_scenario(path)


def test_leading_zero_error_suggests_the_decimal_number(tco_run, tmp_path):
    line = optimize(tco_run, scenario_file(tmp_path, "generated_tokens_per_request: 250",
                                           "generated_tokens_per_request: 0250"))
    assert "write 250" in line and "octal" in line, line


@pytest.mark.parametrize("value", ["070", "0x10", "1:30", "yes", "no", "on", "off", "2024-01-01"])
def test_quoted_or_string_values_are_the_text(tmp_path, value):
    quoted = scenario_file(tmp_path, "name: sardana-cost-objective", f"name: '{value}'")
    assert tco.load_scenario(quoted).name == value


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yes_no_on_off_are_strings(tmp_path, word):
    """YAML 1.1 made them booleans: `name: no` was False, `mfu: yes` was 1.0. In YAML 1.2 they are text."""
    named = scenario_file(tmp_path, "name: sardana-cost-objective", f"name: {word}", "named.yaml")
    assert tco.load_scenario(named).name == word
    numeric = scenario_file(tmp_path, "  mfu: 0.5", f"  mfu: {word}", "numeric.yaml")
    with pytest.raises(tco.ScenarioError, match=r"training\.mfu") as info:
        tco.load_scenario(numeric)
    assert word in str(info.value)


@pytest.mark.parametrize("text, number", [("1_000", 1000), ("1e3", 1000), ("1000.", 1000), ("+1000", 1000),
                                          ("1.0e+3", 1000), ("10k", 10_000)])
def test_decimal_numbers_still_read(tmp_path, text, number):
    path = scenario_file(tmp_path, "  prompt_tokens_per_request: 1000", f"  prompt_tokens_per_request: {text}")
    assert tco.load_scenario(path).demand.prompt_tokens_per_request == number


# --- merge keys -------------------------------------------------------------------------------------------
EXPANDED = """\
name: merged
law: sardana2024
objective: usd
target: {loss: 1.947}
training: {hardware: A100 80GB, dtype: bf16, mfu: 0.5, price_usd_per_hour: 1.40}
serving: {hardware: A100 80GB, dtype: bf16, prefill_mfu: 0.4, decode_mfu: 0.2, price_usd_per_hour: 1.40}
demand: {requests: 10B, prompt_tokens_per_request: 1000, generated_tokens_per_request: 250}
"""

MERGED = """\
name: merged
law: sardana2024
objective: usd
target: {loss: 1.947}
training:
  <<: &device
    hardware: A100 80GB
    dtype: int8
    price_usd_per_hour: 1.40
  dtype: bf16          # overrides the merged value
  mfu: 0.5
serving:
  <<: [{dtype: bf16}, *device]   # earlier mappings win
  prefill_mfu: 0.4
  decode_mfu: 0.2
demand: {requests: 10B, prompt_tokens_per_request: 1000, generated_tokens_per_request: 250}
"""


def test_merge_keys_load_equal_to_the_expanded_twin(tmp_path):
    merged, expanded = tmp_path / "merged.yaml", tmp_path / "expanded.yaml"
    merged.write_text(MERGED, encoding="utf-8")
    expanded.write_text(EXPANDED, encoding="utf-8")
    a, b = tco.load_scenario(merged), tco.load_scenario(expanded)
    assert a.model_dump() == b.model_dump()
    assert a.training.dtype == "bf16" and a.serving.dtype == "bf16"


def test_merge_keys_run_through_the_cli(tco_run, tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(MERGED, encoding="utf-8")
    code, out, err = tco_run("optimize", "--no-report", "--json", path)
    assert code == 0, err


def test_merge_of_a_scalar_is_one_clear_line(tco_run, tmp_path):
    path = scenario_file(tmp_path, "  mfu: 0.5", "  <<: 5")
    line = optimize(tco_run, path)
    assert "merg" in line and "line " in line, line


# --- parsing bounds ---------------------------------------------------------------------------------------
def _bomb(levels: int, width: int = 9) -> str:
    """A billion-laughs value: each level holds `width` aliases of the one below (width**levels leaves)."""
    parts = [f"&l0 [{', '.join(['lol'] * width)}]"]
    parts += [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize("field", ["  requests: 10B", "name: sardana-cost-objective"], ids=["numeric", "string"])
def test_alias_bomb_is_refused_quickly(tco_run, tmp_path, field):
    key = field.split(":")[0]
    path = scenario_file(tmp_path, field, f"{key}: {_bomb(10)}")  # 9**10 = 3.5 billion leaves
    started = time.perf_counter()
    line = optimize(tco_run, path)
    assert time.perf_counter() - started < 2
    assert "aliases expand to more than" in line and "line " in line, line
    assert len(line) < 300


def test_aliases_under_the_limit_still_give_a_short_message(tco_run, tmp_path):
    """9**5 = 59,049 leaves (under MAX_ALIAS_NODES): the type error quotes the value cut short."""
    assert 9**5 < MAX_ALIAS_NODES
    path = scenario_file(tmp_path, "  requests: 10B", f"  requests: {_bomb(5)}")
    started = time.perf_counter()
    line = optimize(tco_run, path)
    assert time.perf_counter() - started < 2
    assert "demand.requests" in line and len(line) < 400, line[:600]


def test_recursive_alias_is_refused(tco_run, tmp_path):
    line = optimize(tco_run, scenario_file(tmp_path, "  requests: 10B", "  requests: &r [*r]"))
    assert "recursive" in line, line


@pytest.mark.parametrize("shape", ["flow-list", "flow-map", "block-map"])
def test_deep_nesting_is_refused_quickly(tco_run, tmp_path, shape):
    depth = 10_000
    if shape == "flow-list":
        value = "[" * depth + "]" * depth
    elif shape == "flow-map":
        value = "{a: " * depth + "1" + "}" * depth
    else:
        value = "\n" + "".join(f"{' ' * (2 + i)}a:\n" for i in range(200)) + " " * 202 + "b: 1"
    path = scenario_file(tmp_path, "  requests: 10B", f"  requests: {value}")
    started = time.perf_counter()
    line = optimize(tco_run, path)
    assert time.perf_counter() - started < 2
    assert f"nested more than {MAX_DEPTH} levels" in line and "line " in line, line


def test_nesting_within_the_limit_reads(tmp_path):
    value = "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3)
    path = scenario_file(tmp_path, "  requests: 10B", f"  requests: {value}")
    with pytest.raises(tco.ScenarioError, match=r"demand\.requests") as info:
        tco.load_scenario(path)
    assert "nested" not in str(info.value)


def test_a_huge_value_is_quoted_short(tco_run, tmp_path):
    path = scenario_file(tmp_path, "objective: usd", f"objective: {'x' * 2_000_000}")
    line = optimize(tco_run, path)
    assert "objective" in line and "..." in line and len(line) < 400, line[:600]


def test_a_huge_unknown_key_is_quoted_short(tco_run, tmp_path):
    path = scenario_file(tmp_path, "objective: usd", f"objective: usd\n? {'k' * 100_000}\n: 1")
    line = optimize(tco_run, path)
    assert "unknown key" in line and len(line) < 600, line[:600]


# --- still refused ----------------------------------------------------------------------------------------
def test_duplicate_keys_still_refused(tco_run, tmp_path):
    path = scenario_file(tmp_path, "  mfu: 0.5\n", "  mfu: 0.5\n  mfu: 0.6\n")
    line = optimize(tco_run, path)
    where = Path(path).read_text().splitlines().index("  mfu: 0.6") + 1  # the second mfu, 1-based
    assert "duplicate key 'mfu'" in line and f"line {where}, column 3" in line, line


def test_duplicate_keys_inside_a_merged_mapping_refused(tco_run, tmp_path):
    path = scenario_file(tmp_path, "  mfu: 0.5\n", "  <<: {mfu: 0.5, mfu: 0.6}\n")
    assert "duplicate key 'mfu'" in optimize(tco_run, path)


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system [\"true\"]", "!!python/name:os.system ''",
                                 "!!timestamp 2024-01-01", "!!binary aGVsbG8=", "!custom 1"])
def test_tags_still_refused(tco_run, tmp_path, tag):
    path = scenario_file(tmp_path, "name: sardana-cost-objective", f"name: {tag}")
    line = optimize(tco_run, path)
    assert "YAML tag" in line and "not allowed" in line and "line 3, column 7" in line, line


def test_law_file_uses_the_same_reader(tco_run, tmp_path):
    law = tmp_path / "law.yaml"
    law.write_text("law: {E: 1.69, A: 406.4, B: 410.7, alpha: 0.3392, beta: 0x10}\n", encoding="utf-8")
    line = optimize(tco_run, scenario_file(tmp_path, "law: sardana2024", f"law: {law}"))
    assert "law file" in line and str(law) in line and "ambiguous number '0x10'" in line, line


def test_fit_csv_over_the_size_limit(tco_run, tmp_path):
    from tco.fit.data import MAX_CSV_BYTES

    csv = tmp_path / "huge.csv"
    with open(csv, "wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_CSV_BYTES + 1)
    line = one_line(*tco_run("fit", csv, "--out", tmp_path / "law.yaml"))
    assert str(csv) in line and "at most 100.0 MB" in line, line


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\ufffe"])
def test_a_character_yaml_forbids_is_one_line_with_its_code_point(tco_run, tmp_path, character):
    # the YAML reader refuses these while it is being set up, before any parsing (found by the mutation property)
    path = tmp_path / "hostile.yaml"
    path.write_text(character + (ROOT / "scenarios" / "chat-assistant-70b-quality.yaml").read_text(), "utf-8")
    line = optimize(tco_run, path)
    assert f"U+{ord(character):04X} is not allowed in a YAML file" in line and str(path) in line, line


@pytest.mark.parametrize("merge", ["5", "[*d, 3]", "'text'"])
def test_merging_something_other_than_a_mapping_is_one_line(merge):
    text = f"x: &d {{b: 1}}\nname: m\ntraining:\n  <<: {merge}\n"
    with pytest.raises(tco.ScenarioError) as caught:
        parse_yaml(text, source="m.yaml")
    line = str(caught.value)
    assert "\n" not in line and "expected a mapping or a list of mappings to merge" in line and "line 4" in line
