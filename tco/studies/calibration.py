"""Measured serving rows (`tco.studies.measurements`) against the serving step model (`tco.model.serving_step`): the
scenario each row describes, the model's prediction for it, and the least-squares fit of the
`ServingCalibration` fields on log residuals (what `tco calibrate` writes and the defaults come from)."""

from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..assess import serving_performance
from ..text import one_line
from ..scenario.load import scenario_from_dict
from ..scenario.roofline import FITTED_FIELDS, ServingCalibration

__all__ = ["measurement_scenario", "Prediction", "predict", "fit_calibration", "FITTED_FIELDS", "DEFAULT",
           "informed_fields", "measured_count", "check_rows",
           "calibration_document", "write_calibration_file"]

#: The bounds of the fit of each of FITTED_FIELDS (each field's own range, efficiency in (0, 1]).
_BOUNDS = ((0.0, 1e4), (0.0, 1e4), (0.0, 1e5), (1e-3, 1.0), (0.0, 1e4))
#: `measurement_scenario(row)` without a calibration argument: the scenario's default calibration.
DEFAULT: Any = "default"


def measurement_scenario(row, calibration: Any = DEFAULT, **sections):
    """The scenario of one measured row: its architecture, hardware, dtype, tensor-parallel degree, batch and
    request sizes, default settings otherwise (`calibration`: a dict of ServingCalibration fields, None for the
    pure roofline, or DEFAULT). The law and target only make it a valid scenario; serving times do not read them."""
    roofline: dict[str, Any] = {"architecture": {"layers": row.layers, "heads": row.heads, "kv_heads": row.kv_heads,
                                                 "head_dim": row.head_dim}}
    if calibration is not DEFAULT:
        roofline["calibration"] = calibration
    data = {
        "name": row.label, "law": "hoffmann2022",
        "target": {"quality_of": {"params": row.params, "tokens": 20 * row.params}},
        "training": {"hardware": row.hardware, "price_usd_per_hour": 1.0},
        "serving": {"hardware": row.hardware, "dtype": row.dtype, "price_usd_per_hour": 1.0,
                    "devices_per_replica": row.tp, "batch_size": row.batch, "roofline": roofline},
        "demand": {"requests": 1e9, "prompt_tokens_per_request": row.prompt_tokens,
                   "generated_tokens_per_request": row.generated_tokens},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return scenario_from_dict(data)


def check_rows(rows, name: str) -> None:
    """MeasurementError (one line: file, row, column) for a row no scenario can describe (an unknown device, a
    dtype it has no peak for, more KV heads than heads): what the row scenario's validation says, in the file's
    terms."""
    from ..errors import ScenarioError
    from .measurements import MeasurementError

    for index, row in enumerate(rows, start=1):
        try:
            measurement_scenario(row)
        except ScenarioError as exc:
            first = str(exc).splitlines()[0].removeprefix("error: ").removeprefix("<scenario>: ")
            path, _, message = first.partition(": ")
            column = {"name": "model"}.get(path.rsplit(".", 1)[-1], path.rsplit(".", 1)[-1])
            raise MeasurementError(f"{name}: row {index}, column {column!r}: {message or first}") from None


@dataclass(frozen=True)
class Prediction:
    """One row: measured and predicted times (ms) and the relative errors predicted / measured - 1."""

    label: str
    tpot_ms: float | None
    predicted_tpot_ms: float
    ttft_ms: float | None
    predicted_ttft_ms: float

    @property
    def tpot_error(self) -> float | None:
        return None if self.tpot_ms is None else self.predicted_tpot_ms / self.tpot_ms - 1.0

    @property
    def ttft_error(self) -> float | None:
        return None if self.ttft_ms is None else self.predicted_ttft_ms / self.ttft_ms - 1.0


def predict(row, calibration: Any = DEFAULT) -> Prediction:
    """The step model's time per output token and time to first token for a measured row."""
    perf = serving_performance(measurement_scenario(row, calibration), row.params)
    assert perf is not None  # measurement rows name catalog devices with a bandwidth and a dtype width
    return Prediction(row.label, row.tpot_ms, perf.time_per_output_token_ms, row.ttft_ms, perf.time_to_first_token_ms)


def informed_fields(rows) -> tuple[str, ...]:
    """The FITTED_FIELDS the rows can inform: the all-reduce only with a row at tp > 1, the first-token fields
    only with a measured ttft_ms, the decode fields only with a measured tpot_ms (the per-layer overhead counts
    in both)."""
    tp, ttft, tpot = (any(r.tp > 1 for r in rows), any(r.ttft_ms is not None for r in rows),
                      any(r.tpot_ms is not None for r in rows))
    informs = {"overhead_per_layer_us": tpot or ttft, "allreduce_latency_us": tp,
               "attention_ns_per_layer_context_token": tpot, "prefill_compute_efficiency": ttft,
               "prefill_us_per_prompt_token": ttft}
    return tuple(f for f in FITTED_FIELDS if informs[f])


def measured_count(rows) -> int:
    """How many measured times the rows hold (each tpot_ms and ttft_ms)."""
    return sum((r.tpot_ms is not None) + (r.ttft_ms is not None) for r in rows)


def _residuals(rows, values) -> np.ndarray:
    calibration = values if isinstance(values, dict) else dict(zip(FITTED_FIELDS, values))
    out = []
    for row in rows:
        p = predict(row, calibration)
        out += [math.log(p.predicted_tpot_ms / row.tpot_ms)] if row.tpot_ms is not None else []
        out += [math.log(p.predicted_ttft_ms / row.ttft_ms)] if row.ttft_ms is not None else []
    return np.array(out)


def fit_calibration(rows, start: ServingCalibration | None = None) -> ServingCalibration:
    """The ServingCalibration minimizing the sum of squared log residuals of every measured time (scipy least
    squares, from `start` or the defaults). Fields the rows cannot inform (no all-reduce without tp > 1, no
    first-token field without ttft_ms) stay exactly at their start (`informed_fields`)."""
    from scipy.optimize import least_squares

    start = start or ServingCalibration()
    free = informed_fields(rows)
    fixed = {f: getattr(start, f) for f in FITTED_FIELDS if f not in free}  # kept exactly: nothing informs them
    if not free:
        return ServingCalibration(**fixed)
    bounds = dict(zip(FITTED_FIELDS, _BOUNDS))
    x0 = np.array([getattr(start, f) for f in free], dtype=float)
    lo, hi = (np.array(b) for b in zip(*(bounds[f] for f in free)))
    fit = least_squares(lambda x: _residuals(rows, {**fixed, **dict(zip(free, x))}), np.clip(x0, lo, hi),
                        bounds=(lo, hi), x_scale=np.maximum(x0, 1e-2))  # each field on its own scale
    return ServingCalibration(**fixed, **dict(zip(free, (float(v) for v in fit.x))))


def calibration_document(calibration: ServingCalibration, rows, source: str) -> dict[str, Any]:
    """The calibration file: `calibration:` (the fields a scenario reads) and `fit:` (what it was fitted to and
    every row's residual, for the record; scenarios ignore it)."""
    residuals = []
    for row in rows:
        p = predict(row, calibration.model_dump())
        residuals.append({"row": row.label, "tpot_ms": row.tpot_ms, "predicted_tpot_ms": p.predicted_tpot_ms,
                          "ttft_ms": row.ttft_ms, "predicted_ttft_ms": p.predicted_ttft_ms})
    return {"calibration": calibration.model_dump(exclude={"source_file"}),
            "fit": {"method": "scipy least_squares on log(predicted / measured) of every tpot_ms and ttft_ms",
                    "measurements": source, "rows": len(rows), "residuals": residuals}}


def write_calibration_file(calibration: ServingCalibration, rows, source: str, path) -> Any:
    """Write the calibration file a scenario references with `serving.roofline.calibration: <path>`."""
    import yaml

    text = yaml.safe_dump(calibration_document(calibration, rows, source), sort_keys=False, width=120)
    name = one_line(Path(path).name, 200)
    header = (f"# Serving calibration fitted by `tco calibrate` from {one_line(source, 200)}. Use it in a scenario as\n"
              f"#   serving: {{roofline: {{calibration: {name}}}}}\n"
              "# with the path relative to the scenario file's folder (like a law file).\n")
    return atomic_write(path, lambda tmp: tmp.write_text(header + text, encoding="utf-8"))
