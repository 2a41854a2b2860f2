"""The Costs sheet: the optimal and the Chinchilla design, costed by live formulas from the Inputs names.

N and D are solved values (a note says so and gives the command that re-solves); everything below them is a
formula, so a changed price, MFU or demand on Inputs recomputes costs and savings in Excel or LibreOffice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .xlsx import define, finish_sheet, header, note, put, put_formula, widths

if TYPE_CHECKING:
    from ..result import Result

__all__ = ["write_costs", "COST_ROWS", "ROOFLINE_DECODE_COST"]

# key, label, unit, format, formula template ({n}, {d}: the column's N and D cells; {col}: its letter; names)
COST_ROWS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("params", "Parameters N", "parameters", "count", None),
    ("tokens", "Training tokens D", "tokens", "count", None),
    ("tokens_per_param", "Tokens per parameter", "tokens/parameter", "ratio", "={d}/{n}"),
    ("loss", "Loss", "nats/token", "loss", "LOSS"),
    ("training_flops", "Training FLOPs", "FLOP", "flops", "=6*{n}*{d}"),
    ("training_gpu_hours", "Training GPU-hours", "device-hours", "count",
     "={col}{training_flops}/({train_peak_flops}*{train_mfu}*3600)"),
    ("training_cost_usd", "Training cost", "$", "usd", "={col}{training_gpu_hours}*{train_price_usd_per_hour}"),
    ("prefill_flops", "Prefill FLOPs", "FLOP", "flops", "=2*{n}*{lifetime_prompt_tokens}"),
    ("prefill_cost_usd", "Prefill cost", "$", "usd",
     "={col}{prefill_flops}/({serve_peak_flops}*{prefill_mfu}*3600)*{serve_price_usd_per_hour}"),
    ("decode_flops", "Decode FLOPs", "FLOP", "flops", "=2*{n}*{lifetime_generated_tokens}"),
    ("decode_cost_usd", "Decode cost", "$", "usd",
     "={col}{decode_flops}/({serve_peak_flops}*{decode_mfu}*3600)*{serve_price_usd_per_hour}"),
    ("inference_flops", "Lifetime inference FLOPs", "FLOP", "flops", "={col}{prefill_flops}+{col}{decode_flops}"),
    ("inference_cost_usd", "Lifetime inference cost", "$", "usd",
     "={col}{prefill_cost_usd}+{col}{decode_cost_usd}"),
    ("data_cost_usd", "Data cost", "$", "usd", "={d}*{data_cost_usd_per_token}"),
    ("total_flops", "Total FLOPs", "FLOP", "flops", "={col}{training_flops}+{col}{inference_flops}"),
    ("total_cost_usd", "Total cost", "$", "usd",
     "={col}{training_cost_usd}+{col}{inference_cost_usd}+{col}{data_cost_usd}"),
)
#: With `serving.roofline:` decode is priced per token at the longer of compute and memory time
#: (tco.scenario.roofline): device-seconds x $/device-hour / 3600 x lifetime generated tokens.
ROOFLINE_DECODE_COST = (
    "={lifetime_generated_tokens}*{serve_price_usd_per_hour}/3600"
    "*MAX(2*{n}/({serve_peak_flops}*{roof_compute_efficiency}),"
    "({roof_bytes_per_param}*{n}/{roof_batch_size}+{roof_context_tokens}*{roof_kv_coef}*{n}^{roof_kv_exp})"
    "/({roof_bandwidth_gb_per_s}*1000000000*{roof_bandwidth_efficiency}))")
_FIRST_ROW = 2
ROW_OF = {key: _FIRST_ROW + i for i, (key, *_rest) in enumerate(COST_ROWS)}


def _loss_formula(form: str, n: str, d: str, names: dict[str, str]) -> str:
    if form == "kaplan":
        return (f"=(({names['law_n_c']}/{n})^({names['law_alpha_n']}/{names['law_alpha_d']})"
                f"+{names['law_d_c']}/{d})^{names['law_alpha_d']}")
    return f"={names['law_E']}+{names['law_A']}/{n}^{names['law_alpha']}+{names['law_B']}/{d}^{names['law_beta']}"


def _effective_data(d: str, result: "Result") -> str:
    """D, or with repeated epochs the effective data D' of Muennighoff et al. 2023 (tco.model.repetition)."""
    limits = getattr(result, "data_limits", None)
    if not limits:
        return d
    u, r = repr(float(limits["unique_tokens"])), repr(float(limits["r_star_d"]))
    return f"IF({d}<={u},{d},{u}*(1+{r}*(1-EXP(-({d}/{u}-1)/{r}))))"


