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

    @property
    def repeats(self) -> bool:
        """True when the unique-token limit is modelled by repeated epochs (not a GP: exact 1-D solve)."""
        return self.max_unique_tokens is not None and self.repetition == "muennighoff2023"
