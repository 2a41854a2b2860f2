"""What `tco fit` writes: the law file (YAML, loads as `law: <file>` in a scenario), its JSON twin, the Fit sheet.

Every file goes through tco.atomic.atomic_write: a failed write leaves any earlier file untouched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..text import one_line

__all__ = ["law_document", "write_law_file", "json_document", "write_fit_sheet", "write_workbook", "plain",
           "label", "ISOFLOP_NOTE"]

ISOFLOP_NOTE = (
    "An IsoFLOP fit (Approach 2) gives only the compute-optimal allocation (fit.isoflop: N_opt = k C^a, "
    "D_opt = k' C^b), not the constants of a law. So that this file still loads as a law, the law: section is "
    "an Approach 3 parametric fit of the same runs (fit.objective_value, fit.distinct_optima and bootstrap: "
    "refer to it)."
)


def plain(value):
    """numpy scalars and arrays -> Python floats, ints and lists (yaml.safe_dump and json accept only those)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def label(key: str) -> str:
    """A summary key for people: 'a' -> 'a = beta/(alpha+beta)', 'tokens_per_param_1e+21' -> 'D/N at C = 1e+21'."""
    if key == "a":
        return "a = beta/(alpha+beta)"
    return key.replace("tokens_per_param_", "D/N at C = ")


def _optima_summary(result) -> dict:
    fit = result.parametric
    near = fit.near_best
    return {
        "n_distinct": len(fit.optima),
        "n_within_1pct": len(near),
        "rule": "distinct: E, alpha or beta differ by > 1%; within_1pct: objective <= 1.01 x the best",
        "within_1pct": [{"objective": o["objective"], **o["constants"], "starts": o["starts"]} for o in near[:10]],
    }


def law_document(result, *, samples: bool = True) -> dict:
    """The law file as a dict: law (the constants), fit (how), bootstrap (uncertainty)."""
    runs, fit = result.runs, result.parametric
    doc = {
        "law": {"form": "chinchilla", "name": result.name, **result.constants, "source": result.source},
        "fit": {
            "method": result.method,
            "data_file": runs.name,
            "data_sha256": runs.sha256 or None,
            "columns": {k: one_line(v) for k, v in result.columns.items()} or None,
            "n_runs": len(runs),
            "huber_delta": fit.delta,
            "objective": "sum over runs of Huber(LSE(a - alpha log N, b - beta log D, e) - log L)",
            "objective_value": fit.objective,
            "n_starts": fit.n_starts,
            "n_polished": fit.n_polished,
            "seed": result.seed,
            "distinct_optima": _optima_summary(result),
            "warnings": result.warnings,
            "compute_optimal": result.compute_optimal(),
        },
    }
    if result.isoflop is not None:
        doc["fit"]["isoflop"] = result.isoflop.to_dict()
        doc["fit"]["note"] = ISOFLOP_NOTE
    if result.bootstrap is not None:
        doc["bootstrap"] = result.bootstrap.to_dict(samples=samples)
    return plain(doc)


def write_law_file(result, path: str | Path) -> Path:
    """Write the fit as a law file (YAML) that a scenario loads with `law: <path>`; returns the path."""
    import yaml

    doc = law_document(result)
    boot = {"bootstrap": doc.pop("bootstrap")} if "bootstrap" in doc else {}
    # law: and fit: in block style (people read and edit them); bootstrap rows one per line, in flow style.
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120)
    if boot:
        text += yaml.safe_dump(boot, sort_keys=False, default_flow_style=None, width=120)
    # Comment lines: a newline in a name would end the comment and inject YAML, so both go in as one line.
    header = (f"# Scaling law fitted by `tco fit` from {one_line(result.runs.name)}. Use it in a scenario as\n"
              f"#   law: {one_line(Path(path).as_posix())}\n")
    return atomic_write(path, lambda tmp: tmp.write_text(header + text, encoding="utf-8"))


def json_document(result, written: dict[str, str]) -> dict:
    """What `tco fit --json` prints: the law file without the bootstrap samples, plus the files written."""
    doc = law_document(result, samples=False)
    doc["summary"] = plain(result.summary())
    doc["written"] = written
    return doc


# --- Excel --------------------------------------------------------------------------------------------------
def _rows(ws, start: int, rows: list[tuple], formats: list[str | None]) -> int:
    from ..xlsx import put

    for r, row in enumerate(rows, start=start):
        for c, (value, fmt) in enumerate(zip(row, formats), start=1):
            put(ws, r, c, value, fmt if isinstance(value, (int, float)) else None)
    return start + len(rows)


def write_fit_sheet(wb, result) -> object:
    """Add a "Fit" sheet: constants with bootstrap summary, fit facts, warnings, IsoFLOP budgets, residuals."""
    from ..xlsx import finish_sheet, header, put, widths

    ws = wb.create_sheet("Fit")
    header(ws, 1, ["quantity", "fitted", "bootstrap SE", "P10", "P50", "P90"])
    summary = result.summary()
    row = 2
    for key, s in summary.items():  # A and B span decades: scientific; the rest fixed-point
        fmt = "0.0000E+00" if key in ("A", "B") else "0.00000"
        row = _rows(ws, row, [(label(key), s["value"], s["stderr"], s.get("p10"), s.get("p50"), s.get("p90"))],
                    [None] + [fmt] * 5)
    fit = result.parametric
    facts = [("method", result.method), ("law", result.name), ("source", result.source),
             ("data sha256", result.runs.sha256 or "in memory"), ("runs", len(result.runs)),
             ("objective (summed Huber, delta %g)" % fit.delta, fit.objective), ("starts", fit.n_starts),
             ("distinct optima / within 1% of best", f"{len(fit.optima)} / {len(fit.near_best)}"),
             ("bootstrap resamples", len(result.bootstrap) if result.bootstrap else 0)]
    facts += [("warning", w) for w in result.warnings]
    row = _rows(ws, row + 1, facts, [None, "General"])
    if result.isoflop is not None:
        iso = result.isoflop
        put(ws, row + 1, 1, f"IsoFLOP: N_opt = {iso.k:.4g} C^{iso.a:.4f}, D_opt = {iso.k_prime:.4g} C^{iso.b:.4f}",
            bold=True)
        header(ws, row + 2, ["budget FLOPs", "runs", "N_opt", "D_opt", "D/N", "loss at N_opt"])
        rows = [(b["flops"], b["n_runs"], b["params_opt"], b["tokens_opt"], b["tokens_per_param"], b["loss_opt"])
                for b in iso.budgets]
        row = _rows(ws, row + 3, rows, ["sci", "count", "sci", "sci", "ratio", "loss"])
    header(ws, row + 1, ["run (CSV row)", "params N", "tokens D", "observed loss", "fitted loss",
                         "log residual"])
    res = result.residuals()
    runs = result.runs
    rows = list(zip(res["row"], runs.params, runs.tokens, runs.loss, res["fitted"], res["residual"]))
    _rows(ws, row + 2, [tuple(plain(list(r))) for r in rows], ["count", "sci", "sci", "loss", "loss", "0.000000"])
    widths(ws, [34, 16, 16, 16, 16, 16])
    finish_sheet(ws, last_col=6)
    return ws


def write_workbook(result, path: str | Path) -> Path:
    """A workbook holding just the Fit sheet (`tco fit --xlsx PATH`)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    write_fit_sheet(wb, result)
    return atomic_write(path, lambda tmp: wb.save(tmp))

