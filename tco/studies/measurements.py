"""Measured serving step times, read for `tco calibrate` and the serving-model checks.

Two sources, one row type (`Measurement`):

- a CSV with the columns of tests/data/serving_measurements.csv (``#`` lines are comments): model, params, layers,
  heads, kv_heads, head_dim, hardware, dtype, tp, batch, prompt_tokens, generated_tokens, tpot_ms, ttft_ms, engine,
  source. tpot_ms and ttft_ms may be empty (not measured); model, dtype (default bf16), engine and source are
  optional; any other column is an error, so a misspelt one is not silently ignored;
- the result JSON of ``vllm bench serve --save-result``: its mean_tpot_ms and mean_ttft_ms, max_concurrency as the
  batch, and total_input_tokens / total_output_tokens over completed requests as the tokens per request. vLLM does
  not record the model's shape or the hardware; pass them with ``--metadata params=6.74e9 layers=32 ...`` when
  benchmarking (vLLM stores metadata as top-level keys) or with `overrides` (``tco calibrate --set tp=2``).

Every problem is one line naming the file, the row (CSV) and the column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from ..errors import TcoError
from ..inputs import InputFileError, read_regular_file, read_text_table
from ..scenario.extras import DevicesPerReplica, LatencyMs
from ..scenario.fields import Count, Name, Params, SourceText, StrictModel, TokensPerRequest, within
from ..scenario.roofline import HeadDim, Heads, Layers
from ..text import one_line

__all__ = ["Measurement", "MeasurementError", "read_measurements", "MAX_MEASUREMENT_BYTES", "MAX_MEASUREMENTS"]

#: A measurement file is a table of benchmark rows, or one vLLM result (which may list per-request latencies).
MAX_MEASUREMENT_BYTES = 20_000_000
#: Rows one calibration reads: each is a handful of model evaluations per fit iteration.
MAX_MEASUREMENTS = 10_000
Batch = Annotated[Count, within(1, 1e6, "a million concurrent sequences on one replica", "sequences")]


class MeasurementError(TcoError):
    """A measurement file that cannot be used: one line with the file, the row and the column."""


class Measurement(StrictModel):
    """One measured serving configuration and its step times (the columns of serving_measurements.csv)."""

    model: Name = Field(default="", description="model name, for the residual table")
    params: Params = Field(description="parameters N")
    layers: Layers
    heads: Heads = Field(description="query heads")
    kv_heads: Heads
    head_dim: HeadDim
    hardware: Name = Field(description="catalog device (`tco hardware`)")
    dtype: Name = Field(default="bf16", description="serving dtype")
    tp: DevicesPerReplica = Field(description="tensor-parallel degree = devices per replica")
    batch: Batch = Field(description="concurrent sequences decoded together")
    prompt_tokens: TokensPerRequest
    generated_tokens: TokensPerRequest
    tpot_ms: LatencyMs | None = Field(default=None, description="time per output token, excluding the first")
    ttft_ms: LatencyMs | None = Field(default=None, description="time to first token on an idle replica")
    engine: Name = ""
    source: SourceText = ""

    @model_validator(mode="after")
    def _shape(self) -> "Measurement":
        for field in ("layers", "heads", "kv_heads", "head_dim", "tp", "batch"):
            value = getattr(self, field)
            if not float(value).is_integer():
                raise ValueError(f"{field} must be a whole number, got {value:g}")
        if self.heads % self.tp:  # serving engines split the attention heads evenly over the tensor-parallel ranks
            raise ValueError(f"tp {self.tp:g} does not divide the {self.heads:g} query heads (vLLM and TensorRT-LLM "
                             "split heads evenly across tensor-parallel ranks)")
        if self.ttft_ms is not None and not self.prompt_tokens > 0:
            raise ValueError("ttft_ms needs prompt_tokens > 0 (a first token follows a prompt)")
        return self

    @property
    def label(self) -> str:
        name = self.model or f"{self.params:.3g} params"
        return f"{name} {self.hardware} tp{self.tp:g} b{self.batch:g} {self.prompt_tokens:g}+{self.generated_tokens:g}"


def _row_error(name: str, where: str, exc: ValidationError) -> MeasurementError:
    first = exc.errors()[0]
    column = ".".join(str(p) for p in first["loc"]) or "row"
    if column == "row":  # a check across columns (Measurement._shape)
        return MeasurementError(one_line(f"{name}: {where}{str(first['msg']).removeprefix('Value error, ')}", 500))
    message = str(first["msg"]).removeprefix("Value error, ")
    return MeasurementError(one_line(f"{name}: {where}column {column!r}: {message}", 500))


def _measurement(name: str, where: str, values: dict[str, Any]) -> Measurement:
    try:
        return Measurement.model_validate(values)
    except ValidationError as exc:
        raise _row_error(name, where, exc) from None


def _read_csv(name: str, raw: bytes, overrides: dict[str, str]) -> list[Measurement]:
    try:
        frame = read_text_table(raw, max_rows=MAX_MEASUREMENTS, comment="#")
    except InputFileError as exc:
        raise MeasurementError(f"{name}: {exc}") from None
    if len(frame) > MAX_MEASUREMENTS:
        raise MeasurementError(f"{name}: more than {MAX_MEASUREMENTS:,} rows; a calibration reads at most "
                               f"{MAX_MEASUREMENTS:,}")
    rows = []
    for index, record in enumerate(frame.to_dict("records"), start=1):
        values = {str(k).strip(): v for k, v in record.items() if str(v).strip() != ""}
        rows.append(_measurement(name, f"row {index}, ", {**values, **overrides}))
    return rows


#: vLLM result key -> how a Measurement field is derived from the result
def _from_vllm(result: dict[str, Any]) -> dict[str, Any]:
    completed = result.get("completed")
    out: dict[str, Any] = {"model": str(result.get("model_id", "")), "engine": "vLLM"}
    for key, field in (("mean_tpot_ms", "tpot_ms"), ("mean_ttft_ms", "ttft_ms"), ("max_concurrency", "batch")):
        if result.get(key) is not None:
            out[field] = result[key]
    if isinstance(completed, (int, float)) and not isinstance(completed, bool) and completed > 0:
        for key, field in (("total_input_tokens", "prompt_tokens"), ("total_output_tokens", "generated_tokens")):
            if isinstance(result.get(key), (int, float)):
                out[field] = result[key] / completed
    return out


def _read_vllm(name: str, raw: bytes, overrides: dict[str, str]) -> list[Measurement]:
    try:
        result = json.loads(raw.decode("utf-8-sig"))  # a byte-order mark, as some editors save, is not content
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MeasurementError(f"{name}: not a readable JSON file ({exc})") from None
    if not isinstance(result, dict) or "mean_tpot_ms" not in result:
        raise MeasurementError(f"{name}: not a `vllm bench serve --save-result` file (no mean_tpot_ms)")
    fields = set(Measurement.model_fields)
    metadata = {k: v for k, v in result.items() if k in fields}  # vLLM's --metadata KEY=VALUE pairs
    values = {**_from_vllm(result), **metadata, **overrides}
    missing = sorted(f for f, info in Measurement.model_fields.items() if info.is_required() and f not in values)
    if missing:
        raise MeasurementError(
            f"{name}: the vLLM result does not say {', '.join(missing)}; add them when benchmarking "
            f"(vllm bench serve --metadata {missing[0]}=...) or here (--set {missing[0]}=...)")
    return [_measurement(name, "", values)]


def read_measurements(path: str | Path, overrides: dict[str, str] | None = None) -> list[Measurement]:
    """The rows of a measurement CSV or a vLLM result JSON (by its content: a JSON object or a table).

    `overrides` ({column: text}) set a column on every row (for what a vLLM result does not record)."""
    path = Path(path)
    name = one_line(str(path), 200)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(Measurement.model_fields))
    if unknown:
        raise MeasurementError(f"--set {unknown[0]}: not a measurement column (columns: "
                               f"{', '.join(Measurement.model_fields)})")
    try:
        raw = read_regular_file(path, limit=MAX_MEASUREMENT_BYTES, what="measurement file")
    except InputFileError as exc:
        raise MeasurementError(f"{name}: {exc}") from None
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    rows = (_read_vllm if start in (b"{", b"[") else _read_csv)(name, raw, overrides)
    if not rows:
        raise MeasurementError(f"{name}: no measurement rows")
    return rows
