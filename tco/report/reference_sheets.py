"""Hardware and Law sheets: the device profiles and law constants used, with their sources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..xlsx import finish_sheet, fit_columns, header, put

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["write_hardware", "write_law"]

_LAW_FORMULAS = {
    "chinchilla": "L(N, D) = E + A / N^alpha + B / D^beta",
    "kaplan": "L(N, D) = ((n_c / N)^(alpha_n / alpha_d) + d_c / D)^alpha_d",
}


def write_hardware(ws, scenario: "Scenario") -> None:
    phases = {"training": scenario.training, "serving": scenario.serving}
    header(ws, 1, ["field", "unit", "training", "serving"])
    dtypes = sorted({k for p in phases.values() for k in p.device.peak_flops})
    rows: list[tuple[Any, ...]] = [  # field, unit, training, serving, format
        ("device", "", *(p.device.name for p in phases.values()), None),
        ("dtype in use", "", *(p.dtype for p in phases.values()), None),
    ]
    for dtype in dtypes:
        peaks = (p.device.peak_flops.get(dtype) for p in phases.values())
        rows.append((f"dense peak {dtype}", "TFLOP/s (10^12 FLOP/s)", *peaks, "#,##0.0,,,,"))  # 989.4, not 9.894E+14
    rows += [
        ("memory", "GB", *(p.device.memory_gb for p in phases.values()), "plain"),
        ("memory bandwidth", "GB/s", *(p.device.bandwidth_gb_per_s for p in phases.values()), "plain"),
        ("TDP", "W", *(p.device.tdp_w for p in phases.values()), "plain"),
        ("catalog price", "$ per device-hour", *(p.device.price_usd_per_hour for p in phases.values()), "usd_precise"),
        ("price in force", "$ per device-hour", *(p.usd_per_hour for p in phases.values()), "usd_precise"),
        ("price source", "", *(p.price_source for p in phases.values()), None),
        ("device source", "", *(p.device.source for p in phases.values()), None),
    ]
    for r, (field, unit, train, serve, fmt) in enumerate(rows, start=2):
        put(ws, r, 1, field)
        put(ws, r, 2, unit)
        put(ws, r, 3, train, fmt if train is not None else None)
        put(ws, r, 4, serve, fmt if serve is not None else None)
    fit_columns(ws, last_col=4, maximum=45)
    finish_sheet(ws, last_col=4)


def write_law(ws, scenario: "Scenario") -> None:
    law = scenario.resolved_law
    header(ws, 1, ["item", "value"])
    rows: list[tuple[str, object]] = [("law", law.name), ("form", _LAW_FORMULAS[law.form]), ("source", law.source)]
    rows += [(k, v) for k, v in law.constants().items()]
    rows += [
        ("loss target (nats/token)", scenario.target_loss),
        ("irreducible loss (infimum)", law.min_loss),
        ("caution", "Laws are fitted on models up to tens of billions of parameters and ~20-100 tokens per "
                    "parameter; Sardana et al. 2024 found the Chinchilla form overstates the gains of "
                    "over-training beyond ~1,000 tokens per parameter."),
    ]
    for r, (item, value) in enumerate(rows, start=2):
        put(ws, r, 1, item)
        put(ws, r, 2, value, "plain" if not isinstance(value, str) else None)
    fit_columns(ws, last_col=2, maximum=90)
    finish_sheet(ws, last_col=2)
