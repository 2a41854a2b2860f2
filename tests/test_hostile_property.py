"""Mutated bundled scenarios (values, types, keys, YAML text) either solve to finite, cross-checked numbers
(exit 0) or fail with one line per problem (exit 2): never a traceback, never a hang, never a changed earlier
report. Runs `tco optimize --json` in-process, in a scratch folder, with a per-case time bound."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SECONDS_PER_CASE = 20.0
HOSTILE = [None, True, False, "abc", "", -1, 0, 0.5, 1e308, -1e308, 1e-308, float("inf"), float("nan"), "1e400",
           [], {}, [1, 2], "070", "1:30", "yes", 10**401, "[bold]x[/]", "\x1b[31mred", "a\x00b", "70B", "1,5B"]


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    yield path


def _set(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _delete(node, path):
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@st.composite
def mutated(draw):
    path = draw(st.sampled_from(SCENARIOS))
    text = path.read_text()
    kind = draw(st.sampled_from(["value", "delete", "add", "text"]))
    if kind == "text":
        position = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from([":", "- ", "{", "]", "&a ", "*a", "!!python/object:os.system ", "\t", "'",
                                     "<<: ", "\n  x: 1", "0x10", ".inf", "~", "\x00", "🙂", "\\"]))
        return path, text[:position] + junk + text[position:]
    data = yaml.safe_load(text)
    leaves = [p for p in _leaves(data) if p]
    target = draw(st.sampled_from(leaves))
    if kind == "value":
        _set(data, target, draw(st.sampled_from(HOSTILE)))
    elif kind == "delete":
        _delete(data, target)
    else:
        parent = target[:-1]
        node = data
        for key in parent:
            node = node[key]
        if isinstance(node, dict):
            node[draw(st.sampled_from(["extra_field", "price", "mfu_", "Name"]))] = 1
    return path, yaml.safe_dump(data, allow_unicode=True)


@pytest.fixture
def run(tco_run, monkeypatch, tmp_path):
    """conftest's in-process runner, in a scratch folder (a stray report must not land in the repository), which
    holds the files bundled scenarios reference by relative path (calibrations/)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "scenarios" / "calibrations", tmp_path / "calibrations", dirs_exist_ok=True)
    return tco_run


def _finite(value) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=mutated())
def test_a_mutated_scenario_solves_cleanly_or_fails_in_one_line_per_problem(run, tmp_path, case):
    source, text = case
    scenario = tmp_path / "mutated.yaml"
    scenario.write_text(text, encoding="utf-8", errors="surrogateescape")
    earlier = tmp_path / "earlier.xlsx"
    earlier.write_bytes(b"an earlier report")
    start = time.perf_counter()
    code, out, err = run("optimize", scenario, "--json", "--out", earlier)
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS_PER_CASE, f"{source.name}: {elapsed:.1f} s"
    assert "Traceback" not in err, f"{source.name}:\n{err}"
    assert code in (0, 2), f"{source.name}: exit {code}\n{err}"
    if code == 0:
        result = json.loads(out)
        assert _finite(result["optimal"]) and _finite(result["chinchilla"]), source.name
        assert result["cross_check"]["agrees"], source.name
    else:
        assert out == "", f"{source.name}: stdout on failure: {out[:200]}"
        lines = err.strip().splitlines()
        assert lines and all(line.startswith("error:") for line in lines), f"{source.name}:\n{err}"
        assert earlier.read_bytes() == b"an earlier report"
