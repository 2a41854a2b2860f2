"""The notebook-facing surface: Result and Monte Carlo HTML reprs (their numbers, every registered term, escaped
text), the README's "Python API" snippets run as written, and examples/quickstart.ipynb executed end to end."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from pathlib import Path

import pytest

import tco
from tco.model.costs import registered
from tco.scenario.yaml import read_yaml
from tco.studies.montecarlo import monte_carlo
from tco.units import format_count, format_usd

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def _cells(markup: str) -> list[str]:
    """The text of every table cell, unescaped."""
    return [html.unescape(c) for c in re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", markup)]


def test_result_html_shows_both_designs_and_the_breakdown_by_every_registered_term():
    from tests.test_cost_registry import CheckpointStorage

    scenario = tco.load_scenario(SCENARIOS / "chat-assistant-70b-quality.yaml")
    with registered(CheckpointStorage):
        result = tco.optimize(scenario)
    markup = result._repr_html_()
    cells = _cells(markup)
    opt, base = result.optimal, result.chinchilla
    row = cells.index("Parameters N")
    assert cells[row + 1:row + 4] == [format_count(opt.params), format_count(base.params),
                                      f"{opt.params / base.params:.3f}x"]
    row = cells.index("Total cost")
    assert cells[row + 1:row + 3] == [format_usd(opt.total_cost_usd), format_usd(base.total_cost_usd)]
    # the breakdown table: one row per term of the registry in force, with its $ and share of the total
    start = cells.index("Cost term")
    breakdown = [cells[i:i + 5] for i in range(start + 5, len(cells), 5)]
    assert [r[0] for r in breakdown] == ["Training", "Prefill", "Decode", "Data", "Checkpoint storage"]
    for r, name in zip(breakdown, opt.breakdown, strict=True):
        assert r[1] == format_usd(opt.breakdown[name]) and r[3] == format_usd(base.breakdown[name])
        assert r[2] == f"{opt.breakdown[name] / opt.total_cost_usd:.1%}"
    assert "compute-optimal design at the same loss" in markup
    assert f"{result.savings.fraction:.2%}" in markup


def test_result_html_escapes_every_text_that_comes_from_the_scenario():
    data = read_yaml(SCENARIOS / "sardana-cost-objective.yaml")
    data["name"] = "<script>alert('x')</script> & $1"
    result = tco.optimize(tco.scenario_from_dict(data))
    result = dataclasses.replace(result, warnings=("<b>bold</b> warning",))
    markup = result._repr_html_()
    assert "<script>" not in markup and "<b>bold</b>" not in markup
    assert html.escape(data["name"]) in markup
    assert "warning:</b> &lt;b&gt;bold&lt;/b&gt; warning" in markup


def test_montecarlo_html_shows_the_summary_and_probabilities():
    mc = monte_carlo(tco.load_scenario(SCENARIOS / "uncertain-demand-and-law.yaml"), samples=300, seed=2,
                     progress=False)
    markup = mc._repr_html_()
    cells = _cells(markup)
    summary = mc.summary.set_index("output")
    row = cells.index("optimal_params")
    assert cells[row + 1] == f"{summary.loc['optimal_params', 'mean']:,.4g}"
    row = cells.index("savings_fraction")
    assert cells[row + 1] == f"{summary.loc['savings_fraction', 'mean']:.1%}"
    for name, value in mc.probabilities.items():
        assert html.escape(f"P({name.replace('_', ' ')}) =") + f"</b> {value:.1%}" in markup


def _readme_snippets() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_python_api_snippets_run(tmp_path, monkeypatch):
    snippets = _readme_snippets()
    assert len(snippets) >= 4  # the section's blocks: a lost fence would silently skip one
    (tmp_path / "scenarios").symlink_to(SCENARIOS, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for snippet in snippets:  # in order, in one namespace, as a reader pastes them
        exec(compile(snippet, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.optimal.params == tco.optimize(tco.load_scenario(SCENARIOS / "sardana-cost-objective.yaml")
                                                 ).optimal.params
    assert len(namespace["grid"]) == 15 and len(namespace["sweep"]) == 20
    for name in ("sardana.xlsx", "sardana-sweep.xlsx", "sardana-sensitivity.xlsx", "uncertain-montecarlo.xlsx",
                 "sardana.svg", "sardana-sweep.png", "uncertain-montecarlo.png"):
        assert (tmp_path / "reports" / name).stat().st_size > 5_000, name


def test_the_quickstart_notebook_has_no_outputs_committed():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is a dev dependency (pip install -e '.[dev]')")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_quickstart_notebook_executes(monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is a dev dependency (pip install -e '.[dev]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is a dev dependency (pip install -e '.[dev]')")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel imports this checkout's tco (not another installed copy), started where a user opens the file
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb.cells.append(nbformat.v4.new_code_cell("print(tco.__file__)"))
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [set(o.get("data", {})) for o in outputs]
    assert sum("text/html" in k for k in kinds) >= 2  # the Result and the Monte Carlo result
    assert sum("image/png" in k for k in kinds) >= 3  # the curve, the sweep, the Monte Carlo figures
    html_out = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="tco-result"' in h for h in html_out) and any('class="tco-montecarlo"' in h for h in html_out)
    assert Path(outputs[-1]["text"].strip()).resolve().is_relative_to(ROOT / "tco")


def test_every_public_study_function_documents_an_example():
    import inspect

    import tco.studies as studies

    functions = [name for name in studies.__all__ if inspect.isfunction(getattr(studies, name))]
    assert len(functions) >= 12
    missing = [name for name in functions if "Example" not in (getattr(studies, name).__doc__ or "")]
    assert not missing, f"tco.studies functions without an example in their docstring: {missing}"


def test_robust_and_breakeven_html_show_their_numbers():
    from tco.studies import breakeven, robust_design

    robust = robust_design(tco.load_scenario(SCENARIOS / "uncertain-demand-and-law.yaml"), samples=30)
    cells = _cells(robust._repr_html_())
    row = cells.index("Parameters N")
    assert cells[row + 1:row + 3] == [format_count(robust.robust.params), format_count(robust.nominal.params)]
    row = cells.index("Total cost")
    assert cells[row + 1:row + 3] == [format_usd(robust.robust.total_cost_usd),
                                      format_usd(robust.nominal.total_cost_usd)]
    assert f"{robust.premium:+.2%}" in robust._repr_html_()
    even = breakeven(tco.load_scenario(SCENARIOS / "sardana-cost-objective.yaml"))
    cells = _cells(even._repr_html_())
    for milestone in even.savings:
        row = cells.index(f"savings {milestone.target:.0%}")
        assert cells[row + 1:row + 3] == [format_count(milestone.inference_tokens), format_count(milestone.params)]
