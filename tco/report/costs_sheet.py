"""The Costs sheet: the optimal and the compute-optimal design of the same loss, costed by live formulas from the
Inputs names.

N and D are solved values (a note says so and gives the command that re-solves); everything below them is a
formula, so a changed price, MFU or demand on Inputs recomputes costs and savings in Excel or LibreOffice. The
rows are the result's layout (`tco.model.costs.layout`): each cost term brings its own figures and formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.costs import Figure
from ..model.quantization import penalty_formula
from ..xlsx import FORMATS, define, display_text, finish_sheet, fit_columns, header, note, put, put_formula

if TYPE_CHECKING:
    from ..results import Result

__all__ = ["write_costs", "cost_rows", "row_of", "DESIGN_ROWS", "BASELINE", "baseline_words"]

#: The baseline every workbook compares with: the law's compute-optimal design at the optimum's loss (not
#: Chinchilla's own 70B / 1.4T); defined names and JSON keys keep "chinchilla".
BASELINE = "compute-optimal design at the same loss"


def baseline_words(text: str) -> str:
    """A solver message as the workbook words it: the baseline by what it is (the messages themselves, shared
    with JSON, keep their wording)."""
    return text.replace("the Chinchilla baseline", "the compute-optimal baseline (same loss)")


_FIRST_ROW = 2
#: The rows above the cost terms' figures: the solved design and what follows from it directly.
DESIGN_ROWS = (
    Figure("params", "Parameters N", "parameters", "count", ""),
    Figure("tokens", "Training tokens D", "tokens", "count", ""),
    Figure("tokens_per_param", "Tokens per parameter", "tokens/parameter", "ratio", "={d}/{n}"),
    Figure("loss", "Loss", "nats/token", "loss", "LOSS"),
)


def cost_rows(result: "Result") -> tuple[Figure, ...]:
    """Every row of the sheet, in order: the design rows, then the result's layout."""
    return (*DESIGN_ROWS, *result.layout)


def row_of(result: "Result") -> dict[str, int]:
    """Sheet row of each figure key."""
    return {f.key: _FIRST_ROW + i for i, f in enumerate(cost_rows(result))}


def _loss_formula(form: str, n: str, d: str, names: dict[str, str]) -> str:
    if form == "kaplan":
        return (f"=(({names['law_n_c']}/{n})^({names['law_alpha_n']}/{names['law_alpha_d']})"
                f"+{names['law_d_c']}/{d})^{names['law_alpha_d']}")
    return f"={names['law_E']}+{names['law_A']}/{n}^{names['law_alpha']}+{names['law_B']}/{d}^{names['law_beta']}"


def _effective_data(d: str, result: "Result") -> str:
    """D, or with repeated epochs the effective data D' of Muennighoff et al. 2023 (tco.model.repetition)."""
    limits = result.data_limits
    if limits is None:
        return d
    u, r = repr(float(limits.unique_tokens)), repr(float(limits.r_star_d))
    return _muennighoff_map(d, u, r)


def _effective_params(n: str, result: "Result") -> str:
    """N, or with the parameter half the effective parameters N' over U_N (eq. 6, tco.model.repetition)."""
    limits = result.data_limits
    if limits is None or limits.base_params is None or limits.r_star_n is None:
        return n
    return _muennighoff_map(n, repr(float(limits.base_params)), repr(float(limits.r_star_n)))


def _muennighoff_map(x: str, base: str, r: str) -> str:
    """X' = X up to the base, base (1 + r (1 - exp(-(X/base - 1)/r))) beyond it: eqs. 5 and 6 as one formula."""
    return f"IF({x}<={base},{x},{base}*(1+{r}*(1-EXP(-({x}/{base}-1)/{r}))))"


