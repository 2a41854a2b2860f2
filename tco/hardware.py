"""Accelerator catalog: dense peak FLOPS per dtype, memory, bandwidth, TDP, default price, each with a source.

Peaks are dense: vendor "up to" figures for FP8/INT8 usually assume 2:4 structured sparsity and are halved here.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from .errors import UnknownNameError
from .units import SECONDS_PER_HOUR

__all__ = ["Device", "CATALOG", "DTYPE_BYTES", "get_device", "alias_note", "normalize_name", "usd_per_flop"]

#: Bytes per value of each number format (the width of a weight stored in that dtype).
DTYPE_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}


class Device(BaseModel):
    """One accelerator (a GPU or a TPU chip). Units are in the field names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    peak_flops: dict[str, PositiveFloat] = Field(
        description="dense peak FLOP/s per dtype (bf16, fp16, fp8, int8); never the 2:4-sparsity headline"
    )
    memory_gb: PositiveFloat | None = None
    bandwidth_gb_per_s: PositiveFloat | None = None
    tdp_w: PositiveFloat | None = None
    price_usd_per_hour: PositiveFloat | None = Field(
        default=None, description="default rental price per device-hour, where a source gives one"
    )
    interconnect_gb_per_s: PositiveFloat | None = Field(
        default=None, description="device-to-device bandwidth per direction (NVLink) in GB/s: what a "
        "tensor-parallel replica's all-reduces run at (tco.model.serving_step); None: no such interconnect known")
    source: str = "user-supplied"
    price_source: str | None = None
    interconnect_source: str | None = None
    aliases: tuple[str, ...] = ()

    def peak_for(self, dtype: str) -> float:
        """Dense peak FLOP/s for `dtype`; ValueError names the dtypes the device supports."""
        try:
            return self.peak_flops[dtype.lower()]
        except KeyError:
            raise ValueError(
                f"{self.name} has no {dtype!r} peak; it supports {', '.join(sorted(self.peak_flops))}"
            ) from None


def alias_note(name: str, where: str = "hardware") -> str | None:
    """'H100' -> "hardware: 'H100' is the catalog's 'H100 SXM'": an alias silently picks one variant (SXM, not
    PCIe; 40GB, not 80GB), so the device priced is named once. None for the device's own name (any spelling)
    or an unknown one (get_device reports that)."""
    resolved = _INDEX.get(normalize_name(name))
    if resolved is None or normalize_name(resolved) == normalize_name(name):
        return None
    return f"{where}: {name!r} is the catalog's {resolved!r} (see `tco hardware`)"


def usd_per_flop(price_usd_per_hour: float, peak_flops: float, utilization: float) -> float:
    """$ per useful FLOP: price / (3600 * peak * utilization) (primer section 2)."""
    return price_usd_per_hour / (SECONDS_PER_HOUR * peak_flops * utilization)


_NVIDIA_A100 = "NVIDIA A100 Tensor Core GPU datasheet (dense; INT8 624 TOPS without sparsity)"
_NVIDIA_H100 = "NVIDIA H100 Tensor Core GPU datasheet, SXM5 (dense; sparsity figures halved)"
_SARDANA_PRICE = "Sardana et al. 2024 official code defaults"
#: NVLink bandwidth per GPU per direction: half the bidirectional totals NVIDIA's datasheets state.
_NVLINK3 = "NVIDIA A100 datasheet: NVLink 3, 600 GB/s bidirectional = 300 GB/s per direction"
_NVLINK4 = "NVIDIA H100 / H200 datasheets: NVLink 4, 900 GB/s bidirectional = 450 GB/s per direction"
_NVLINK5 = "NVIDIA HGX B200 specifications: NVLink 5, 1.8 TB/s bidirectional = 900 GB/s per direction"

