"""The scenario file, as pydantic v2 models. Unknown keys are errors (extra="forbid"); counts accept human
numbers ("70B", "1.4T"); units are in the field names. Defaults cite their source in the field description."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from ..errors import FieldError
from ..hardware import Device, get_device
from ..laws import Law
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


from .extras import (DemandHorizon, Ownership, ServingFit, check_horizon, check_ownership, check_serving_fit,
                     owned_usd_per_hour)
from .data_limits import Data
from .law import ChinchillaConstants, ConstantsSpec, KaplanConstants, LawSpec, resolve_law
from .fields import Count, NonNegativeCount, Positive, PriceUsdPerHour, Utilization, StrictModel
from .fields import Description, Name, SourceText
from .roofline import Roofline, check_roofline
from .uncertainty import Uncertainty

#: Checks of a whole scenario that need the model's physics (a roofline KV cache that no replica holds, say).
#: This layer states what the user said and may not import the model, yet such a scenario must fail where every
#: other input error does, at validation (sweeps validate their extremes so): `tco.model.checks` registers them
#: here on import, and `import tco` imports it. Each takes the validated Scenario and raises FieldError.
SCENARIO_CHECKS: list[Callable[["Scenario"], None]] = []


# --- target ---------------------------------------------------------------------------------------------
class QualityOf(StrictModel):
    """The loss that a model of `params` trained on `tokens` reaches under the scenario's law."""

    params: Count
    tokens: Count


