"""Reasoning-length demand: several samples per request (best-of-k, self-consistency) and reasoning tokens that
are generated but not shown. Mixed into `tco.scenario.schema.Demand`; every other module reads the derived
per-request figures below, never the raw fields, so lifetime tokens, KV context, sizing and sweeps agree.

What one request costs, decided here once:
- the prompt is prefilled **once** per request, whatever k: the k samples share its KV cache (vLLM's parallel
  sampling and prefix caching map every sample onto the prompt's blocks), so lifetime prompt tokens do not scale
  with k;
- each sample decodes its own reasoning and its own answer, `reasoning_tokens_per_request +
  generated_tokens_per_request` tokens, so a request decodes k times that (`decoded_tokens_per_request`);
- a sample attends to the prompt and to its own earlier tokens, never to its siblings': the average context of a
  decoded token is prompt + (reasoning + answer) / 2 (`decode_context_per_token`), and hidden reasoning tokens
  grow it exactly as shown ones do;
- a sequence in the decode batch holds its own reasoning and answer plus its 1/k share of the shared prompt
  (`resident_tokens_per_sequence`): what memory fit and the KV-capacity batch limit count.

Only per-request demand can say this: with lifetime token totals (`prompt_tokens`, `generated_tokens`) the
generated total already counts every sample, so the fields are refused there (`check_reasoning`).

Plain arithmetic on attributes, so it also evaluates against a `tco.studies.arrays.ScenarioView` of arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from ..errors import FieldError
from .fields import Count, StrictModel, TokensPerRequest, within

__all__ = ["ReasoningDemand", "check_reasoning", "SAMPLES_RANGE"]

#: Samples per request: 1 (plain chat) to 1e6 (AlphaCode drew up to a million samples per problem, Li et al. 2022).
SAMPLES_RANGE = (1.0, 1e6)
SamplesPerRequest = Annotated[Count, within(*SAMPLES_RANGE, "AlphaCode drew up to a million samples per problem",
                                            "samples")]


class ReasoningDemand(StrictModel):
    samples_per_request: SamplesPerRequest = Field(
        default=1.0, description="samples generated per request (best-of-k, self-consistency): each decodes its "
        "own reasoning and answer over the one shared, once-prefilled prompt. Default 1 (one answer)")
    reasoning_tokens_per_request: TokensPerRequest = Field(
        default=0.0, description="hidden reasoning tokens each sample generates before its answer: decoded and "
        "attended like generated tokens, never shown. Default 0")
    if TYPE_CHECKING:  # fields of `Demand`, which mixes this in
        prompt_tokens_per_request: float
        generated_tokens_per_request: float

    @property
    def decoded_tokens_per_sample(self):
        """Tokens one sample decodes: its reasoning, then its answer."""
        return self.reasoning_tokens_per_request + self.generated_tokens_per_request

    @property
    def decoded_tokens_per_request(self):
        """Tokens a request decodes over all its samples: what lifetime generated tokens count."""
        return self.samples_per_request * self.decoded_tokens_per_sample

    @property
    def tokens_per_request(self):
        """Prompt (prefilled once) plus every decoded token: one request's share of lifetime inference tokens."""
        return self.prompt_tokens_per_request + self.decoded_tokens_per_request

    @property
    def decode_context_per_token(self):
        """Average context a decoded token attends to: the prompt plus half its own sample's decode."""
        return self.prompt_tokens_per_request + self.decoded_tokens_per_sample / 2.0

    @property
    def resident_tokens_per_sequence(self):
        """KV tokens one decoding sequence holds at its end: its own decode plus its share of the shared prompt."""
        return self.prompt_tokens_per_request / self.samples_per_request + self.decoded_tokens_per_sample

    @property
    def reasons(self) -> bool:
        """True when the request is more than one plain answer (k > 1 or hidden reasoning)."""
        return bool(self.samples_per_request != 1.0 or self.reasoning_tokens_per_request != 0.0)


def check_reasoning(demand) -> None:
    """Samples and reasoning tokens are per request: they need requests (lifetime or a yearly rate)."""
    if not demand.reasons or demand.requests is not None or demand.requests_per_year is not None:
        return
    name = "samples_per_request" if demand.samples_per_request != 1.0 else "reasoning_tokens_per_request"
    raise FieldError((name,), f"{name} is per request: give requests or requests_per_year (lifetime generated_tokens "
                     "already count every sample and reasoning token)")
