"""One file per cost term: its $ and FLOPs, exact-solver pieces (and so its GP expression), report figures with
their Excel formulas, and its Inputs-sheet rows. The registry lists the terms in force (`TERMS`).

To add a term: a `CostTerm` subclass in a new file here (with `from_scenario`), then `register(MyTerm)` (or add
it to `TERMS` in registry.py). The GP, the exact solvers, JSON, terminal, workbook, sweeps and charts pick it up.
"""

from .base import SARDANA_DEFAULT, CostTerm, Figure, InputRow, Monomial, given
from .data import DataCost
from .decode import DecodeCost, RooflineDecodeCost
from .prefill import PrefillCost
from .registry import GROUP_LABELS, TERMS, aggregate, layout, register, registered, unregister
from .training import TrainingCost, attention_input_rows

__all__ = ["CostTerm", "Figure", "InputRow", "Monomial", "given", "TrainingCost", "PrefillCost", "DecodeCost",
           "RooflineDecodeCost", "DataCost", "TERMS", "register", "unregister", "registered", "layout", "aggregate",
           "GROUP_LABELS", "SARDANA_DEFAULT", "attention_input_rows"]