def write_costs(wb, ws, result: "Result", names: dict[str, str], law_form: str, resolve_command: str,
                prefix: str = "") -> dict[str, str]:
    """Fill `ws`; returns defined names of the key results (e.g. 'optimal_total_cost_usd', 'savings_fraction')."""
    header(ws, 1, ["metric", "unit", "optimal", "chinchilla (same loss)", "optimal / chinchilla"])
    out: dict[str, str] = {}
    points = {"C": ("optimal", result.optimal), "D": ("chinchilla", result.chinchilla)}
    for key, label, unit, fmt, template in COST_ROWS:
        row = ROW_OF[key]
        put(ws, row, 1, label)
        put(ws, row, 2, unit)
        for col_letter, (which, point) in points.items():
            col = 3 if col_letter == "C" else 4
            n, d = f"{col_letter}{ROW_OF['params']}", f"{col_letter}{ROW_OF['tokens']}"
            if template is None:
                cell = put(ws, row, col, getattr(point, key), fmt, bold=True)
                note(cell, f"Solved by tco ({which}). Values below are live formulas of this cell and the "
                           f"Inputs sheet; to re-optimize after changing inputs run:\n{resolve_command}")
            elif template == "LOSS":
                put_formula(ws, row, col, _loss_formula(law_form, n, _effective_data(d, result), names), fmt)
            else:
                if key == "decode_cost_usd" and "roof_kv_coef" in names:
                    template = ROOFLINE_DECODE_COST
                put_formula(ws, row, col, template.format(n=n, d=d, col=col_letter, **ROW_OF, **names), fmt)
            out[f"{which}_{key}"] = define(wb, f"{prefix}{which}_{key}", ws, row, col)
        put_formula(ws, row, 5, f"=IF(D{row}=0,\"\",C{row}/D{row})", "ratio")

    r = ROW_OF["total_cost_usd"] + 2
    total, flops = ROW_OF["total_cost_usd"], ROW_OF["total_flops"]
    savings = (
        ("savings_total_cost_usd", "Savings vs Chinchilla", "$", "usd", f"=D{total}-C{total}"),
        ("savings_fraction", "Savings vs Chinchilla", "share of cost", "fraction", f"=1-C{total}/D{total}"),
        ("savings_total_flops", "FLOPs saved vs Chinchilla", "FLOP", "flops", f"=D{flops}-C{flops}"),
        ("savings_flops_fraction", "FLOPs saved vs Chinchilla", "share of FLOPs", "fraction", f"=1-C{flops}/D{flops}"),
        ("tokens_factor", "Over-training: D / D_chinchilla", "x", "ratio", f"=C{ROW_OF['tokens']}/D{ROW_OF['tokens']}"),
        ("params_factor", "N / N_chinchilla", "x", "ratio", f"=C{ROW_OF['params']}/D{ROW_OF['params']}"),
    )
    header(ws, r, ["result", "unit", "value"])
    for i, (key, label, unit, fmt, formula) in enumerate(savings, start=1):
        put(ws, r + i, 1, label)
        put(ws, r + i, 2, unit)
        put_formula(ws, r + i, 3, formula, fmt, bold=True)
        out[key] = define(wb, f"{prefix}{key}", ws, r + i, 3)
    widths(ws, [30, 16, 20, 22, 20])
    finish_sheet(ws, last_col=5)
    return out
