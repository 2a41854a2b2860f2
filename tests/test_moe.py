"""Mixture of experts: the ludziejewski2025 law, costs that follow active vs total parameters, touched experts."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import tco
from tco.errors import ScenarioError
from tco.laws import get_law, get_moe_law
from tco.model.experts import expected_touched_experts, read_per_active, total_per_active
from tco.model.replica import memory_params_limit, replica_step

REFERENCE = json.loads((Path(__file__).parent / "data" / "moe_ludziejewski2025.json").read_text())
K = REFERENCE["constants"]


def _paper_loss(n_act, tokens, experts):
    """Eq. 6 of Ludziejewski et al. 2025 written out from the reference file, independently of tco.laws."""
    inv = 1.0 / (experts - 1.0 + 1.0 / (1.0 / K["E_start"] - 1.0 / K["E_max"])) + 1.0 / K["E_max"]
    eh = 1.0 / inv
    return (K["a"] * eh ** K["delta"] * n_act ** (K["alpha"] + K["gamma"] * math.log(eh))
            + K["b"] * eh ** K["omega"] * tokens ** (K["beta"] + K["zeta"] * math.log(eh)) + K["c"])


@pytest.mark.parametrize("experts", [1, 2, 8, 32, 256])
def test_law_at_experts_is_eq6(experts):
    law = get_law("ludziejewski2025", experts)
    for n, d in ((1e8, 1e10), (3.8e9, 44.3e9), (7e10, 2e12)):
        assert law.loss(n, d) == pytest.approx(_paper_loss(n, d, experts), rel=1e-13)


@pytest.mark.parametrize("case", REFERENCE["compute_optimal_cases"], ids=lambda c: f"E{c['experts']}")
def test_published_compute_optimal_cases(case, tco_run):
    law = get_law("ludziejewski2025", case["experts"])
    n, d = law.allocate(case["flops"])
    assert n == pytest.approx(case["active_params"], rel=case["rel"])
    assert d == pytest.approx(case["tokens"], rel=case["rel"])
    # independently: minimize eq. 6 along 6 N D = C by a bounded scalar search
    budget = case["flops"] / 6.0
    best = minimize_scalar(lambda x: _paper_loss(math.exp(x), budget / math.exp(x), case["experts"]),
                           bounds=(math.log(1e7), math.log(1e13)), method="bounded", options={"xatol": 1e-10})
    assert n == pytest.approx(math.exp(best.x), rel=1e-4)
    code, out, _ = tco_run("allocate", "--law", "ludziejewski2025", "--experts", str(case["experts"]),
                           "--flops", str(case["flops"]), "--json")
    assert code == 0
    row = json.loads(out)["allocations"][0]
    assert row["experts"] == case["experts"]
    assert row["params"] == pytest.approx(case["active_params"], rel=case["rel"])
    assert row["tokens"] == pytest.approx(case["tokens"], rel=case["rel"])
    e = case["experts"]  # the reference's memory relation without embeddings: (4 + 9E) / 13 at top-1
    assert row["total_params"] == pytest.approx(row["params"] * (4 + 9 * e) / 13, rel=1e-12)


def test_allocate_refuses_experts_on_a_dense_law(tco_run):
    code, _, err = tco_run("allocate", "--law", "hoffmann2022", "--experts", "8", "--flops", "1e21")
    assert code == 2 and "dense" in err and len(err.strip().splitlines()) == 1


def test_memory_relation_of_the_reference():
    # N_total / N_act from the reference's own relation at a large width (embeddings negligible): d = 8192
    d, v = 8192.0, 0.0
    blocks = d / 64
    for e in (1, 8, 64):
        total, active = 2 * d * v + (4 + 9 * e) * blocks * d**2, 2 * d * v + 13 * blocks * d**2
        assert total_per_active(e, 1) == pytest.approx(total / active, rel=1e-12)


def test_touched_experts_by_hand():
    assert expected_touched_experts(8, 1, 1) == pytest.approx(1.0)
    assert expected_touched_experts(8, 1, 16) == pytest.approx(8 * (1 - 0.875**16))
    assert expected_touched_experts(64, 2, 256) == pytest.approx(64 * (1 - (62 / 64) ** 256))
    # brute force: simulate uniform top-k routing of a batch and count distinct experts
    rng = np.random.default_rng(0)
    counts = [len({x for _ in range(16) for x in rng.choice(32, 2, replace=False)}) for _ in range(20000)]
    assert np.mean(counts) == pytest.approx(expected_touched_experts(32, 2, 16), rel=5e-3)


def _moe_scenario(experts, batch, **serving):
    return tco.scenario_from_dict({
        "name": "moe", "law": "ludziejewski2025", "target": {"loss": 2.3}, "model": {"experts": experts},
        "training": {"hardware": "H100 SXM"},
        "serving": {"hardware": "H100 SXM", "dtype": "fp8", "batch_size": batch,
                    "roofline": {"architecture": {"layers": 32, "kv_heads": 8, "heads": 32, "head_dim": 128},
                                 "calibration": None}, **serving},
        "demand": {"requests": 1e9}, "attention_flops": False,
    })


@pytest.mark.parametrize("batch", [1, 16, 256])
def test_decode_bytes_hand_checked(batch):
    """E = 8, top-1, fp8 (1 byte), N_act = 1e9: a step reads the shared 4/13 of N_act plus 9/13 of N_act per
    touched expert (the 8 experts of a layer hold 8 x 9/13 N_act); touched = 1, 7.0555, ~8 at batch 1, 16, 256."""
    touched = {1: 1.0, 16: 8 * (1 - 0.875**16), 256: 8 * (1 - 0.875**256)}[batch]
    expected_bytes = 1e9 * (4 + 9 * touched) / 13
    s = _moe_scenario(8, batch)
    step = replica_step(s, 1e9)
    bandwidth = s.serving.device.bandwidth_gb_per_s * 1e9 * s.serving.roofline.bandwidth_efficiency
    assert step.weights_seconds * bandwidth == pytest.approx(expected_bytes, rel=1e-12)
    assert step.weight_bytes == pytest.approx(1e9 * 76 / 13, rel=1e-12)  # the replica holds all 8 experts
    if batch == 1:
        assert expected_bytes == pytest.approx(1e9)  # one token reads exactly its active weights
    assert read_per_active(8, 1, batch) == pytest.approx(expected_bytes / 1e9, rel=1e-12)


def test_memory_fit_follows_total_params():
    dense, moe = _moe_scenario(1, 16), _moe_scenario(8, 16)
    kv = 16 * (70 + 215) * 2 * 32 * 8 * 128 * 2  # batch x tokens x KV bytes per token (fixed architecture)
    assert memory_params_limit(dense) == pytest.approx((80e9 - kv) / 1.0, rel=1e-9)
    assert memory_params_limit(moe) == pytest.approx((80e9 - kv) / (76 / 13), rel=1e-9)


def test_moe_optimum_matches_a_dense_scenario_with_the_equivalent_law():
    """E fixes a Chinchilla-form law: with the roofline replaced by a fixed decode MFU (no bytes involved), an
    MoE scenario equals a dense one whose law is that E's constants given inline."""
    base = {"name": "x", "target": {"loss": 2.3}, "training": {"hardware": "H100 SXM"},
            "serving": {"hardware": "H100 SXM"}, "demand": {"requests": 1e9}, "attention_flops": False}
    moe = tco.optimize(tco.scenario_from_dict({**base, "law": "ludziejewski2025", "model": {"experts": 16}}))
    law = get_law("ludziejewski2025", 16)
    dense = tco.optimize(tco.scenario_from_dict({**base, "law": {**law.constants(), "name": "e16"}}))
    assert moe.optimal.params == pytest.approx(dense.optimal.params, rel=1e-9)
    assert moe.optimal.tokens == pytest.approx(dense.optimal.tokens, rel=1e-9)


