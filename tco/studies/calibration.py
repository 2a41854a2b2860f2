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
from ..evaluate import serving_performance
from ..text import one_line
from ..scenario.load import scenario_from_dict
from ..scenario.roofline import ServingCalibration

__all__ = ["measurement_scenario", "Prediction", "predict", "fit_calibration", "FITTED_FIELDS", "DEFAULT",
           "calibration_document", "write_calibration_file"]

#: The calibration fields a fit sets, with the bounds of the fit (each field's own range, efficiency in (0, 1]).
FITTED_FIELDS = ("overhead_per_layer_us", "allreduce_latency_us", "attention_ns_per_layer_context_token",
                 "prefill_compute_efficiency", "prefill_us_per_prompt_token")
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


def _residuals(rows, values) -> np.ndarray:
    calibration = dict(zip(FITTED_FIELDS, values))
    out = []
    for row in rows:
        p = predict(row, calibration)
        out += [math.log(p.predicted_tpot_ms / row.tpot_ms)] if row.tpot_ms is not None else []
        out += [math.log(p.predicted_ttft_ms / row.ttft_ms)] if row.ttft_ms is not None else []
    return np.array(out)


def fit_calibration(rows, start: ServingCalibration | None = None) -> ServingCalibration:
    """The ServingCalibration minimizing the sum of squared log residuals of every measured time (scipy least
    squares, from `start` or the defaults). Fields the rows cannot inform (no all-reduce without tp > 1, no
    first-token field without ttft_ms) stay near their start."""
    from scipy.optimize import least_squares

    start = start or ServingCalibration()
    x0 = np.array([getattr(start, f) for f in FITTED_FIELDS], dtype=float)
    lo, hi = (np.array(b) for b in zip(*_BOUNDS))
    fit = least_squares(lambda x: _residuals(rows, x), np.clip(x0, lo, hi), bounds=(lo, hi),
                        x_scale=np.maximum(x0, 1e-2))  # each field on its own scale (us, ns, a fraction)
    return ServingCalibration(**dict(zip(FITTED_FIELDS, (float(v) for v in fit.x))))


def calibration_document(calibration: ServingCalibration, rows, source: str) -> dict[str, Any]:
    """The calibration file: `calibration:` (the fields a scenario reads) and `fit:` (what it was fitted to and
    every row's residual, for the record; scenarios ignore it)."""
    residuals = []
    for row in rows:
        p = predict(row, calibration.model_dump())
        residuals.append({"row": row.label, "tpot_ms": row.tpot_ms, "predicted_tpot_ms": p.predicted_tpot_ms,
                          "ttft_ms": row.ttft_ms, "predicted_ttft_ms": p.predicted_ttft_ms})
    return {"calibration": calibration.model_dump(),
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
