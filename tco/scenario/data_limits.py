"""The `data:` section: acquisition price and the unique-token limit with its repetition model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .fields import NonNegativeCount, StrictModel, Tokens, within

#: $ per training token: up to $1 (a thousand times what licensed and human-written data costs, ~$0.001/token).
DataUsdPerToken = Annotated[NonNegativeCount, within(0, 1, "1,000x the ~$0.001 a token of licensed or "
                                                     "human-written data costs", "$ per token")]

__all__ = ["Data"]


class Data(StrictModel):
    cost_usd_per_token: DataUsdPerToken = Field(default=0.0, description="data acquisition $ per training token, "
                                                "0 to 1")
    max_unique_tokens: Tokens | None = Field(
        default=None, description="unique training tokens available (repeated epochs beyond it, see repetition)")
    repetition: Literal["muennighoff2023", "none"] = Field(
        default="muennighoff2023",
        description="muennighoff2023: repeated epochs count as effective data D' (Muennighoff et al. 2023); "
                    "none: max_unique_tokens is a hard cap on training tokens")

    excess_parameters: Literal["muennighoff2023", "none"] = Field(
        default="muennighoff2023",
        description="with repeated epochs, muennighoff2023: parameters beyond N_opt(U), the compute-optimal size "
                    "for the unique tokens, count as effective parameters N' (Muennighoff et al. 2023, eq. 6, "
                    "R*_N = 5.309743); none: only the data half (eq. 5). Without repeated epochs it has no effect")

    @property
    def decays_params(self) -> bool:
        """True when, with repeated epochs, excess parameters decay too (eq. 6; exact 1-D solve, no GP)."""
        return self.repeats and self.excess_parameters == "muennighoff2023"

    @property
    def repeats(self) -> bool:
        """True when the unique-token limit is modelled by repeated epochs (not a GP: exact 1-D solve)."""
        return self.max_unique_tokens is not None and self.repetition == "muennighoff2023"
