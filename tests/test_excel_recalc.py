"""Recalculate the workbooks with LibreOffice headless and compare every formula cell with Python's numbers.

Skips (with the reason) where LibreOffice is not installed, unless TCO_REQUIRE_LIBREOFFICE=1 (set by .ci/run,
which installs it), in which case a missing soffice is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

import tco
from tco.model.fleet import billed_usd_per_device_hour, held_usd_per_device_hour, serving_utilization_in_force
from tco.report.excel import recommendation, write_report
from tco.studies import prepare

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REL = 1e-9

if SOFFICE is None and os.environ.get("TCO_REQUIRE_LIBREOFFICE") == "1":
    raise RuntimeError("TCO_REQUIRE_LIBREOFFICE=1 but soffice is not on PATH (apt-get install libreoffice-calc)")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed; "
                                "`apt-get install -y libreoffice-calc` to run the recalculation tests")


def recalc(paths: list[Path], out_dir: Path) -> list[Path]:
    """Open each workbook in LibreOffice (which computes every formula), save as xlsx with cached values."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / "lo-profile"
    subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "xlsx", "--outdir", str(out_dir), *map(str, paths)],
        check=True, capture_output=True, timeout=300,
    )
    results = [out_dir / p.name for p in paths]
    missing = [p for p in results if not p.exists()]
    assert not missing, f"LibreOffice did not write {missing}"
    return results


def expected_by_name(entry, prefix: str = "") -> dict[str, float]:
    r, d = entry.result, entry.scenario.demand
    values = {f"{prefix}{which}_{k}": v for which, point in (("optimal", r.optimal), ("chinchilla", r.chinchilla))
              for k, v in point.to_dict().items()}
    values.update({
        f"{prefix}savings_total_cost_usd": r.savings.total_cost_usd, f"{prefix}savings_fraction": r.savings.fraction,
        f"{prefix}savings_total_flops": r.savings.total_flops,
        f"{prefix}savings_flops_fraction": r.savings.flops_fraction,
        f"{prefix}tokens_factor": r.tokens_factor, f"{prefix}params_factor": r.params_factor,
        f"{prefix}lifetime_prompt_tokens": d.lifetime_prompt_tokens,
        f"{prefix}lifetime_generated_tokens": d.lifetime_generated_tokens,
        # the tokens attention attends to, formulas of the per-request rows
        f"{prefix}prefill_attended_tokens": d.prompt_tokens_per_request / 2,
        f"{prefix}decode_context_tokens": d.prompt_tokens_per_request
        + (d.reasoning_tokens_per_request + d.generated_tokens_per_request) / 2,  # a sample's own decode
        # owned hardware: the price rows are formulas of the ownership rows
        f"{prefix}train_price_usd_per_hour": entry.scenario.training.usd_per_hour,
        # serving.pricing: the billed price per busy device-hour = held price / utilization in force
        f"{prefix}serve_price_usd_per_hour": billed_usd_per_device_hour(entry.scenario),
        f"{prefix}serve_held_price_usd_per_hour": held_usd_per_device_hour(entry.scenario.serving),
        f"{prefix}serve_utilization": serving_utilization_in_force(entry.scenario),
        f"{prefix}serve_average_requests_per_second": d.average_requests_per_second,
    })
    # the Summary headline: a text formula of the Costs names, the same sentence Python writes
    values[f"{prefix}headline"] = recommendation(r)
    if d.requests_per_year is not None:  # a horizon: requests and hours are formulas of growth and discount
        values.update({f"{prefix}requests": d.pv_requests, f"{prefix}nominal_requests": d.nominal_requests,
                       f"{prefix}horizon_hours": d.horizon_hours})
    if r.quantization is not None:  # serving.quantization: k = C_T exp(-P / gamma_post), a formula of its inputs
        values[f"{prefix}quant_coefficient"] = r.quantization.coefficient
    return values


