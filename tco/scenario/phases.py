"""The hardware phases of a scenario (`training:`, `serving:`): a device from the catalog or inline, its dtype and price
or ownership, and what each phase adds (training MFU and goodput; serving batches, roofline, quantization and
the precisions to choose from). What the user states only; the physics is `tco.model`."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Discriminator, Field, PrivateAttr, Tag, model_validator

from ..errors import FieldError
from ..hardware import DTYPE_BYTES, Device, get_device

from .architecture import Architecture
from .extras import Ownership, ServingFit, check_ownership, check_serving_fit, default_memory_fit, owned_usd_per_hour
from .fields import Count, Name, Positive, PriceUsdPerHour, SourceText, StrictModel, Utilization, within
from .quantization import Quantization
from .roofline import Roofline, check_roofline

__all__ = ["HardwareSpec", "Training", "Serving", "WeightOnly", "PeakFlops", "MemoryGb",
           "BandwidthGbPerS", "TdpW"]

#: Device figures (inline or overridden hardware). Upper ends well above a wafer-scale engine (Cerebras WSE-3:
#: 1.25e17 FLOP/s, 44 GB on chip, 21 PB/s, 23 kW a system), lower ends below any accelerator.
PeakFlops = Annotated[Count, within(1e9, 1e18, "a GFLOP/s to 8x a wafer-scale engine", "FLOP/s")]
MemoryGb = Annotated[Positive, within(0.1, 1e5, "100 MB to 100 TB per device", "GB")]
BandwidthGbPerS = Annotated[Positive, within(1, 1e8, "1 GB/s to 5x a wafer-scale engine's 21 PB/s", "GB/s")]
TdpW = Annotated[Positive, within(1, 1e6, "1 W to 40x a wafer-scale system's 23 kW", "W")]

# --- hardware phases ------------------------------------------------------------------------------------
class WeightOnly(StrictModel):
    """A serving precision with weight-only quantization: weights stored at one dtype's width, math at
    another's peak (e.g. int4 weights on fp8 compute, as GPTQ / AWQ kernels run)."""

    weights: Name = Field(description="dtype the weights are stored in (its width, tco.hardware.DTYPE_BYTES)")
    compute: Name = Field(description="dtype the math runs in (its dense peak from the device's table)")


#: A serving precision candidate: a dtype (weights and math), or {weights, compute} (a mapping, by its shape).
Precision = Annotated[Union[Annotated[Name, Tag("dtype name")], Annotated[WeightOnly, Tag("weight-only")]],
                      Discriminator(lambda v: "weight-only" if isinstance(v, (dict, WeightOnly)) else "dtype name")]


class HardwareSpec(StrictModel):
    """A catalog device with some fields overridden (name matches the catalog), or an inline device."""

    name: Name
    peak_flops: dict[Name, PeakFlops] | None = Field(default=None, description="dense peak FLOP/s per dtype, "
                                                     "1e9 to 1e18")
    memory_gb: MemoryGb | None = None
    bandwidth_gb_per_s: BandwidthGbPerS | None = None
    interconnect_gb_per_s: BandwidthGbPerS | None = Field(
        default=None, description="device-to-device bandwidth per direction (NVLink), for tensor-parallel "
        "all-reduces (serving.roofline.calibration)")
    tdp_w: TdpW | None = None
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


#: Training sequences: 1 token to 1e8 (100x the longest context windows offered, ~1e6-1e7).
#: A real number: the attention FLOPs read it as an average over the corpus's sequences (sensitivity studies vary it
#: by a fraction), so it need not be a whole count.
SequenceLength = Annotated[Count, within(1, 1e8, "100x the longest context windows offered", "tokens")]


