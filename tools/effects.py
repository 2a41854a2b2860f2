"""How much each realism effect moves a scenario's optimum: the README's effect table, regenerated.

    python tools/effects.py [SCENARIO]       # default: scenarios/roofline-long-context-assistant.yaml

Starts from the scenario in the conventions before they were modelled (6ND/2N FLOPs, goodput 1, the pure
roofline, no memory-fit cap, busy device-seconds) and turns on one effect at a time, then all of them (the
scenario as bundled, plus the utilization row's example). Prints a Markdown table; tests/test_effects_table.py
checks that the README's copy is this output.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "roofline-long-context-assistant.yaml"

#: (label, change to the "before" scenario dict); None marks the bundled scenario itself
BEFORE = {"attention_flops": False, "training.goodput": 1.0, "serving.roofline.calibration": None,
          "serving.memory_fit": False}
EFFECTS = (
    ("before: 6ND/2N, goodput 1, pure roofline, no memory fit, busy", {}),
    ("+ attention FLOPs (`attention_flops`, default on)", {"attention_flops": True}),
    ("+ training goodput 0.9 (default)", {"training.goodput": 0.9}),
    ("+ serving step model (default `calibration`)", {"serving.roofline.calibration": "default"}),
    ("+ memory fit of the batch (default on)", {"serving.memory_fit": True}),
    ("+ fleet at 50% average utilization", {"serving.pricing": "utilization", "serving.average_utilization": 0.5}),
    ("all defaults (the bundled scenario)", None),
)


def _set(data: dict, dotted: str, value) -> None:
    *parents, key = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    if value == "default":
        node.pop(key, None)
    else:
        node[key] = value


def rows(path: Path = DEFAULT):
    """(label, N, D, total $) for each row of EFFECTS."""
    import tco

    bundled = yaml.safe_load(path.read_text())
    out = []
    for label, change in EFFECTS:
        data = copy.deepcopy(bundled)
        if change is not None:
            for dotted, value in {**BEFORE, **change}.items():
                _set(data, dotted, value)
        result = tco.optimize(tco.scenario_from_dict(data, source=path.name, base_dir=path.parent))
        out.append((label, result.optimal.params, result.optimal.tokens, result.optimal.total_cost_usd))
    return out


def table(path: Path = DEFAULT) -> str:
    found = rows(path)
    _, n0, d0, c0 = found[0]
    lines = ["| effect | N | D | tokens/param | total cost | N vs before | cost vs before |",
             "|---|---|---|---|---|---|---|"]
    for label, n, d, cost in found:
        lines.append(f"| {label} | {n / 1e9:.2f}B | {d / 1e12:.2f}T | {d / n:,.0f} | ${cost:,.0f} | "
                     f"{n / n0 - 1:+.1%} | {cost / c0 - 1:+.1%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
