"""`tco fit`: Approach 3 with bootstrap, IsoFLOP, validation, law files that scenarios load, plot and workbook."""

import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml

import tco
from tco.fit import FitDataError, fit_isoflop, fit_parametric, fit_runs, read_runs, runs_from_arrays
from tco.fit.parametric import huber_objective, log_data, minimize_from, start_grid, to_constants
from tco.scenario.law import load_law_file

TRUE = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}
SARDANA = Path(__file__).resolve().parent / "data" / "sardana_training_runs.csv"
LAW = tco.ChinchillaLaw(name="truth", source="test", **TRUE)


def synthetic(sigma=0.005, seed=0):
    """N on 1e7..1e10, 5..500 tokens per parameter, multiplicative lognormal noise of `sigma`."""
    params, tpp = np.meshgrid(np.logspace(7, 10, 10), np.logspace(np.log10(5), np.log10(500), 8))
    params = params.ravel()
    tokens = params * tpp.ravel()
    noise = np.exp(np.random.default_rng(seed).normal(0.0, sigma, params.size))
    return params, tokens, LAW.loss(params, tokens) * noise


def write_csv(path, params, tokens, loss, names=("params", "tokens", "loss")):
    lines = [",".join(names)] + [f"{n:.17g},{d:.17g},{y:.17g}" for n, d, y in zip(params, tokens, loss)]
    path.write_text("\n".join(lines) + "\n")
    return path


def max_rel_error(constants, keys=("E", "alpha", "beta")):
    return max(abs(constants[k] - TRUE[k]) / TRUE[k] for k in keys)


@pytest.fixture(scope="module")
def noisy_fit():
    return fit_runs(runs_from_arrays(*synthetic()), starts=300, resamples=120, seed=3)


# --- recovery --------------------------------------------------------------------------------------------------
def test_recovers_known_constants_within_their_bootstrap_intervals(noisy_fit):
    summary = noisy_fit.summary()
    for key, truth in TRUE.items():
        s = summary[key]
        width = s["p90"] - s["p10"]
        assert s["p10"] - 0.5 * width <= truth <= s["p90"] + 0.5 * width, (key, s)
        assert abs(s["value"] - truth) <= 3 * s["stderr"], (key, s)
    a_true = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
    assert abs(summary["a"]["value"] - a_true) <= 3 * summary["a"]["stderr"]
    assert len(noisy_fit.bootstrap.samples) == 120


def test_exact_recovery_without_noise():
    fit = fit_parametric(runs_from_arrays(*synthetic(sigma=0.0)), starts=200)
    for key, truth in TRUE.items():
        assert fit.constants[key] == pytest.approx(truth, rel=1e-3)
    assert fit.warnings == []


def test_same_seed_same_fit():
    runs = runs_from_arrays(*synthetic(seed=5))
    first, second = (fit_runs(runs, starts=150, resamples=15, seed=11) for _ in range(2))
    assert first.constants == second.constants
    np.testing.assert_array_equal(first.bootstrap.samples, second.bootstrap.samples)


def test_summed_not_averaged_huber_loss():
    """Besiroglu et al.: averaging shrinks the gradient n-fold, so L-BFGS-B's tolerances stop it early."""
    runs = runs_from_arrays(*synthetic())
    data = log_data(runs)
    best = {}
    for reduction in ("sum", "mean"):
        results = [minimize_from(s, data, reduction=reduction) for s in start_grid(60, seed=0)]
        theta, value, iterations = min(results, key=lambda r: r[1])
        best[reduction] = (to_constants(theta), iterations)
    assert max_rel_error(best["mean"][0]) > 3 * max_rel_error(best["sum"][0])
    assert best["mean"][1] < best["sum"][1]  # it stopped sooner
    # and the fit itself minimizes the sum: its objective is the summed Huber loss, n times the mean
    fit = fit_parametric(runs, starts=60)
    total, _ = huber_objective(fit.theta, *data[:4])
    mean, _ = huber_objective(fit.theta, *data[:4], reduction="mean")
    assert fit.objective == pytest.approx(total, rel=1e-12)
    assert total == pytest.approx(len(runs) * mean, rel=1e-12)
    assert max_rel_error(fit.constants) <= max_rel_error(best["sum"][0]) + 1e-6


def test_analytic_gradient_matches_finite_differences():
    data = log_data(runs_from_arrays(*synthetic()))
    theta = np.array([6.0, 7.5, 0.5, 0.3, 0.4])
    _, grad = huber_objective(theta, *data[:4])
    step = 1e-6
    numeric = [(huber_objective(theta + step * e, *data[:4])[0] - huber_objective(theta - step * e, *data[:4])[0])
               / (2 * step) for e in np.eye(5)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-10)


