"""`tco calibrate`: fit the serving step model's calibration to measured step times and write a calibration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ._common import console, err_console, fail, print_json
from ..text import one_line

__all__ = ["calibrate_command"]


def _overrides(values: list[str]) -> dict[str, str]:
    out = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            fail(f"--set: expected COLUMN=VALUE, got {text!r}")
        out[key.strip()] = value.strip()
    return out


def calibrate_command(
    measurements: Annotated[Path, typer.Argument(
        help="Measured step times: a CSV with the columns of tests/data/serving_measurements.csv, or the result "
             "JSON of `vllm bench serve --save-result`.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(
        help="Calibration file to write (YAML). Default: calibration.yaml.", show_default=False)] = None,
    set_values: Annotated[Optional[list[str]], typer.Option(
        "--set", help="COLUMN=VALUE for every row (what a vLLM result does not record: params, layers, heads, "
                      "kv_heads, head_dim, hardware, tp). Repeatable.", show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")] = False,
) -> None:
    """Fit the serving step model (per-layer overhead, all-reduce latency, attention time, prefill efficiency
    and per-prompt-token time: serving.roofline.calibration) to your own measurements.

    Least squares on the log residuals of every measured time per output token and time to first token, from
    the defaults; prints every row's residual before (defaults) and after the fit, and writes a calibration file
    that a scenario references as `serving: {roofline: {calibration: calibration.yaml}}`. Fields your rows
    cannot inform (no all-reduce without tp > 1, no prefill figures without ttft_ms) stay at their defaults.

    Example:  tco calibrate tests/data/serving_measurements.csv --out calibration.yaml
    """
    from ..atomic import check_output_path
    from ..studies.calibration import (calibration_document, check_rows, fit_calibration, informed_fields,
                                       measured_count, predict, write_calibration_file)
    from ..studies.measurements import read_measurements

    path = out or Path("calibration.yaml")
    check_output_path(path, inputs=[measurements])
    rows = read_measurements(measurements, _overrides(set_values or []))
    check_rows(rows, one_line(str(measurements), 200))
    free = informed_fields(rows)
    measured = measured_count(rows)
    fitted = fit_calibration(rows)
    written = write_calibration_file(fitted, rows, measurements.name, path)
    if json_output:
        print_json({**calibration_document(fitted, rows, measurements.name), "written": str(written)},
                   allow_nan=False)
        return
    table = Table(title=f"Residuals: {escape(measurements.name)}", header_style="bold")
    for col in ("row", "tpot ms", "default", "fitted", "ttft ms", "default", "fitted"):
        table.add_column(col, justify="left" if col == "row" else "right")
    for row in rows:
        before, after = predict(row), predict(row, fitted.model_dump())
        table.add_row(escape(row.label), _ms(row.tpot_ms), _err(before.tpot_error), _err(after.tpot_error),
                      _ms(row.ttft_ms), _err(before.ttft_error), _err(after.ttft_error))
    console.print(table)
    for name, value in fitted.model_dump(exclude={"source_file"}).items():
        kept = "" if name in free else "  (kept at its default: no row informs it)"
        console.print(f"  {name}: {value:.4g}{kept}", highlight=False)
    if measured < len(free):
        err_console.print(f"warning: {measured} measured times for {len(free)} fitted fields: the fit is not "
                          "unique (add rows: other batch sizes, prompts, tensor-parallel degrees)", highlight=False)
    (err_console if json_output else console).print(f"calibration written to {escape(str(written))}",
                                                    highlight=False)


def _ms(value) -> str:
    return "-" if value is None else f"{value:g}"


def _err(value) -> str:
    return "-" if value is None else f"{value:+.1%}"