def check_every_formula(original: Path, recalculated: Path, expected: dict[str, float]) -> int:
    """Each formula cell must be a named result, a reference to one, or a Costs ratio; all must match."""
    formulas = openpyxl.load_workbook(original)
    values = openpyxl.load_workbook(recalculated, data_only=True)
    by_cell = {}
    for name, defined in formulas.defined_names.items():
        for sheet, ref in defined.destinations:
            by_cell[(sheet, ref.replace("$", ""))] = name
    checked = 0
    for ws in formulas:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                got = values[ws.title][cell.coordinate].value
                name = by_cell.get((ws.title, cell.coordinate)) or cell.value[1:]
                if name in expected:
                    want = expected[name]
                elif ws.title.endswith("Costs") and cell.column == 5:  # optimal / chinchilla ratio column
                    opt, chin = (values[ws.title].cell(cell.row, c).value for c in (3, 4))
                    want = opt / chin if chin else None  # IF(D=0,"",...): an empty string reads back as None
                    if chin:
                        assert opt == pytest.approx(expected[by_cell[(ws.title, f"C{cell.row}")]], rel=REL)
                else:
                    raise AssertionError(f"unchecked formula {ws.title}!{cell.coordinate} = {cell.value}")
                if isinstance(want, str):
                    assert got == want, f"{ws.title}!{cell.coordinate}: LibreOffice {got!r}, Python {want!r}"
                    checked += 1
                    continue
                assert got == (pytest.approx(want, rel=REL, abs=1e-12) if want is not None else None), (
                    f"{ws.title}!{cell.coordinate} {cell.value}: LibreOffice {got}, Python {want}")
                checked += 1
    return checked


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    entries = [prepare(tco.load_scenario(path), sweep_points=40) for path in SCENARIOS]
    paths = [write_report(e, folder / f"{e.scenario.name}.xlsx") for e in entries]
    return entries, paths, recalc(paths, folder / "recalculated")


def test_every_bundled_scenario_recalculates_to_the_python_values(bundled):
    entries, paths, recalculated = bundled
    for entry, path, out in zip(entries, paths, recalculated):
        checked = check_every_formula(path, out, expected_by_name(entry))
        assert checked >= 40, path.name  # Costs, savings, summary: every formula was compared


def test_comparison_workbook_recalculates(tmp_path):
    # a fixed-MFU scenario next to a roofline one: each scenario's formulas use its own prefixed names
    roofline = next(p for p in SCENARIOS if tco.load_scenario(p).serving.roofline is not None)
    entries = [prepare(tco.load_scenario(p), sweep_points=10) for p in (SCENARIOS[0], roofline)]
    path = write_report(entries, tmp_path / "compare.xlsx")
    (out,) = recalc([path], tmp_path / "out")
    expected = {**expected_by_name(entries[0], "s1_"), **expected_by_name(entries[1], "s2_")}
    assert check_every_formula(path, out, expected) >= 80


def _set_input(wb, name: str, factor: float) -> float:
    sheet, ref = next(wb.defined_names[name].destinations)
    cell = wb[sheet][ref.replace("$", "")]
    cell.value = cell.value * factor
    return cell.value


def test_changing_inputs_moves_the_costs_as_the_formulas_say(bundled, tmp_path):
    entries, paths, _ = bundled
    index = next(i for i, e in enumerate(entries) if e.scenario.name == "sardana-cost-objective")
    entry, path = entries[index], paths[index]
    wb = openpyxl.load_workbook(path)
    _set_input(wb, "train_price_usd_per_hour", 2.0)
    _set_input(wb, "requests", 10.0)
    _set_input(wb, "decode_mfu", 0.5)
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    (out,) = recalc([edited], tmp_path / "out")
    values = openpyxl.load_workbook(out, data_only=True)

    def named(name):
        sheet, ref = next(values.defined_names[name].destinations)
        return values[sheet][ref.replace("$", "")].value

    for which, point in (("optimal", entry.result.optimal), ("chinchilla", entry.result.chinchilla)):
        assert named(f"{which}_params") == pytest.approx(point.params, rel=REL)  # solved values stay put
        assert named(f"{which}_training_cost_usd") == pytest.approx(2 * point.training_cost_usd, rel=REL)
        assert named(f"{which}_prefill_cost_usd") == pytest.approx(10 * point.prefill_cost_usd, rel=REL)
        assert named(f"{which}_decode_cost_usd") == pytest.approx(20 * point.decode_cost_usd, rel=REL)
        total = 2 * point.training_cost_usd + 10 * point.prefill_cost_usd + 20 * point.decode_cost_usd
        assert named(f"{which}_total_cost_usd") == pytest.approx(total, rel=REL)
    assert named("savings_total_cost_usd") == pytest.approx(
        named("chinchilla_total_cost_usd") - named("optimal_total_cost_usd"), rel=REL)
    # the Summary follows: its total is the Costs total and its headline quotes the new dollars
    total = named("optimal_total_cost_usd")
    assert total > 1.5 * entry.result.optimal.total_cost_usd
    summary = values["Summary"]
    row = next(r for r in range(1, summary.max_row + 1) if summary.cell(r, 1).value == "Total lifetime cost")
    assert summary.cell(row, 2).value == pytest.approx(total, rel=REL)
    assert f"Lifetime cost ${total:,.0f}, ${named('savings_total_cost_usd'):,.0f} (" in named("headline")