def test_sardana_runs_fit_with_sane_constants():
    runs = read_runs(SARDANA, params_col="Parameters", tokens_col="Tokens", loss_col="Smoothed Loss")
    fit = fit_parametric(runs, starts=600)
    c = fit.constants
    print(f"Sardana et al. runs ({len(runs)}): " + ", ".join(f"{k}={v:.4g}" for k, v in c.items()))
    assert len(runs) == 47
    assert 1 < c["E"] < 3
    assert 0.1 < c["alpha"] < 1 and 0.1 < c["beta"] < 1


def test_isoflop_recovers_the_compute_optimal_exponent():
    params, tokens = [], []
    for flops in np.logspace(18, 21, 4):
        n_opt, _ = LAW.allocate(flops)
        for factor in np.logspace(-0.7, 0.7, 9):
            params.append(n_opt * factor)
            tokens.append(flops / (6 * n_opt * factor))
    params, tokens = np.array(params), np.array(tokens)
    loss = LAW.loss(params, tokens) * np.exp(np.random.default_rng(1).normal(0, 0.002, params.size))
    iso = fit_isoflop(runs_from_arrays(params, tokens, loss))
    assert iso.a == pytest.approx(TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"]), abs=0.03)
    assert iso.a + iso.b == pytest.approx(1.0, abs=1e-9)
    assert len(iso.budgets) == 4


# --- validation: one line, naming the row and the column ------------------------------------------------------
def _set(row: int, col: int, text: str):
    return lambda rows: rows[row].__setitem__(col, text)


BAD_CSV = {  # what to break (rows[0] is the header, rows[k] run k) -> what the one-line message must say
    "missing column": (_set(0, 2, "final_loss"), ["no column 'loss'", "'final_loss'", "--loss-col"]),
    "non-positive value": (_set(3, 1, "-5"), ["row 3 (file line 4)", "column 'tokens'", "not positive"]),
    "empty cell": (_set(7, 2, ""), ["row 7", "column 'loss'", "empty"]),
    "NaN cell": (_set(2, 0, "NaN"), ["row 2", "column 'params'", "NaN"]),
    "text cell": (_set(4, 0, "big"), ["row 4", "column 'params'", "'big' is not a number"]),
    "too few runs": (lambda rows: rows.__delitem__(slice(5, None)), ["4 runs", "at least 5", "5 constants"]),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_bad_csv_gives_one_line_naming_row_and_column(tmp_path, case):
    edit, fragments = BAD_CSV[case]
    params, tokens, loss = synthetic()
    rows = [["params", "tokens", "loss"]] + [[f"{v:.17g}" for v in run] for run in zip(params, tokens, loss)]
    edit(rows)
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    with pytest.raises(FitDataError) as info:
        read_runs(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("runs.csv: ")
    for fragment in fragments:
        assert fragment in message


def test_isoflop_too_few_budgets():
    params, tokens, loss = synthetic()  # a grid in (N, D/N): every run its own budget
    with pytest.raises(FitDataError, match=r"at least 2 compute budgets") as info:
        fit_isoflop(runs_from_arrays(params, tokens, loss))
    assert "\n" not in str(info.value)


def test_isoflop_too_few_runs_per_budget():
    params = np.array([1e8, 2e8, 4e8, 1e9, 2e9, 3e8])
    tokens = 1e19 / (6 * params)
    tokens[3:5] = 1e21 / (6 * params[3:5])  # the second budget has only two runs
    tokens[5] = 3e9
    with pytest.raises(FitDataError, match=r"1 usable of 3 budgets") as info:
        fit_isoflop(runs_from_arrays(params, tokens, LAW.loss(params, tokens)))
    assert "1e+21 FLOPs (2 runs)" in str(info.value)


def test_cli_data_error_is_one_line_and_exit_2(tco_run, tmp_path):
    path = write_csv(tmp_path / "runs.csv", *synthetic(), names=("N", "D", "L"))
    code, out, err = tco_run("fit", path, "--out", tmp_path / "law.yaml")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no column 'params'" in err and "'N', 'D', 'L'" in err
    assert not (tmp_path / "law.yaml").exists()


# --- the command, end to end ----------------------------------------------------------------------------------
def test_cli_writes_a_law_file_that_scenarios_load(tco_run, tmp_path):
    csv = write_csv(tmp_path / "runs.csv", *synthetic(), names=("Parameters", "Tokens", "Smoothed Loss"))
    out = tmp_path / "laws" / "our-law.yaml"
    code, stdout, err = tco_run("fit", csv, "--out", out, "--params-col", "Parameters",
                                "--tokens-col", "Tokens", "--loss-col", "Smoothed Loss", "--starts", 150,
                                "--bootstrap", 20, "--plot", tmp_path / "fit.png", "--xlsx", tmp_path / "fit.xlsx")
    assert code == 0, err
    assert "bootstrap SE" in stdout and "law written to" in stdout
    doc = yaml.safe_load(out.read_text())
    assert doc["law"]["name"] == "our-law" and doc["law"]["form"] == "chinchilla"
    source = doc["law"]["source"]
    assert source.startswith("tco fit runs.csv (sha256 ") and source.endswith("Approach 3, 80 runs")
    assert doc["fit"]["n_runs"] == 80 and doc["fit"]["huber_delta"] == 1e-3 and doc["fit"]["n_starts"] == 150
    assert len(doc["bootstrap"]["samples"]) == 20 and doc["bootstrap"]["columns"] == ["E", "A", "B", "alpha", "beta"]
    assert set(doc["bootstrap"]["percentiles"]["alpha"]) == {"p10", "p50", "p90"}

    (tmp_path / "scenario.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "scenarios" / "chat-assistant-70b-quality.yaml").read_text()
        .replace("law: hoffmann2022", "law: laws/our-law.yaml"))
    scenario = tco.load_scenario(tmp_path / "scenario.yaml")
    assert scenario.resolved_law.name == "our-law"
    assert scenario.resolved_law.alpha == pytest.approx(doc["law"]["alpha"])
    result = tco.optimize(scenario)
    assert result.law == "our-law" and result.optimal.params > 0

    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wb = openpyxl.load_workbook(tmp_path / "fit.xlsx")
    assert wb.sheetnames == ["Fit"]
    ws = wb["Fit"]
    assert [ws.cell(1, c).value for c in range(1, 7)] == ["quantity", "fitted", "bootstrap SE", "P10", "P50", "P90"]
    assert any(ws.cell(r, 1).value == "run (CSV row)" for r in range(1, ws.max_row + 1))


def test_cli_json_is_one_object(tco_run, tmp_path):
    csv = write_csv(tmp_path / "runs.csv", *synthetic())
    code, stdout, err = tco_run("fit", csv, "--out", tmp_path / "l.yaml", "--starts", 100,
                                "--bootstrap", 10, "--json", "--budgets", "1e22,1e24")
    assert code == 0, err
    data = json.loads(stdout)
    assert set(data) >= {"law", "fit", "bootstrap", "summary", "written"}
    assert "samples" not in data["bootstrap"]
    assert [b["flops"] for b in data["fit"]["compute_optimal"]["budgets"]] == [1e22, 1e24]
    assert data["written"]["law"].endswith("l.yaml")


def test_cli_isoflop_writes_a_loadable_law_with_the_allocation(tco_run, tmp_path):
    params, tokens = [], []
    for flops in (1e18, 1e19, 1e20):
        for n in np.logspace(7.5, 9.5, 6) * (flops / 1e19) ** 0.5:
            params.append(n)
            tokens.append(flops / (6 * n))
    params, tokens = np.array(params), np.array(tokens)
    csv = write_csv(tmp_path / "iso.csv", params, tokens, LAW.loss(params, tokens))
    out = tmp_path / "iso.yaml"
    code, stdout, err = tco_run("fit", csv, "--method", "isoflop", "--out", out, "--starts", 100,
                                "--bootstrap", 0)
    assert code == 0, err
    doc = yaml.safe_load(out.read_text())
    assert doc["fit"]["method"] == "isoflop" and "parametric" in doc["fit"]["note"]
    assert len(doc["fit"]["isoflop"]["budgets"]) == 3 and "bootstrap" not in doc
    assert doc["fit"]["isoflop"]["a"] == pytest.approx(TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"]), abs=0.03)
    assert load_law_file(out).law.name == "iso"
    assert "IsoFLOP" in stdout


def test_cli_rejects_bad_options(tco_run, tmp_path):
    csv = write_csv(tmp_path / "runs.csv", *synthetic())
    code, _, err = tco_run("fit", csv, "--starts", 0)
    assert code == 2 and "--starts" in err
    code, _, err = tco_run("fit", csv, "--budget-tolerance", 2)
    assert code == 2 and "--budget-tolerance" in err