def test_inline_moe_constants_equal_the_preset():
    base = {"name": "x", "target": {"loss": 2.3}, "training": {"hardware": "H100 SXM"}, "model": {"experts": 4},
            "serving": {"hardware": "H100 SXM"}, "demand": {"requests": 1e9}}
    preset = tco.optimize(tco.scenario_from_dict({**base, "law": "ludziejewski2025"}))
    inline = tco.optimize(tco.scenario_from_dict({**base, "law": {"form": "moe", **get_moe_law(
        "ludziejewski2025").constants()}}))
    assert inline.optimal.params == pytest.approx(preset.optimal.params, rel=1e-12)


@pytest.mark.parametrize("change, path", [
    ({"law": "hoffmann2022"}, "model.experts"),
    ({"model": {"experts": 8, "top_k": 16}}, "model.top_k"),
    ({"model": {"experts": 2.5}}, "model.experts"),
    ({"model": {"experts": [4, 4]}}, "model.experts"),
])
def test_bad_architecture_is_one_line_naming_the_field(change, path):
    data = {"name": "x", "law": "ludziejewski2025", "target": {"loss": 2.3}, "model": {"experts": 8},
            "training": {"hardware": "H100 SXM"}, "serving": {"hardware": "H100 SXM"},
            "demand": {"requests": 1e9}, **change}
    with pytest.raises(ScenarioError) as err:
        tco.scenario_from_dict(data)
    assert path in str(err.value) and "\n" not in str(err.value)