class Target(StrictModel):
    """The quality to reach: exactly one of a loss, the quality of a given (N, D), or of a Chinchilla-optimal N."""

    loss: Positive | None = Field(default=None, description="loss target in nats/token")
    quality_of: QualityOf | None = None
    chinchilla_optimal_params: Count | None = Field(
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


# --- hardware phases ------------------------------------------------------------------------------------
class HardwareSpec(StrictModel):
    """A catalog device with some fields overridden (name matches the catalog), or an inline device."""

    name: Name
    peak_flops: dict[Name, Count] | None = Field(default=None, description="dense peak FLOP/s per dtype")
    memory_gb: Positive | None = None
    bandwidth_gb_per_s: Positive | None = None
    tdp_w: Positive | None = None
    price_usd_per_hour: PriceUsdPerHour | None = None
    source: SourceText | None = None


def _resolve_device(spec: str | HardwareSpec) -> Device:
    if isinstance(spec, str):
        return get_device(spec)
    overrides = spec.model_dump(exclude_none=True)
    try:
        base = get_device(spec.name)
    except ValueError:
        if not spec.peak_flops:
            raise FieldError(
                ("hardware", "peak_flops"),
                f"{spec.name!r} is not in the catalog, so an inline device needs peak_flops "
                "(e.g. {bf16: 989.4e12})",
            ) from None
        overrides.setdefault("source", "user-supplied device")
        return Device(**{**overrides, "peak_flops": {k.lower(): v for k, v in spec.peak_flops.items()}})
    merged = base.model_dump()
    overrides.pop("name")
    if "peak_flops" in overrides:
        overrides["peak_flops"] = {**base.peak_flops, **{k.lower(): v for k, v in overrides["peak_flops"].items()}}
    overrides.setdefault("source", f"{base.source}; fields overridden by the scenario")
    return Device(**{**merged, **overrides})


class _Phase(StrictModel):
    hardware: Name | HardwareSpec = Field(description="catalog name (see `tco hardware`) or an inline device")
    dtype: Name = Field(default="bf16", description="number format whose dense peak applies")
    price_usd_per_hour: PriceUsdPerHour | None = Field(
        default=None, description="$ per device-hour; overrides the catalog default"
    )
    ownership: Ownership | None = Field(
        default=None, description="owned devices: the $/device-hour is derived from capex, power and opex")

    _device: Device = PrivateAttr()

    @model_validator(mode="after")
    def _resolve(self):
        try:
            device = _resolve_device(self.hardware)
        except FieldError:
            raise
        except ValueError as exc:
            raise FieldError(("hardware",), str(exc)) from None
        try:
            device.peak_for(self.dtype)
        except ValueError as exc:
            raise FieldError(("dtype",), str(exc)) from None
        check_ownership(self, device)
        if self.price_usd_per_hour is None and device.price_usd_per_hour is None and self.ownership is None:
            raise FieldError(
                ("price_usd_per_hour",),
                f"the catalog has no default price for {device.name}; set price_usd_per_hour",
            )
        self._device = device
        return self

    @property
    def device(self) -> Device:
        return self._device

    @property
    def peak_flops(self) -> float:
        """Dense peak FLOP/s of one device in this phase's dtype."""
        return self._device.peak_for(self.dtype)

    @property
    def usd_per_hour(self) -> float:
        """The price in force: owned hardware's effective price, the scenario's override, else the catalog's."""
        if self.ownership is not None:
            return owned_usd_per_hour(self.ownership, self.device)
        price = self.price_usd_per_hour if self.price_usd_per_hour is not None else self._device.price_usd_per_hour
        assert price is not None  # the validator above requires one when the catalog has none
        return price

    @property
    def rental_usd_per_hour(self) -> float | None:
        """The rented price to compare ownership with: the scenario's price, else the catalog default."""
        if self.price_usd_per_hour is not None:
            return self.price_usd_per_hour
        return self._device.price_usd_per_hour

    @property
    def price_source(self) -> str:
        if self.ownership is not None:
            return "owned: capex / (lifetime x 8760 h x utilization) + power x PUE x $/kWh + opex (ownership)"
        if self.price_usd_per_hour is not None:
            return "scenario"
        return self._device.price_source or self._device.source


class Training(_Phase):
    """Where the model is trained. Default MFU 0.5: Sardana et al. 2024 code default (Llama 3 405B reached
    38-43% on H100 BF16, PaLM 46.2%, MegaScale 55.2%)."""

    mfu: Utilization = Field(default=0.5, description="model FLOPs utilization during training")


class Serving(_Phase, ServingFit):
    """Where the model is served. Defaults: Sardana et al. 2024 (prefill 50% MFU, decode 1% MFU).
    Memory fit and latency fields: `tco.scenario.extras.ServingFit`."""

    prefill_mfu: Utilization = Field(default=0.5, description="MFU while processing prompts")
    decode_mfu: Utilization = Field(default=0.01, description="MFU while generating (memory bound, low)")
    roofline: Roofline | None = Field(
        default=None, description="price decode by compute and memory time per token instead of decode_mfu "
        "(`tco.scenario.roofline`)")

    @model_validator(mode="after")
    def _fit(self):
        check_serving_fit(self)
        check_roofline(self)
        return self


# --- demand, constraints, data --------------------------------------------------------------------------
class Demand(DemandHorizon):
    """Lifetime inference demand: requests x tokens per request, lifetime token totals, or a yearly rate over a
    horizon with growth and discounting (`tco.scenario.extras.DemandHorizon`): then the lifetime tokens that
    price inference are present values, and `nominal_*` give the undiscounted counts.

    Per-request defaults (70 prompt, 215 generated) are the LMSYS-Chat averages used by Sardana et al. 2024.
    """

    requests: NonNegativeCount | None = Field(default=None, description="lifetime requests served")
    prompt_tokens_per_request: NonNegativeCount = 70
    generated_tokens_per_request: NonNegativeCount = 215
    prompt_tokens: NonNegativeCount | None = Field(
        default=None, description="lifetime prompt tokens (instead of requests)")
    generated_tokens: NonNegativeCount | None = Field(
        default=None, description="lifetime generated tokens (instead of requests)")

    @model_validator(mode="after")
    def _one_form(self) -> "Demand":
        totals = self.prompt_tokens is not None or self.generated_tokens is not None
        check_horizon(self)
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
        """Generated tokens that price inference (present value at training time when a horizon is given)."""
        if self.requests_per_year is not None:
            return self.pv_requests * self.generated_tokens_per_request
        return self.nominal_generated_tokens


class TrainingDeadline(StrictModel):
    """Train within `days` on `gpus` devices of the training hardware: 6 N D <= gpus * peak * mfu * seconds."""

    gpus: Count
    days: Positive


class Constraints(StrictModel):
    max_params: Count | None = Field(default=None, description="largest model you can serve (memory, latency)")
    max_tokens: Count | None = Field(default=None, description="training tokens available")
    training_deadline: TrainingDeadline | None = None


def _target_loss(law: Law, target: Target):
    if target.loss is not None:
        return target.loss
    if target.quality_of is not None:
        return law.loss(target.quality_of.params, target.quality_of.tokens)
    n = target.chinchilla_optimal_params
    return law.loss(n, law.compute_optimal_tokens(n))


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

    _law: Law = PrivateAttr()
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_target(self) -> "Scenario":
        law = resolve_law(self.law)
        loss = _target_loss(law, self.target)
        path = ("target", next(k for k in ("loss", "quality_of", "chinchilla_optimal_params")
                               if getattr(self.target, k) is not None))
        if not loss > law.min_loss:
            raise FieldError(
                path,
                f"loss target {loss:g} is at or below the irreducible loss E = {law.min_loss:g} of law "
                f"{law.name}; no model of any size reaches it (choose a loss above {law.min_loss:g})",
            )
        self._law = law
        for check in SCENARIO_CHECKS:
            check(self)
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (None when built in Python); errors quote it."""
        return self._source

    @property
    def resolved_law(self) -> Law:
        return self._law

    @property
    def target_loss(self) -> float:
        """The loss target in nats/token, whichever way the scenario states it (computed, so that array
        overrides of target fields in sweeps flow through)."""
        return _target_loss(self.resolved_law, self.target)

    @property
    def deadline_flops(self) -> float | None:
        """Training FLOPs the deadline allows: gpus x dense peak x MFU x seconds."""
        deadline = self.constraints.training_deadline
        if deadline is None:
            return None
        return deadline.gpus * self.training.peak_flops * self.training.mfu * deadline.days * SECONDS_PER_DAY
