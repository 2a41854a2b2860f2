"""The scenario file, as pydantic v2 models. Unknown keys are errors (extra="forbid"); counts accept human
numbers ("70B", "1.4T"); units are in the field names. Defaults cite their source in the field description."""

from __future__ import annotations

from collections.abc import Callable
import math
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, StrictBool, model_validator

from ..errors import FieldError
from ..laws import Law, MoELaw
from ..units import SECONDS_PER_DAY

__all__ = [
    "Scenario",
    "ChinchillaConstants",
    "KaplanConstants",
    "QualityOf",
    "Target",
    "HardwareSpec",
    "Training",
    "Serving",
    "Demand",
    "TrainingDeadline",
    "Constraints",
    "Data",
    "ConstantsSpec",
    "resolve_law",
    "SCENARIO_CHECKS",
]


from .extras import DemandHorizon, check_horizon
from .data_limits import Data
from .law import (ChinchillaConstants, ConstantsSpec, KaplanConstants, LawSpec, is_law_path, resolve_law,
                  resolve_law_family)
from .architecture import Architecture
from .fields import (PARAMS_RANGE, TOKENS_RANGE, Count, Description, LifetimeTokens, Loss, Name, Params, Positive,
                     Requests, StrictModel, Tokens, TokensPerRequest, within)
from .reasoning import ReasoningDemand, check_reasoning
from .uncertainty import Uncertainty
from .phases import HardwareSpec, Serving, Training

#: The largest loss target, however stated (the bound of `Loss`).
MAX_LOSS = 20.0
#: Deadline: up to 1e12 devices (10,000x the world's ~1e8 accelerators; what matters is the FLOPs the deadline
#: allows) for up to 100 years, from ~1.5 minutes; fewer than one device is a time slice of one.
DeadlineGpus = Annotated[Count, within(1e-6, 1e12, "a time slice of one device to 10,000x the world's "
                                                   "accelerators", "devices")]
DeadlineDays = Annotated[Positive, within(1e-3, 36_500, "about 1.5 minutes to 100 years", "days")]

#: Checks of a whole scenario that need the model's physics (a roofline KV cache that no replica holds, say).
#: This layer states what the user said and may not import the model, yet such a scenario must fail where every
#: other input error does, at validation (sweeps validate their extremes so): `tco.model.checks` registers them
#: here on import, and `import tco` imports it. Each takes the validated Scenario and raises FieldError.
SCENARIO_CHECKS: list[Callable[["Scenario"], None]] = []


# --- target ---------------------------------------------------------------------------------------------
class QualityOf(StrictModel):
    """The loss that a model of `params` trained on `tokens` reaches under the scenario's law."""

    params: Params
    tokens: Tokens