# --- choosing the architecture: experts x serving precision ------------------------------------------------
def _choice_data(experts, precisions=None, **serving):
    data = {
        "name": "choice", "law": "ludziejewski2025", "target": {"loss": 2.2}, "model": {"experts": experts},
        "training": {"hardware": "H100 SXM"},
        "serving": {"hardware": "H100 SXM", "dtype": "fp8", "batch_size": 256,
                    "roofline": {"shape": {"aspect_ratio": 128, "kv_head_fraction": 0.125}}, **serving},
        "demand": {"requests": 3e9},
    }
    if precisions is not None:
        data["serving"]["precisions"] = precisions
    return data


def test_expert_choice_matches_independent_per_e_solves():
    candidates = [1, 2, 4, 8, 16, 32]
    chosen = tco.optimize(tco.scenario_from_dict(_choice_data(candidates)))
    table = chosen.architecture_choice
    assert table is not None and table.axes == ("experts",)
    singles = [tco.optimize(tco.scenario_from_dict(_choice_data(e))) for e in candidates]
    for row, single in zip(table.candidates, singles):
        assert single.architecture_choice is None  # one value fixes E: no choice
        assert row.params == pytest.approx(single.optimal.params, rel=1e-6)
        assert row.tokens == pytest.approx(single.optimal.tokens, rel=1e-6)
        assert row.total_cost_usd == pytest.approx(single.optimal.total_cost_usd, rel=1e-6)
        assert row.total_params == pytest.approx(single.optimal.params * (4 + 9 * row.experts) / 13, rel=1e-12)
    best = min(range(len(singles)), key=lambda i: singles[i].optimal.total_cost_usd)
    assert table.winner == best
    assert chosen.optimal.total_cost_usd == pytest.approx(singles[best].optimal.total_cost_usd, rel=1e-6)
    assert chosen.optimal.params == pytest.approx(singles[best].optimal.params, rel=1e-6)
    assert 1 < candidates[best] < 32  # this demand makes an interior expert count the cheapest
    assert chosen.to_dict()["architecture_choice"]["winner"] == best


def test_precision_axis_matches_independent_dtype_solves():
    chosen = tco.optimize(tco.scenario_from_dict(_choice_data([1, 8], ["bf16", "fp8", "int8"])))
    table = chosen.architecture_choice
    assert table.axes == ("experts", "precision")
    assert [(r.experts, r.precision) for r in table.candidates] == [
        (e, p) for e in (1, 8) for p in ("bf16", "fp8", "int8")]
    costs = []
    for row in table.candidates:
        single = tco.optimize(tco.scenario_from_dict({**_choice_data(row.experts), "serving": {
            **_choice_data(row.experts)["serving"], "dtype": row.precision}}))
        assert row.total_cost_usd == pytest.approx(single.optimal.total_cost_usd, rel=1e-6)
        costs.append(single.optimal.total_cost_usd)
    assert table.winner == int(np.argmin(costs))
    # bf16 stores 2 bytes per weight and has half fp8's peak: it is never the cheaper of the two here
    assert costs[0] > costs[1] and costs[3] > costs[4]


