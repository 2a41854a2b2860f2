"""tco: inference-aware LLM total-cost-of-ownership optimizer.

    import tco
    scenario = tco.load_scenario("scenarios/chat-assistant-70b-quality.yaml")
    result = tco.optimize(scenario)
    result.optimal.params, result.savings.fraction, result.to_frame()
    tco.evaluate(scenario, params=30e9, tokens=3e12).excess_cost_usd   # a proposed design, priced the same way

Pipeline: scenario (pydantic, YAML) -> model (cost terms + caps) -> GP solve, polished and cross-checked against
an exact 1-D solve -> Result -> report (terminal, JSON, Excel).

The names below load on first use (PEP 562): `import tco` itself imports nothing heavy, so the command line can
start the GP worker (`tco.solve.worker`) before it loads pydantic, the scenario schema and the model, and the
worker can import the program it solves without the rest of tco.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from .assess import evaluate
    from .errors import (FieldError, InfeasibleError, OutputError, ScenarioError, SolverError, TcoError,
                         UnknownNameError)
    from .hardware import CATALOG, Device, get_device
    from .laws import PRESETS, ChinchillaLaw, KaplanLaw, Law, get_law
    from .pipeline import optimize
    from .results import DesignPoint, Result
    from .scenario import Scenario, load_scenario, scenario_from_dict

__version__ = "0.1.0"

#: each public name -> the module that defines it, imported when the name is first used
_HOME = {
    "load_scenario": ".scenario", "scenario_from_dict": ".scenario", "Scenario": ".scenario",
    "optimize": ".pipeline", "evaluate": ".assess",
    "Result": ".results", "DesignPoint": ".results",
    "Law": ".laws", "ChinchillaLaw": ".laws", "KaplanLaw": ".laws", "PRESETS": ".laws", "get_law": ".laws",
    "Device": ".hardware", "CATALOG": ".hardware", "get_device": ".hardware",
    **dict.fromkeys(("TcoError", "ScenarioError", "FieldError", "InfeasibleError", "SolverError",
                     "UnknownNameError", "OutputError"), ".errors"),
}

__all__ = ["load_scenario", "scenario_from_dict", "optimize", "evaluate", "Scenario", "Result", "DesignPoint",
           "Law", "ChinchillaLaw", "KaplanLaw", "PRESETS", "get_law", "Device", "CATALOG", "get_device",
           "TcoError", "ScenarioError", "FieldError", "InfeasibleError", "SolverError", "UnknownNameError",
           "OutputError", "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
