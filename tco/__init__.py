"""tco: inference-aware LLM total-cost-of-ownership optimizer.

    import tco
    scenario = tco.load_scenario("scenarios/chat-assistant-70b-quality.yaml")
    result = tco.optimize(scenario)
    result.optimal.params, result.savings.fraction, result.to_frame()
    tco.evaluate(scenario, params=30e9, tokens=3e12).excess_cost_usd   # a proposed design, priced the same way

Pipeline: scenario (pydantic, YAML) -> model (cost terms + caps) -> GP solve, polished and cross-checked against
an exact 1-D solve -> Result -> report (terminal, JSON, Excel).
"""

from .errors import (FieldError, InfeasibleError, OutputError, ScenarioError, SolverError, TcoError,
                     UnknownNameError)
from .hardware import CATALOG, Device, get_device
from .laws import PRESETS, ChinchillaLaw, KaplanLaw, Law, get_law
from .optimize import optimize
from .evaluate import evaluate
from .results import DesignPoint, Result
from .scenario import Scenario, load_scenario, scenario_from_dict

__version__ = "0.1.0"

__all__ = [
    "load_scenario",
    "scenario_from_dict",
    "optimize",
    "evaluate",
    "Scenario",
    "Result",
    "DesignPoint",
    "Law",
    "ChinchillaLaw",
    "KaplanLaw",
    "PRESETS",
    "get_law",
    "Device",
    "CATALOG",
    "get_device",
    "TcoError",
    "ScenarioError",
    "FieldError",
    "InfeasibleError",
    "SolverError",
    "UnknownNameError",
    "OutputError",
    "__version__",
]
