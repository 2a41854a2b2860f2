"""`model:` the architecture to train and serve: dense (the default), or a mixture of experts with a fixed expert
count or a list of candidates to choose from (`tco.choice`). What the user states, no physics: the physics of
experts is `tco.model.experts`, the loss of an expert count is the law's (`tco.laws.MoELaw`).

    model:
      experts: [1, 2, 4, 8, 16, 32]   # one value fixes E; a list solves one geometric program per E
      top_k: 1                        # experts each token is routed to (Ludziejewski et al. 2025: top-1)
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ..errors import FieldError
from .fields import Count, StrictModel, rule, within

__all__ = ["Architecture", "Experts", "EXPERTS_RANGE"]

#: Experts per layer: 1 (dense) to 4,096. Published MoEs use 8-256 (Mixtral 8, DeepSeek-V3 256) and the
#: Ludziejewski et al. law saturates near its E_max = 290: beyond a few thousand nothing is gained.
EXPERTS_RANGE = (1, 4096)
_whole = rule(lambda v: float(v).is_integer(), "must be a whole number")
Experts = Annotated[Count, AfterValidator(_whole),
                    within(*EXPERTS_RANGE, "dense to 16x DeepSeek-V3's 256 routed experts", "experts")]
def _as_list(value: object) -> object:
    """One expert count is a list of one candidate (one type, so an error names one field path)."""
    return value if isinstance(value, (list, tuple)) else [value]


#: At most 10 candidates: each is one full solve (and one row of every report's table).
MAX_CANDIDATES = 10


class Architecture(StrictModel):
    """Experts per MoE layer and how many each token uses. N in every result is the ACTIVE parameter count
    (training and inference FLOPs follow it); weight memory follows the total (`tco.model.experts`)."""

    experts: Annotated[list[Experts], BeforeValidator(_as_list)] = Field(
        default=[1.0], description="experts per layer: one value fixes E (1 = dense, the default), a list of up to "
        "10 candidates solves each and reports the cheapest (an MoE law such as ludziejewski2025 is needed for "
        "E > 1)")
    top_k: Experts = Field(
        default=1.0, description="experts each token is routed to. Default 1: the top-1 (Switch) routing "
        "Ludziejewski et al. 2025 fitted their law on")

    @model_validator(mode="after")
    def _consistent(self) -> "Architecture":
        values = self.candidates
        if not values:
            raise FieldError(("experts",), "give at least one expert count")
        if len(values) > MAX_CANDIDATES:
            raise FieldError(("experts",), f"at most {MAX_CANDIDATES} candidates (each is a full solve), "
                             f"got {len(values)}")
        if len(set(values)) != len(values):
            raise FieldError(("experts",), f"candidates repeat a value: {values}")
        if self.top_k > min(values):
            raise FieldError(("top_k",), f"a token cannot use {self.top_k:g} of {min(values):g} experts: top_k "
                             "must be at most the smallest expert count")
        return self

    @property
    def candidates(self) -> list[float]:
        """The expert counts to solve, in the order given."""
        return list(self.experts)

    @property
    def is_choice(self) -> bool:
        return len(self.experts) > 1

    @property
    def experts_in_force(self) -> float:
        """The expert count this scenario's own solve uses: the value, or the first candidate of a list (whose
        choice `tco.optimize` makes by solving every candidate)."""
        return self.candidates[0]

    @property
    def is_moe(self) -> bool:
        return any(e != 1 for e in self.candidates)