CATALOG: dict[str, Device] = {
    d.name: d
    for d in (
        Device(
            name="A100 40GB", peak_flops={"bf16": 312e12, "fp16": 312e12, "int8": 624e12},
            memory_gb=40, bandwidth_gb_per_s=1555, tdp_w=400, price_usd_per_hour=1.10,
            interconnect_gb_per_s=300, interconnect_source=_NVLINK3,
            source=_NVIDIA_A100, price_source=_SARDANA_PRICE, aliases=("A100 40GB SXM", "A100-40GB", "A100"),
        ),
        Device(
            name="A100 80GB", peak_flops={"bf16": 312e12, "fp16": 312e12, "int8": 624e12},
            memory_gb=80, bandwidth_gb_per_s=2039, tdp_w=400, price_usd_per_hour=1.50,
            interconnect_gb_per_s=300, interconnect_source=_NVLINK3,
            source=_NVIDIA_A100, price_source=_SARDANA_PRICE, aliases=("A100 80GB SXM", "A100-80GB"),
        ),
        Device(
            name="H100 SXM", peak_flops={"bf16": 989.4e12, "fp16": 989.4e12, "fp8": 1978.9e12, "int8": 1978.9e12},
            memory_gb=80, bandwidth_gb_per_s=3350, tdp_w=700, price_usd_per_hour=2.00,
            interconnect_gb_per_s=450, interconnect_source=_NVLINK4,
            source=_NVIDIA_H100, price_source=_SARDANA_PRICE, aliases=("H100", "H100 SXM5", "H100-SXM"),
        ),
        Device(
            name="H200 SXM", peak_flops={"bf16": 989.4e12, "fp16": 989.4e12, "fp8": 1978.9e12, "int8": 1978.9e12},
            memory_gb=141, bandwidth_gb_per_s=4800, tdp_w=700,
            interconnect_gb_per_s=450, interconnect_source=_NVLINK4,
            source="NVIDIA H200 Tensor Core GPU datasheet, SXM (dense; sparsity figures halved)",
            aliases=("H200",),
        ),
        Device(
            name="B200", peak_flops={"bf16": 2250e12, "fp16": 2250e12, "fp8": 4500e12, "int8": 4500e12},
            memory_gb=180, bandwidth_gb_per_s=8000, tdp_w=1000, interconnect_gb_per_s=900,
            interconnect_source=_NVLINK5,
            source="NVIDIA HGX B200 specifications, per GPU (dense; sparsity figures halved)",
            aliases=("B200 HGX", "B200 (HGX)"),
        ),
        Device(
            name="MI300X", peak_flops={"bf16": 1307.4e12, "fp16": 1307.4e12, "fp8": 2614.9e12, "int8": 2614.9e12},
            memory_gb=192, bandwidth_gb_per_s=5300, tdp_w=750,
            source="AMD Instinct MI300X data sheet (dense; sparsity figures halved)",
            aliases=("AMD MI300X",),
        ),
        Device(
            name="TPU v5e", peak_flops={"bf16": 197e12, "int8": 394e12},
            memory_gb=16, bandwidth_gb_per_s=819,
            source="Google Cloud TPU v5e documentation, per chip", aliases=("TPUv5e", "v5e"),
        ),
        Device(
            name="TPU v5p", peak_flops={"bf16": 459e12, "int8": 918e12},
            memory_gb=95, bandwidth_gb_per_s=2765,
            source="Google Cloud TPU v5p documentation, per chip", aliases=("TPUv5p", "v5p"),
        ),
    )
}


def normalize_name(name: str) -> str:
    """'A100-40GB SXM' -> 'a10040gbsxm': matching ignores case, spaces, hyphens and brackets."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_INDEX: dict[str, str] = {}
for _device in CATALOG.values():
    for _alias in (_device.name, *_device.aliases):
        _INDEX.setdefault(normalize_name(_alias), _device.name)


def get_device(name: str) -> Device:
    """A catalog device by name or alias; UnknownNameError lists the catalog."""
    try:
        return CATALOG[_INDEX[normalize_name(name)]]
    except KeyError:
        raise UnknownNameError(
            f"unknown hardware {name!r}; the catalog has: {', '.join(CATALOG)} "
            "(or define the device inline with name and peak_flops)"
        ) from None