class Training(_Phase):
    """Where the model is trained. Billed device-hours = FLOPs / (dense peak x mfu x goodput x 3600): `mfu` is
    the share of peak while a step runs, `goodput` the share of billed hours spent on steps that count.
    Defaults 0.40 x 0.90 = 0.36: Llama 3 405B ran at 38-43% BF16 MFU with >90% effective training time
    (Dubey et al. 2024, sections 3.3.2 and 3.3.4), and tco's own training FLOPs (6 N D plus attention at
    sequence_length) over the published billed hours of Llama 3.1 405B and DeepSeek-V3 give 0.36 and 0.38
    (tests/data/training_gpu_hours.csv). Sardana et al. 2024's code default is mfu 0.5 with no goodput (1)."""

    mfu: Utilization = Field(
        default=0.40, description="model FLOPs utilization while a training step runs. Default 0.40: Llama 3 405B "
        "reached 38-43% of dense BF16 peak on H100 (Dubey et al. 2024, table 4); Sardana et al. 2024 used 0.5")
    goodput: Utilization = Field(
        default=0.90, description="share of billed device-hours spent on useful training steps (the rest: "
        "failures, restarts, checkpoint reloads, stragglers). Default 0.90: Llama 3 405B had >90% effective "
        "training time with 466 interruptions in 54 days (Dubey et al. 2024, section 3.3.4); 1 = every hour useful")
    sequence_length: SequenceLength = Field(
        default=8192, description="tokens per training sequence; attention FLOPs count sequence_length / 2 tokens "
        "attended per token (causal). Default 8192: Llama 3 pre-training (Dubey et al. 2024, section 3.4.1)")

    @property
    def useful_fraction(self) -> float:
        """mfu x goodput: useful FLOPs per billed device-second, as a share of the dense peak."""
        return self.mfu * self.goodput


class Serving(_Phase, ServingFit):
    """Where the model is served. Defaults: Sardana et al. 2024 (prefill 50% MFU, decode 1% MFU).
    Memory fit and latency fields: `tco.scenario.extras.ServingFit`."""

    prefill_mfu: Utilization = Field(default=0.5, description="MFU while processing prompts")
    decode_mfu: Utilization = Field(default=0.01, description="MFU while generating (memory bound, low)")
    roofline: Roofline | None = Field(
        default=None, description="price decode by compute and memory time per token instead of decode_mfu "
        "(`tco.scenario.roofline`)")
    quantization: Quantization | None = Field(
        default=None, description="post-training quantization to the serving precision and the loss it adds to "
        "the target's left side (`tco.scenario.quantization`; README 'Quantized serving and its quality loss')")
    precisions: Annotated[list[Precision], Field(min_length=1)] | None = Field(
        default=None, description="serving precisions to choose from (e.g. [bf16, fp8, {weights: int4, compute: "
        "fp8}]): a dtype serves weights and math in that dtype (its dense peak from the device's table, weights at "
        "its width); {weights, compute} is weight-only quantization (weights stored at the first width, math at "
        "the second's peak). `tco.optimize` reports the cheapest (`tco.choice`). Default: serve in `dtype` only")

    #: The architecture the physics reads (set by the Scenario from `model:`): experts and top_k in force.
    _architecture: Architecture = PrivateAttr(default_factory=Architecture)

    @property
    def architecture(self) -> Architecture:
        return self._architecture

    @model_validator(mode="after")
    def _precisions(self):
        if self.precisions is None:
            return self
        if self.bytes_per_param is not None:
            raise FieldError(("precisions",), "each precision stores weights at its own width: drop "
                             "bytes_per_param, or list one dtype in `dtype` instead of precisions")
        seen = set()
        for i, entry in enumerate(self.precisions):
            weights, compute = (entry, entry) if isinstance(entry, str) else (entry.weights, entry.compute)
            try:
                self.device.peak_for(compute)
            except ValueError as exc:
                raise FieldError(("precisions", i), str(exc) + (
                    f"; for {compute} weights on another dtype's math give {{weights: {compute}, compute: ...}}"
                    if isinstance(entry, str) else "")) from None
            if str(weights).lower() not in DTYPE_BYTES:
                raise FieldError(("precisions", i), f"no weight width known for dtype {weights!r}; known: "
                                 f"{', '.join(DTYPE_BYTES)}")
            key = (str(weights).lower(), str(compute).lower())
            if key in seen:
                raise FieldError(("precisions", i), f"precisions repeat weights {key[0]} on compute {key[1]}")
            seen.add(key)
        return self

    @model_validator(mode="after")
    def _quantized_bits(self):
        q = self.quantization
        if q is not None and q.bits is not None and self.bytes_per_param is not None and \
                q.bits != 8 * self.bytes_per_param:
            raise FieldError(("quantization", "bits"), (
                f"bits {q.bits:g} contradicts bytes_per_param {self.bytes_per_param:g} ({8 * self.bytes_per_param:g}-"
                "bit weights): the penalty and the weight reads must see one precision; drop bits or match them"))
        return self

    @model_validator(mode="after")
    def _fit(self):
        if "memory_fit" not in self.model_fields_set and default_memory_fit(self):
            self.__dict__["memory_fit"] = True  # the default in force (frozen model; not "stated")
        check_serving_fit(self)
        check_roofline(self)
        return self