def test_a_precision_the_device_lacks_names_it():
    with pytest.raises(ScenarioError) as err:
        tco.scenario_from_dict(_choice_data(8, ["bf16", "int4"]))
    assert "serving.precisions.1" in str(err.value) and "int4" in str(err.value)
    with pytest.raises(ScenarioError, match="serving.precisions"):
        tco.scenario_from_dict(_choice_data(8, ["fp8"], bytes_per_param=1))


def test_an_infeasible_candidate_is_a_row_not_the_end():
    # memory fit: 32 experts hold (4 + 288) / 13 = 22.5x the active weights; a 4 GB device holds a dense model
    # that reaches the target but no 32-expert one
    data = _choice_data([1, 32])
    data["serving"]["hardware"] = {"name": "H100 SXM", "memory_gb": 4}
    chosen = tco.optimize(tco.scenario_from_dict(data))
    rows = chosen.architecture_choice.candidates
    assert rows[0].feasible and not rows[1].feasible and "memory_fit" in rows[1].error
    assert chosen.architecture_choice.winner == 0
    data["model"]["experts"] = 32  # alone, it is the usual one-line infeasibility
    with pytest.raises(tco.InfeasibleError, match="memory_fit"):
        tco.optimize(tco.scenario_from_dict(data))


def test_optimize_cli_prints_the_table_and_json(tco_run, tmp_path):
    import yaml

    path = tmp_path / "choice.yaml"
    path.write_text(yaml.safe_dump(_choice_data([1, 8])))
    code, out, _ = tco_run("optimize", path, "--json", "--no-report")
    assert code == 0
    data = json.loads(out)
    assert [c["experts"] for c in data["architecture_choice"]["candidates"]] == [1, 8]
    code, out, _ = tco_run("optimize", path, "--no-report")
    assert code == 0 and "Architecture choice over experts" in out and "N total" in out


BUNDLED = Path(__file__).resolve().parents[1] / "scenarios" / "moe-expert-choice.yaml"


def test_studies_refuse_a_choice_naming_the_field():
    from tco.studies.breakeven import breakeven
    from tco.studies.robust import robust_design
    from tco.studies.sweep import demand_sweep

    scenario = tco.load_scenario(BUNDLED)
    for study in (lambda: demand_sweep(scenario, [1e12]), lambda: breakeven(scenario),
                  lambda: robust_design(scenario, samples=2)):
        with pytest.raises(ScenarioError) as err:
            study()
        assert "model.experts" in str(err.value) and "\n" not in str(err.value)
    # the workbook's demand sweep prices the winner, a fixed architecture
    from tco.studies import prepare

    entry = prepare(scenario, sweep_points=3)
    assert entry.scenario.model.experts == [8.0] and len(entry.sweep) == 3


def test_bundled_scenario_chooses_an_interior_expert_count():
    chosen = tco.optimize(tco.load_scenario(BUNDLED))
    table = chosen.architecture_choice
    costs = [c.total_cost_usd for c in table.candidates]
    assert table.best.experts == 8 and costs[table.winner] == min(costs)
    assert costs[0] > costs[table.winner] and costs[-1] > costs[table.winner]  # dense and 32 experts both lose


def test_moe_constants_in_a_law_file(tmp_path):
    import yaml

    constants = get_moe_law("ludziejewski2025").constants()
    (tmp_path / "ours.yaml").write_text(yaml.safe_dump({"law": {"form": "moe", "name": "ours", **constants}}))
    data = _choice_data(8)
    data["law"] = "ours.yaml"
    from_file = tco.optimize(tco.scenario_from_dict(data, base_dir=tmp_path))
    preset = tco.optimize(tco.scenario_from_dict(_choice_data(8)))
    assert from_file.optimal.params == pytest.approx(preset.optimal.params, rel=1e-12)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"law": {"form": "moe", **constants, "alpha": 0.19}}))
    data["law"] = "bad.yaml"
    with pytest.raises(ScenarioError, match="law.alpha"):
        tco.scenario_from_dict(data, base_dir=tmp_path)
