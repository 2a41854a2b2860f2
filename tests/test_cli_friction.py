"""CLI friction (issue 15, part 3): one range syntax, markup-safe help, close-name hints only, progress on fit."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tco.cli.entry import COMMANDS
from tco.errors import TcoError
from tco.ranges import Span, legacy_note, parse_span, parse_values
from tco.text import closest_name

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"


# --- one range syntax -----------------------------------------------------------------------------------------
def test_the_canonical_range_is_log_spaced_and_lin_is_even():
    assert np.allclose(parse_span("--x", "1e8..1e12:5").values(), [1e8, 1e9, 1e10, 1e11, 1e12], rtol=1e-12)
    assert np.allclose(parse_span("--x", "0.3..0.6:4:lin").values(), [0.3, 0.4, 0.5, 0.6], rtol=1e-12)
    assert parse_span("--x", "1e20..1e24").points == 5  # one per decade without POINTS
    assert parse_span("--x", "1e9..1e16", default_points=50).points == 50
    assert list(parse_values("--x", "1B,2.5B")) == [1e9, 2.5e9] and list(parse_values("--x", "70B")) == [7e10]


@pytest.mark.parametrize("old, new", [("1e8:1e12:log:5", "1e8..1e12:5"), ("0.3:0.6:lin:4", "0.3..0.6:4:lin")])
def test_the_old_spelling_reads_the_same_values_and_names_the_new_one(old, new):
    assert np.array_equal(parse_span("--x", old).values(), parse_span("--x", new).values())
    assert legacy_note("--x", old) == f"--x: {old!r} is the old range spelling (still read for now); write {new!r}"
    assert legacy_note("--x", new) is None


@pytest.mark.parametrize("bad", ["1..2:1", "1..2:2.5", "1e9..1e9:3", "0..4:3", "1..4:lin", "1..2:3:cubic",
                                 "a..2:3", "1..2:3:4", "1e8:1e12:cubic:5"])
def test_bad_ranges_are_one_error_naming_the_option(bad):
    with pytest.raises(TcoError) as raised:
        parse_span("--vary x", bad)
    assert str(raised.value).startswith("--vary x: ") and "\n" not in str(raised.value)


def test_sweep_reads_both_spellings_alike_with_a_note_for_the_old(tco_run, tmp_path):
    frames, errs = [], []
    for spelling in ("demand.requests=1e9..1e11:3", "demand.requests=1e9:1e11:log:3"):
        out = tmp_path / f"{len(frames)}.csv"
        code, _, err = tco_run("sweep", CHAT, "--vary", spelling, "--vary", "training.mfu=0.3..0.5:2:lin",
                               "--no-report", "--json", "--out", out)
        assert code == 0
        frames.append(pd.read_csv(out))
        errs.append(err)
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert np.allclose(sorted(set(frames[0]["demand.requests"])), [1e9, 1e10, 1e11], rtol=1e-12)
    assert errs[0] == ""
    assert errs[1].strip() == ("note: --vary demand.requests: '1e9:1e11:log:3' is the old range spelling (still "
                               "read for now); write '1e9..1e11:3'")


def test_optimize_and_allocate_read_the_same_syntax(tco_run):
    code, out, err = tco_run("allocate", "--flops", "1e20:1e22:log:3", "--json")
    assert code == 0 and "write '1e20..1e22:3'" in err
    assert [r["flops"] for r in json.loads(out)["allocations"]] == pytest.approx([1e20, 1e21, 1e22], rel=1e-12)
    code, _, err = tco_run("optimize", CHAT, "--no-report", "--json", "--sweep", "1e9:1e16:log:50")
    assert code == 0 and "write '1e9..1e16:50'" in err


@pytest.mark.parametrize("args", [
    ("sweep", CHAT, "--vary", "demand.requests=1e9..1e11:1", "--no-report"),
    ("sweep", CHAT, "--vary", "demand.requests=1e9..1e11:3:cubic", "--no-report"),
    ("optimize", CHAT, "--no-report", "--sweep", "1e9..1e16:50:lin"),
    ("allocate", "--flops", "1e22..1e20:3"),
])
def test_bad_ranges_exit_2_with_one_line(tco_run, args):
    code, out, err = tco_run(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


def test_help_examples_use_the_new_spelling(tco_run):
    for name, _ in COMMANDS:
        code, out, _ = tco_run(name, "--help")
        assert code == 0
        assert not re.search(r"[0-9]:(log|lin):[0-9]", out), name  # no old spelling left in any help
    code, out, _ = tco_run("sweep", "--help")
    assert "demand.requests=1e8..1e12:50" in out


# --- markup-safe help -----------------------------------------------------------------------------------------
def _bracketed_help(command) -> list[str]:
    """Every [word] in a command's option help and docstring, as written in the source."""
    import inspect

    texts = [inspect.getdoc(command) or ""]
    for param in inspect.signature(command, eval_str=True).parameters.values():
        texts += [i.help for i in getattr(param.annotation, "__metadata__", ()) if isinstance(getattr(i, "help", None),
                                                                                             str)]
    return [m for t in texts for m in re.findall(r"\S*\[[^\]\s]*\]\S*", t.replace("\\[", "["))]


