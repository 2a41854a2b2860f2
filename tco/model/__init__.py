"""Scenario -> numbers -> solutions: cost terms, caps, the GP (cvxpy) and its polish
(the exact 1-D solver is tco.solve)."""

from .checks import CHECKS  # importing it registers the physics checks with the scenario's validation
from .build import Model, build_model, resolve
from .caps import CAPS, Cap, MaxParams, MaxTokens, TrainingDeadline
from .costs import TERMS, CostTerm, DataCost, DecodeCost, PrefillCost, RooflineDecodeCost, TrainingCost

__all__ = [
    "CHECKS", "Model", "resolve", "build_model", "CAPS", "Cap", "MaxParams", "MaxTokens", "TrainingDeadline",
    "TERMS", "CostTerm", "DataCost", "DecodeCost", "PrefillCost", "RooflineDecodeCost", "TrainingCost",
]