class Target(StrictModel):
    """The quality to reach: exactly one of a loss, the quality of a given (N, D), or of a Chinchilla-optimal N."""

    loss: Loss | None = Field(default=None, description="loss target in nats/token, up to 20 (a uniform guess "
                              "over a 100M-token vocabulary is 18.4)")
    quality_of: QualityOf | None = None
    chinchilla_optimal_params: Params | None = Field(
        default=None, description="reach the loss of the compute-optimal model of this many parameters"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "Target":
        given = [k for k in ("loss", "quality_of", "chinchilla_optimal_params") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of loss, quality_of or chinchilla_optimal_params"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


# --- demand, constraints, data --------------------------------------------------------------------------
class Demand(DemandHorizon, ReasoningDemand):
    """Lifetime inference demand: requests x tokens per request, lifetime token totals, or a yearly rate over a
    horizon with growth and discounting (`tco.scenario.extras.DemandHorizon`): then the lifetime tokens that
    price inference are present values, and `nominal_*` give the undiscounted counts.

    Per-request defaults (70 prompt, 215 generated) are the LMSYS-Chat averages used by Sardana et al. 2024.
    Samples and hidden reasoning tokens per request (`tco.scenario.reasoning`) scale the generated tokens.
    """

    requests: Requests | None = Field(default=None, description="lifetime requests served, up to 1e18")
    prompt_tokens_per_request: TokensPerRequest = 70
    generated_tokens_per_request: TokensPerRequest = 215
    prompt_tokens: LifetimeTokens | None = Field(
        default=None, description="lifetime prompt tokens (instead of requests), up to 1e24")
    generated_tokens: LifetimeTokens | None = Field(
        default=None, description="lifetime generated tokens (instead of requests)")

    @model_validator(mode="after")
    def _one_form(self) -> "Demand":
        totals = self.prompt_tokens is not None or self.generated_tokens is not None
        check_horizon(self)
        check_reasoning(self)
        if self.requests_per_year is not None:
            return self
        if self.requests is None and not totals:
            raise ValueError("give requests (with tokens per request) or lifetime prompt_tokens/generated_tokens")
        if self.requests is not None and totals:
            raise ValueError("give either requests or lifetime prompt_tokens/generated_tokens, not both")
        return self

    @property
    def lifetime_prompt_tokens(self) -> float:
        """Prompt tokens that price inference (present value at training time when a horizon is given)."""
        if self.requests_per_year is not None:
            return self.pv_requests * self.prompt_tokens_per_request
        return self.nominal_prompt_tokens

    @property
    def lifetime_generated_tokens(self) -> float:
        """Generated tokens that price inference, every sample's reasoning and answer (present value at training
        time when a horizon is given)."""
        if self.requests_per_year is not None:
            return self.pv_requests * self.decoded_tokens_per_request
        return self.nominal_generated_tokens


class TrainingDeadline(StrictModel):
    """Train within `days` on `gpus` devices of the training hardware: training FLOPs (6 N D, plus attention)
    <= gpus x peak x mfu x goodput x seconds."""

    gpus: DeadlineGpus
    days: DeadlineDays


class Constraints(StrictModel):
    max_params: Params | None = Field(default=None, description="largest model you can serve (memory, latency), "
                                      "1e6 to 1e15")
    max_tokens: Tokens | None = Field(default=None, description="training tokens available, 1e6 to 1e17")
    training_deadline: TrainingDeadline | None = None


def _target_loss(law: Law, target: Target):
    if target.loss is not None:
        return target.loss
    if target.quality_of is not None:
        return law.loss(target.quality_of.params, target.quality_of.tokens)
    n = target.chinchilla_optimal_params
    return law.loss(n, law.compute_optimal_tokens(n))


def _check_chinchilla_point(law: Law, loss: float, path: tuple[str, ...]) -> None:
    """The compute-optimal model reaching the target (the baseline of every result and the scale of every
    program) must be a plausible model: else the law's constants and the target are not a real pair."""
    try:
        n, d = law.constraint(loss).chinchilla_point()
    except ArithmeticError:
        n = d = math.inf
    (n_lo, n_hi), (d_lo, d_hi) = PARAMS_RANGE, TOKENS_RANGE
    if not (n_lo <= n <= n_hi and d_lo <= d <= d_hi):
        raise FieldError(path, f"under law {law.name} the compute-optimal model reaching loss {loss:g} has "
                         f"N = {n:.3g} parameters and D = {d:.3g} tokens, outside {n_lo:g}-{n_hi:g} parameters "
                         f"and {d_lo:g}-{d_hi:g} tokens where scaling laws mean anything: check the loss target "
                         "and the law's constants")


# --- the scenario ---------------------------------------------------------------------------------------
class Scenario(StrictModel):
    """One decision to make: law, quality target, hardware and prices, demand, constraints."""

    name: Name = Field(default="scenario", min_length=1)
    description: Description = ""
    law: LawSpec = Field(description="preset name (see `tco laws`), a law file (laws/x.yaml), or inline constants")
    objective: Literal["usd", "flops"] = Field(default="usd", description="minimize lifetime $ or FLOPs")
    target: Target
    training: Training
    serving: Serving
    demand: Demand
    constraints: Constraints = Constraints()
    data: Data = Data()
    uncertainty: Uncertainty | None = Field(
        default=None, description="distributions of inputs and law constants for `tco montecarlo`")
    model: Architecture = Field(
        default_factory=Architecture, description="dense (default) or mixture of experts: `experts` (one value "
        "or candidates to choose from) and `top_k` (`tco.scenario.architecture`); N is then the active count")
    attention_flops: StrictBool = Field(
        default=True, description="count attention FLOPs (4 x layers x heads x head_dim per token attended, "
        "from serving.roofline's architecture or shape rule, else the default shape rule) in training, prefill "
        "and decode. false keeps the 6 N D / 2 N convention of Kaplan et al. 2020 and Sardana et al. 2024, under "
        "which the published cases reproduce exactly")

    _law: Law = PrivateAttr()
    #: The law a target is stated under when it differs from the law in force (an MoE law's dense member);
    #: None: the law in force (so studies that replace law constants move the target with them).
    _target_law: Law | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)

    def _laws(self) -> tuple[Law, Law]:
        """(the law of the expert count in force, the law the target is stated under). A target stated as a
        model's quality (`quality_of`, `chinchilla_optimal_params`) is that DENSE model's loss under an MoE law,
        so every candidate E aims at the same loss; a dense law refuses expert counts other than 1."""
        family = resolve_law_family(self.law)
        if isinstance(family, MoELaw):
            return family.at_experts(self.model.experts_in_force), family.at_experts(1.0)
        if self.model.is_moe:
            raise FieldError(("model", "experts"), f"law {family.name} is dense (its loss has no expert dimension); "
                             "use an MoE law (ludziejewski2025) or MoE constants inline (form: moe), or drop "
                             "model.experts")
        return family, family

    @model_validator(mode="after")
    def _resolve_target(self) -> "Scenario":
        law, target_law = self._laws()
        self.serving._architecture = self.model
        path = ("target", next(k for k in ("loss", "quality_of", "chinchilla_optimal_params")
                               if getattr(self.target, k) is not None))
        try:
            loss = _target_loss(target_law, self.target)
        except ArithmeticError as exc:  # a float power overflowing: the law's constants are too extreme
            raise FieldError(path, f"the loss target cannot be computed under law {law.name} ({exc}): check the "
                             "law's constants") from None
        if not loss > law.min_loss:
            raise FieldError(
                path,
                f"loss target {loss:g} is at or below the irreducible loss E = {law.min_loss:g} of law "
                f"{law.name}; no model of any size reaches it (choose a loss above {law.min_loss:g})",
            )
        if not loss <= MAX_LOSS:
            raise FieldError(path, f"the loss target is {loss:g} nats/token under law {law.name}, above {MAX_LOSS:g} "
                             "(a uniform guess over a 100M-token vocabulary is 18.4): check the law's constants")
        _check_chinchilla_point(law, loss, path)
        self._law, self._target_law = law, (target_law if target_law is not law else None)
        for check in SCENARIO_CHECKS:
            check(self)
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (None when built in Python); errors quote it."""
        return self._source

    @property
    def input_files(self) -> tuple[str, ...]:
        """Every file this scenario was read from: itself, its law file, its calibration file. Outputs must never
        be one of them (`tco.atomic.check_output_path`)."""
        files = [self._source] if self._source and self._source != "<scenario>" else []
        if isinstance(self.law, str) and is_law_path(self.law):
            files.append(self.law)
        roof = self.serving.roofline
        if roof is not None and roof.calibration is not None and roof.calibration.source_file:
            files.append(roof.calibration.source_file)
        return tuple(files)

    @property
    def resolved_law(self) -> Law:
        return self._law

    @property
    def target_loss(self) -> float:
        """The loss target in nats/token, whichever way the scenario states it (computed, so that array
        overrides of target fields in sweeps flow through)."""
        return _target_loss(self._target_law or self.resolved_law, self.target)

    @property
    def deadline_flops(self) -> float | None:
        """Training FLOPs the deadline allows: gpus x dense peak x MFU x goodput x seconds."""
        deadline = self.constraints.training_deadline
        if deadline is None:
            return None
        t = self.training
        return deadline.gpus * t.peak_flops * t.useful_fraction * deadline.days * SECONDS_PER_DAY
