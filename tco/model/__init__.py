"""Scenario -> numbers -> solutions: cost terms, caps, the GP (cvxpy) and its polish
(the exact 1-D solver is tco.solve)."""

from .compile import Model, build_model
from .constraints import CAPS, Cap, MaxParams, MaxTokens, TrainingDeadline
from .terms import TERMS, CostTerm, DataCost, DecodeCost, PrefillCost, RooflineDecodeCost, TrainingCost

__all__ = [
    "Model", "build_model", "CAPS", "Cap", "MaxParams", "MaxTokens", "TrainingDeadline",
    "TERMS", "CostTerm", "DataCost", "DecodeCost", "PrefillCost", "RooflineDecodeCost", "TrainingCost",
]