def test_every_help_renders_its_brackets(tco_run):
    found = []
    for name, command in COMMANDS:
        code, out, _ = tco_run(name, "--help")
        assert code == 0
        flat = "".join(out.split())  # the help wraps; the bracketed words must survive whole
        for word in _bracketed_help(command):
            found.append(word)
            assert "".join(word.split()).strip("'\",.;:()") in flat, (name, word)
    assert any("tco[dask]" in word for word in found)  # the case that was eaten: --engine's pip extra


def test_engine_help_shows_the_extra(tco_run):
    code, out, _ = tco_run("montecarlo", "--help")
    assert "tco[dask]" in "".join(out.split())


# --- close names only -----------------------------------------------------------------------------------------
DEMAND_FIELDS = ["samples_per_request", "reasoning_tokens_per_request", "requests_per_year", "years",
                 "growth_per_year", "discount_rate", "peak_requests_per_second", "requests",
                 "prompt_tokens_per_request", "generated_tokens_per_request", "prompt_tokens", "generated_tokens"]


@pytest.mark.parametrize("typed, meant", [("peak_rps", "peak_requests_per_second"), ("yeras", "years"),
                                          ("requets", "requests"), ("Years", "years"),
                                          ("discount", "discount_rate"), ("gen_tokens", "generated_tokens")])
def test_close_names_are_suggested(typed, meant):
    assert closest_name(typed, DEMAND_FIELDS) == meant


@pytest.mark.parametrize("typed", ["foo", "rps", "budget", "qps_peak", "price"])
def test_nothing_close_gets_no_suggestion(typed):
    assert closest_name(typed, DEMAND_FIELDS) is None


def test_a_scenario_typo_gets_the_close_name_and_a_stranger_gets_none(tco_run, tmp_path):
    import yaml

    data = yaml.safe_load(CHAT.read_text())
    for key, hint in (("peak_rps", "did you mean 'peak_requests_per_second'?"), ("budget_usd", None)):
        data["demand"] = {**{k: v for k, v in data["demand"].items() if k not in ("peak_rps", "budget_usd")},
                          key: 5}
        path = tmp_path / "typo.yaml"
        path.write_text(yaml.safe_dump(data))
        code, _, err = tco_run("optimize", path, "--no-report")
        assert code == 2 and f"unknown key '{key}'" in err
        assert (hint in err) if hint else ("did you mean" not in err), err
        assert "years" not in err.split("(allowed here")[0]  # the old hint for peak_rps


def test_span_spelling_round_trips():
    span = Span(1e9, 1e16, 50)
    assert parse_span("--x", span.spelling) == span


# --- progress on fit ------------------------------------------------------------------------------------------
SARDANA_RUNS = ROOT / "tests" / "data" / "sardana_training_runs.csv"
FIT_ARGS = ("--params-col", "Parameters", "--tokens-col", "Tokens", "--loss-col", "Smoothed Loss", "--starts", "200",
            "--bootstrap", "15")


def test_fit_reports_every_phase_to_the_end_and_the_fit_is_unchanged():
    from tco.fit import fit_runs, read_runs

    runs = read_runs(SARDANA_RUNS, params_col="Parameters", tokens_col="Tokens", loss_col="Smoothed Loss")
    seen: dict[str, list[tuple[int, int]]] = {}
    watched = fit_runs(runs, starts=200, resamples=15, progress=lambda p, d, t: seen.setdefault(p, []).append((d, t)))
    quiet = fit_runs(runs, starts=200, resamples=15)
    assert list(seen) == ["multi-start pass", "polishing the best starts", "bootstrap pass", "bootstrap refits"]
    for calls in seen.values():
        assert calls[-1][0] == calls[-1][1] > 0  # each bar ends full
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert seen["bootstrap refits"][-1] == (15, 15) and seen["polishing the best starts"][-1][1] == \
        watched.parametric.n_polished
    assert np.array_equal(watched.parametric.theta, quiet.parametric.theta)
    assert np.array_equal(watched.bootstrap.samples, quiet.bootstrap.samples)


def test_fit_progress_goes_to_stderr_and_leaves_the_json_unchanged(tco_run, tmp_path, monkeypatch):
    import tco.cli.fit as fit_cli

    calls = []
    real = fit_cli.FitProgress.__call__
    monkeypatch.setattr(fit_cli.FitProgress, "__call__", lambda self, *a: (calls.append(a), real(self, *a))[1])
    monkeypatch.setattr(fit_cli, "progress_wanted", lambda: True)  # as if stderr were a terminal
    code, shown, _ = tco_run("fit", SARDANA_RUNS, *FIT_ARGS, "--out", tmp_path / "law.yaml", "--json")
    assert code == 0 and calls  # the bar was fed
    fed = len(calls)
    code, silent, _ = tco_run("fit", SARDANA_RUNS, *FIT_ARGS, "--out", tmp_path / "law.yaml", "--json", "--quiet")
    assert code == 0 and len(calls) == fed  # --quiet: no bar at all
    assert json.loads(shown) == json.loads(silent)  # stdout is the same one JSON document either way
    monkeypatch.setattr(fit_cli, "progress_wanted", lambda: False)  # stderr piped: no bar either
    code, piped, _ = tco_run("fit", SARDANA_RUNS, *FIT_ARGS, "--out", tmp_path / "law.yaml", "--json")
    assert code == 0 and len(calls) == fed and json.loads(piped) == json.loads(silent)
