"""Scenario -> numbers -> solutions: cost terms, caps, the GP (cvxpy), its polish, and the exact 1-D solver."""

from .checks import CHECKS  # importing it registers the physics checks with the scenario's validation
from .compile import Model, build_model
from .constraints import CAPS, Cap, MaxParams, MaxTokens, TrainingDeadline
from .exact import ExactSolution, solve_exact
from .regimes import Regime, regimes, solve_model_exact
from .costs import TERMS, CostTerm, DataCost, DecodeCost, PrefillCost, RooflineDecodeCost, TrainingCost

__all__ = [
    "CHECKS", "Model", "build_model", "CAPS", "Cap", "MaxParams", "MaxTokens", "TrainingDeadline",
    "ExactSolution", "solve_exact", "Regime", "regimes", "solve_model_exact",
    "TERMS", "CostTerm", "DataCost", "DecodeCost", "PrefillCost", "RooflineDecodeCost", "TrainingCost",
]
