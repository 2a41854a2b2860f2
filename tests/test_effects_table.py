"""The README's table of how much each realism effect moves the bundled roofline scenario is tools/effects.py's
output, so the printed figures cannot go stale."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _effects():
    spec = importlib.util.spec_from_file_location("effects", ROOT / "tools" / "effects.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_effect_table_is_the_tools_output():
    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- effects:begin (python tools/effects.py) -->\n", "\n<!-- effects:end -->"
    printed = readme[readme.index(begin) + len(begin):readme.index(end)]
    assert printed == _effects().table()


def test_each_effect_moves_the_optimum_the_way_its_physics_says():
    rows = {label.split(" (")[0]: (n, d, cost) for label, n, d, cost in _effects().rows()}
    n0, d0, c0 = rows["before: 6ND/2N, goodput 1, pure roofline, no memory fit, busy"]
    n, d, cost = rows["+ attention FLOPs"]
    assert cost > c0 and n > n0  # attention grows slower than N (N^(2/3)): it taxes over-training, so N rises
    n, d, cost = rows["+ training goodput 0.9"]
    assert cost > c0 and n > n0  # dearer training hours buy fewer tokens
    n, d, cost = rows["+ serving step model"]
    assert cost > c0 and n < n0  # dearer decode favours a smaller model
    n, d, cost = rows["+ fleet at 50% average utilization"]
    assert cost > c0 and n < n0 and d > d0  # inference at twice the price: smaller, longer trained
