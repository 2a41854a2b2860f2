"""The architecture choice (`tco.results.ArchitectureChoice`) as a terminal table and a workbook sheet: one row per
candidate expert count / serving precision with its optimum (active and total parameters, tokens, cost, what
binds), the winner marked. Solved values, not formulas: each row is its own geometric program."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ..results import ArchitectureChoice
from ..units import format_count, format_usd
from ..xlsx import finish_sheet, fit_columns, header, put

__all__ = ["architecture_table", "write_architecture", "COLUMNS"]

#: Column titles, shared by the terminal and the sheet.
COLUMNS = ("E", "top_k", "dtype", "N active", "N total", "D", "D/N", "lifetime $", "binds")


def _binds(candidate) -> str:
    if not candidate.feasible:
        return f"infeasible: {candidate.error}"
    return ", ".join(candidate.binding_constraints) or "none"


def architecture_table(choice: ArchitectureChoice) -> Table:
    """The candidates with the winner marked * in bold green (top_k in the title: one value for all rows)."""
    top_k = ", ".join(dict.fromkeys(f"{c.top_k:g}" for c in choice.candidates))
    table = Table(title=f"Architecture choice over {' x '.join(choice.axes)} (top_k {top_k}; each row its own "
                  "optimum, * = cheapest)", header_style="bold", title_justify="left")
    for col in COLUMNS:
        if col != "top_k":
            table.add_column(col, justify="left" if col in ("dtype", "binds") else "right", overflow="fold",
                             no_wrap=col != "binds", min_width=8 if col == "binds" else None)
    for i, c in enumerate(choice.candidates):
        style = "bold green" if i == choice.winner else ("dim" if not c.feasible else "")
        cells = (("*" if i == choice.winner else "") + f"{c.experts:g}", c.precision, *_figures(c))
        table.add_row(*cells, Text(_binds(c)), style=style)
    return table


def _figures(c) -> tuple[str, ...]:
    if c.params is None or c.total_params is None or c.tokens is None or c.total_cost_usd is None:
        return ("-",) * 5  # an infeasible candidate
    return (format_count(c.params), format_count(c.total_params), format_count(c.tokens),
            f"{c.tokens_per_param:,.0f}", format_usd(c.total_cost_usd))


def write_architecture(ws, choice: ArchitectureChoice) -> None:
    """The Architecture sheet: the same table, numbers as numbers."""
    put(ws, 1, 1, f"Architecture choice over {' x '.join(choice.axes)}: each row is its own optimum "
                  f"(objective {choice.objective}); the other sheets price the winner", bold=True)
    header(ws, 2, ["winner", *COLUMNS, f"objective ({choice.objective})"])
    for r, c in enumerate(choice.candidates, start=3):
        put(ws, r, 1, "yes" if r - 3 == choice.winner else "")
        put(ws, r, 2, c.experts, "plain")
        put(ws, r, 3, c.top_k, "plain")
        put(ws, r, 4, c.precision)
        if c.feasible:
            for col, (value, fmt) in enumerate(((c.params, "count"), (c.total_params, "count"), (c.tokens, "count"),
                                                (c.tokens_per_param, "ratio"), (c.total_cost_usd, "usd")),
                                               start=5):
                put(ws, r, col, value, fmt)
            put(ws, r, 11, c.objective_value, "usd" if choice.objective == "usd" else "flops")
        put(ws, r, 10, _binds(c))
    fit_columns(ws, last_col=len(COLUMNS) + 2, maximum=40, first_row=2)
    finish_sheet(ws, freeze="A3", last_col=len(COLUMNS) + 2)
