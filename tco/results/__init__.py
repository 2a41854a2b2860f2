"""The results phase: typed answers. `Result` (one solved scenario) with its designs (`DesignPoint`, figures and a
breakdown by cost term), the caps at the optimum, the cross-check, and the optional typed sections: the inputs in
force, own vs rent, deployment sizing, the demand's time value, repeated data and the decode roofline.

Nothing here solves: the values are computed by the pipeline (`tco.optimize`, `tco.results.deployment`,
`tco.repeated`; a given design's `Evaluation`: `tco.evaluate`)."""

from .choice import ArchitectureCandidate, ArchitectureChoice
from .evaluation import Evaluation, ServingPerformance, TrainingTime
from .quantization import QuantizedServing, UnpenalizedDesign
from .result import BASELINE_LABEL, ConstraintReport, CrossCheck, DesignPoint, Result, Savings
from .sections import (DataInputs, DataLimits, DecodeBound, DecodeRoofline, DemandInputs, DeploymentSizing, Inputs,
                       Ownership, OwnershipInputs, OwnershipPhase, ReplicaSizing, Section, ServingFitInputs,
                       ServingInputs, ServingPricing, ServingSizing, TimeValue, TrainingInputs, TrainingSizing)

__all__ = [
    "BASELINE_LABEL",
    "QuantizedServing",
    "UnpenalizedDesign",
    "Result",
    "ArchitectureChoice",
    "ArchitectureCandidate",
    "DesignPoint",
    "Savings",
    "ConstraintReport",
    "CrossCheck",
    "Section",
    "Inputs",
    "TrainingInputs",
    "ServingInputs",
    "DemandInputs",
    "DataInputs",
    "OwnershipInputs",
    "ServingFitInputs",
    "Ownership",
    "OwnershipPhase",
    "DeploymentSizing",
    "TrainingSizing",
    "ServingSizing",
    "ServingPricing",
    "ReplicaSizing",
    "TimeValue",
    "DataLimits",
    "DecodeRoofline",
    "DecodeBound",
    "Evaluation",
    "ServingPerformance",
    "TrainingTime",
]