def test_growth_and_discount_are_live_inputs(bundled, tmp_path):
    # Edit demand growth and the discount rate on Inputs: the horizon's requests (nominal and present value), the
    # discounted hours and the lifetime tokens must follow as tco computes them for the edited scenario.
    entries, paths, _ = bundled
    index = next(i for i, e in enumerate(entries) if e.scenario.name == "provisioned-fleet-chat")
    entry, path = entries[index], paths[index]
    wb = openpyxl.load_workbook(path)
    for name, value in (("growth_per_year", 0.5), ("discount_rate", 0.12)):
        sheet, ref = next(wb.defined_names[name].destinations)
        wb[sheet][ref.replace("$", "")].value = value
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    (out,) = recalc([edited], tmp_path / "out")
    values = openpyxl.load_workbook(out, data_only=True)
    data = entry.scenario.model_dump()
    data["demand"].update(growth_per_year=0.5, discount_rate=0.12)
    demand = tco.scenario_from_dict(data, base_dir=ROOT / "scenarios").demand
    assert demand.pv_requests != pytest.approx(entry.scenario.demand.pv_requests, rel=0.1)  # the edit matters
    for name, want in (("requests", demand.pv_requests), ("nominal_requests", demand.nominal_requests),
                       ("horizon_hours", demand.horizon_hours),
                       ("lifetime_prompt_tokens", demand.lifetime_prompt_tokens)):
        sheet, ref = next(values.defined_names[name].destinations)
        assert values[sheet][ref.replace("$", "")].value == pytest.approx(want, rel=REL), name


def test_roofline_decode_formula_follows_an_edited_batch(bundled, tmp_path):
    # Halve the decode batch on Inputs: LibreOffice's MAX(compute, memory) must give the decode cost tco
    # computes for the same (N, D) at batch 32 (tco.studies.arrays.evaluate on a view with the override).
    from tco.model.build import build_model
    from tco.studies.arrays import evaluate, view

    entries, paths, _ = bundled
    index = next(i for i, e in enumerate(entries) if e.scenario.serving.roofline is not None)
    entry, path = entries[index], paths[index]
    wb = openpyxl.load_workbook(path)
    batch = _set_input(wb, "roof_batch_size", 0.5)
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    (out,) = recalc([edited], tmp_path / "out")
    values = openpyxl.load_workbook(out, data_only=True)
    halved = view(entry.scenario, {"serving.batch_size": batch})
    model = build_model(halved)
    for which, point in (("optimal", entry.result.optimal), ("chinchilla", entry.result.chinchilla)):
        sheet, ref = next(values.defined_names[f"{which}_decode_cost_usd"].destinations)
        want = float(evaluate(halved, model, point.params, point.tokens)["decode_cost_usd"])
        assert want > point.decode_cost_usd * 1.2  # memory bound: fewer sequences share each weight read
        assert values[sheet][ref.replace("$", "")].value == pytest.approx(want, rel=REL)


def test_reasoning_demand_recalculates(tmp_path):
    # samples and hidden reasoning per request add their Inputs rows; lifetime generated tokens and the decode
    # context become formulas over them (tco.scenario.reasoning), which LibreOffice must evaluate to Python's
    path = next(p for p in SCENARIOS if p.name == "chat-assistant-70b-quality.yaml")
    data = tco.load_scenario(path).model_dump()
    data["demand"].update(samples_per_request=4, reasoning_tokens_per_request=2000)
    entry = prepare(tco.scenario_from_dict(data, base_dir=path.parent), sweep_points=10)
    report = write_report(entry, tmp_path / "reasoning.xlsx")
    (out,) = recalc([report], tmp_path / "out")
    assert check_every_formula(report, out, expected_by_name(entry)) >= 40
    wb = openpyxl.load_workbook(report)
    sheet, ref = next(wb.defined_names["lifetime_generated_tokens"].destinations)
    assert "samples_per_request" in wb[sheet][ref.replace("$", "")].value