def write_costs(wb, ws, result: "Result", names: dict[str, str], law_form: str, resolve_command: str,
                prefix: str = "") -> dict[str, str]:
    """Fill `ws`; returns defined names of the key results (e.g. 'optimal_total_cost_usd', 'savings_fraction')."""
    header(ws, 1, ["metric", "unit", "optimal", "compute-optimal (same loss)", "optimal / compute-optimal"])
    out: dict[str, str] = {}
    rows = row_of(result)
    points = {"C": ("optimal", result.optimal), "D": ("chinchilla", result.chinchilla)}
    for figure in cost_rows(result):
        row = rows[figure.key]
        put(ws, row, 1, figure.label)
        put(ws, row, 2, "ZFLOP (10^21 FLOP)" if figure.fmt == "flops" else figure.unit)
        for col_letter, (which, point) in points.items():
            col = 3 if col_letter == "C" else 4
            n, d = f"{col_letter}{rows['params']}", f"{col_letter}{rows['tokens']}"
            if not figure.formula:
                cell = put(ws, row, col, getattr(point, figure.key), figure.fmt, bold=True)
                note(cell, f"Solved by tco ({which}). Values below are live formulas of this cell and the "
                           f"Inputs sheet; to re-optimize after changing inputs run:\n{resolve_command}")
            elif figure.formula == "LOSS":  # the served loss: the law's, plus the quantization penalty if any
                penalty = "" if result.quantization is None else penalty_formula(result.quantization.form, n, d, names)
                law_loss = _loss_formula(law_form, _effective_params(n, result), _effective_data(d, result), names)
                put_formula(ws, row, col, law_loss + penalty, figure.fmt)
            else:
                put_formula(ws, row, col, figure.formula.format(n=n, d=d, col=col_letter, **rows, **names),
                            figure.fmt)
            out[f"{which}_{figure.key}"] = define(wb, f"{prefix}{which}_{figure.key}", ws, row, col)
        put_formula(ws, row, 5, f"=IF(D{row}=0,\"\",C{row}/D{row})", "ratio")

    r = rows["total_cost_usd"] + 2
    total, flops = rows["total_cost_usd"], rows["total_flops"]
    savings = (
        ("savings_total_cost_usd", "Savings vs compute-optimal", "$", "usd", f"=D{total}-C{total}"),
        ("savings_fraction", "Savings vs compute-optimal", "share of cost", "fraction", f"=1-C{total}/D{total}"),
        ("savings_total_flops", "FLOPs saved vs compute-optimal", "FLOP", "flops", f"=D{flops}-C{flops}"),
        ("savings_flops_fraction", "FLOPs saved vs compute-optimal", "share of FLOPs", "fraction",
         f"=1-C{flops}/D{flops}"),
        ("tokens_factor", "Over-training: D / D_compute-optimal", "x", "ratio",
         f"=C{rows['tokens']}/D{rows['tokens']}"),
        ("params_factor", "N / N_compute-optimal", "x", "ratio", f"=C{rows['params']}/D{rows['params']}"),
    )
    header(ws, r, ["result", "unit", "value"])
    for i, (key, label, unit, fmt, formula) in enumerate(savings, start=1):
        put(ws, r + i, 1, label)
        put(ws, r + i, 2, "ZFLOP (10^21 FLOP)" if fmt == "flops" else unit)
        put_formula(ws, r + i, 3, formula, fmt, bold=True)
        out[key] = define(wb, f"{prefix}{key}", ws, r + i, 3)
    # formula cells carry no value yet: the width their Python values print at
    values = (result.optimal.to_dict(), result.chinchilla.to_dict())
    shown = [display_text(v.get(f.key), FORMATS.get(f.fmt, f.fmt)) for f in cost_rows(result) for v in values]
    shown += [display_text(result.savings.total_cost_usd, FORMATS["usd"]),
              display_text(result.savings.total_flops, FORMATS["flops"])]
    value_width = max(len(t) for t in shown) + 3
    fit_columns(ws, last_col=5, maximum=40, at_least={3: value_width, 4: value_width, 5: 12})
    finish_sheet(ws, last_col=5)
    return out
