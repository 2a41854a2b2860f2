"""The GP worker (tco.solve.worker): the command line's cvxpy import runs in a child beside the rest of the
command, the child's answer is the in-process answer to the bit, and any failure of the child means the GP is
solved in-process instead."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import cvxpy as cp
import pytest

import tco
from tco.cli import _solves_gp
from tco.model import build_model
from tco.solve import gp_data, worker
from tco.solve.program import solve_gp

ROOT = Path(__file__).resolve().parents[1]
#: monomial terms; caps (a deadline and a data limit); a quantization penalty; a roofline decode term; a choice
#: of expert counts (several solves through one worker)
SCENARIOS = ["chat-assistant-70b-quality.yaml", "capped-deadline-and-data.yaml", "quantized-int4-serving.yaml",
             "roofline-long-context-assistant.yaml", "moe-expert-choice.yaml"]
TIMING = {"gp_solve_seconds", "solve_seconds", "seconds", "elapsed_seconds"}


def _cli(*args: str, worker_on: bool, importtime: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, worker.ENV_SWITCH: "1" if worker_on else "0"}
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, "-m", "tco", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _real_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tco.solve.worker"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


@pytest.fixture
def installed(monkeypatch):
    """Install `process` as this process's worker (what `prestart` does), stopped after the test."""
    def install(process: subprocess.Popen) -> subprocess.Popen:
        monkeypatch.setattr(worker, "_state", {"process": process, "owner": os.getpid()})
        return process

    yield install
    worker.stop()


def test_scenarios_exist():
    for name in SCENARIOS:
        assert (ROOT / "scenarios" / name).is_file(), name


@pytest.mark.parametrize("name", SCENARIOS)
def test_cli_answer_is_the_same_to_the_bit_with_and_without_the_worker(name):
    args = ("optimize", f"scenarios/{name}", "--json", "--no-report")
    with_worker, in_process = _cli(*args, worker_on=True), _cli(*args, worker_on=False)
    assert with_worker.returncode == 0 and in_process.returncode == 0, with_worker.stderr + in_process.stderr
    a, b = json.loads(with_worker.stdout), json.loads(in_process.stdout)
    assert a["cross_check"]["gp_status"] == "optimal"
    assert _without_timing(a) == _without_timing(b)  # exact equality: the same code on the same numbers


def test_the_command_process_never_imports_cvxpy_when_the_worker_runs():
    args = ("optimize", "scenarios/chat-assistant-70b-quality.yaml", "--json", "--no-report")
    with_worker = _cli(*args, worker_on=True, importtime=True)
    in_process = _cli(*args, worker_on=False, importtime=True)
    assert with_worker.returncode == 0 and in_process.returncode == 0
    imported = lambda run: {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}  # noqa: E731
    assert "cvxpy" not in imported(with_worker)  # the child imported it (its stderr is not ours)
    assert "cvxpy" in imported(in_process)  # the check can fail: without the worker, the command imports it
    assert "tco.solve.gp" in imported(in_process) and "tco.solve.gp" not in imported(with_worker)


def test_help_and_other_commands_start_no_worker():
    assert _solves_gp(["optimize", "s.yaml"]) and _solves_gp(["--debug", "report", "s.yaml", "--out", "r.xlsx"])
    assert _solves_gp(["evaluate", "s.yaml", "--params", "7B", "--tokens", "1T"])
    assert not _solves_gp(["optimize", "--help"]) and not _solves_gp(["sweep", "s.yaml", "--json"])
    assert not _solves_gp([]) and not _solves_gp(["laws"])


def test_no_worker_when_cvxpy_is_already_imported_or_switched_off(monkeypatch):
    assert "cvxpy" in sys.modules  # this test module imported it: solving in-process is quicker than a child
    assert worker.prestart() is False and not worker.running()
    monkeypatch.delitem(sys.modules, "cvxpy")
    monkeypatch.setenv(worker.ENV_SWITCH, "0")
    assert worker.prestart() is False and not worker.running()


def _model():
    return build_model(tco.load_scenario(ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"))


def _same(a, b) -> bool:
    return dataclasses.replace(a, solve_seconds=0.0) == dataclasses.replace(b, solve_seconds=0.0)


def test_a_real_worker_gives_the_in_process_solution_to_the_bit(installed):
    model = _model()
    process = installed(_real_worker())
    assert worker.running()
    through_worker = solve_gp(model)
    assert worker.running()  # it answered; a failure would have stopped it
    worker.stop()
    assert process.poll() is not None and not worker.running()  # stopped: killed, not left behind
    in_process = solve_gp(model)
    assert _same(through_worker, in_process)


@pytest.mark.parametrize("child", [
    "import sys",  # exits at once: the request meets a closed pipe or the reply an end of file
    "import sys; sys.stdin.buffer.read(1); sys.stdout.write('not a pickle'); sys.stdout.flush()",
    "import pickle, sys; sys.stdin.buffer.read(1); pickle.dump([1, 2], sys.stdout.buffer); sys.stdout.flush()",
])
def test_a_failed_worker_falls_back_to_solving_in_process(installed, child):
    model = _model()
    process = installed(subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
    answer = solve_gp(model)
    assert not worker.running() and process.poll() is not None  # the failed worker is stopped for good
    assert _same(answer, solve_gp(model))


def test_a_forked_child_never_uses_its_parents_worker(monkeypatch):
    monkeypatch.setattr(worker, "_state", {"process": object(), "owner": os.getpid() + 1})
    assert worker.solve((), {}) is None and not worker.running()


def test_status_names_are_cvxpys():
    assert gp_data.SOLVED == (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    assert gp_data.INFEASIBLE == (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
