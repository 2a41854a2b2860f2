"""Rich HTML for notebooks: `Result._repr_html_` (and the study results' reprs) build their tables here.

Every piece of text that comes from a scenario (its name, the law's, a warning quoting a field) goes through
`html.escape`, so a scenario named "<script>" shows as written. The figures are the Result's own, in its cost
layout's order (the term registry, `tco.model.costs.layout`): a new cost term appears with no change here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ..units import format_count, format_usd

__all__ = ["result_html", "table_html", "designs_table_html", "paragraph_html", "BASELINE_LABEL"]

#: What the Result's `chinchilla` design is: the law's compute-optimal point at the optimum's loss.
BASELINE_LABEL = "compute-optimal at the same loss"
_DESIGN_ROWS = (("Parameters N", "params", "count"), ("Training tokens D", "tokens", "count"),
                ("Tokens per parameter", "tokens_per_param", "ratio"), ("Loss (nats/token)", "loss", "loss"))
_STYLE = "border-collapse:collapse;margin:0.4em 0"
_CELL = "padding:2px 10px;border-bottom:1px solid #ddd"


def _number(value: float, fmt: str) -> str:
    """A figure as the terminal prints it: $ with separators, counts as 24.2B, FLOPs in e-notation."""
    if value is None or not math.isfinite(value):
        return str(value)
    if fmt == "usd":
        return format_usd(value)
    if fmt == "count":
        return format_count(value) if abs(value) >= 1e4 else f"{value:,.0f}"
    if fmt == "flops":
        return f"{value:.3e}"
    if fmt == "loss":
        return f"{value:.4f}"
    if fmt == "ratio":
        return f"{value:,.1f}"
    if fmt == "percent":
        return f"{value:.2%}"
    return f"{value:.4g}"


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> str:
    """An HTML table; every cell is escaped (numbers are formatted by the caller, as text)."""
    head = "".join(f'<th style="{_CELL};text-align:{"left" if i == 0 else "right"}">{escape(str(h))}</th>'
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td style="{_CELL};text-align:{"left" if i == 0 else "right"}">'
                                    f"{escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    cap = f'<caption style="text-align:left;font-weight:bold">{escape(caption)}</caption>' if caption else ""
    return f'<table style="{_STYLE}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def paragraph_html(label: str, text: str, *, color: str | None = None) -> str:
    """'<b>label</b> text' as one paragraph, both escaped."""
    style = f' style="color:{color}"' if color else ""
    return f"<p{style}><b>{escape(label)}</b> {escape(text)}</p>"


def _figure_rows(result: Any) -> list[tuple[str, str, str]]:
    """(label, key, number format) of every figure: the design rows, then the cost layout (or, for a Result
    built by hand without one, every figure by its key)."""
    rows = list(_DESIGN_ROWS)
    if result.layout:
        rows += [(f.label, f.key, f.fmt) for f in result.layout]
    else:
        known = {key for _, key, _ in rows}
        rows += [(k, k, "usd" if k.endswith("_usd") else "flops" if k.endswith("_flops") else "")
                 for k in result.optimal.figures if k not in known]
    return rows


def designs_table_html(designs: Sequence[tuple[str, Any]], *, caption: str | None = None) -> str:
    """Designs (label, DesignPoint) side by side: N, D, tokens per parameter, loss, each term's $ and the total."""
    first = designs[0][1]
    rows = [*_DESIGN_ROWS, *((f"{name.replace('_', ' ').capitalize()} cost", f"{name}_cost_usd", "usd")
                                 for name in first.breakdown),
            ("Total cost", "total_cost_usd", "usd")]
    return table_html(("", *(label for label, _ in designs)),
                      [(label, *(_number(p.figures.get(key, math.nan), fmt) for _, p in designs))
                       for label, key, fmt in rows], caption=caption)


def _term_label(result: Any, name: str) -> str:
    """A cost term's label ("Training"), from the layout's `<name>_cost_usd` figure."""
    figure = next((f for f in result.layout if f.key == f"{name}_cost_usd"), None)
    return name if figure is None else figure.label.removesuffix(" cost")


def result_html(result: Any) -> str:
    """The notebook view of a Result: headline, the optimum next to the compute-optimal design at the same loss,
    the cost breakdown by term with shares, binding caps, the cross-check and every warning."""
    opt, base = result.optimal, result.chinchilla
    usd = result.objective == "usd"
    measure = "lifetime $" if usd else "lifetime FLOPs"
    s = result.savings
    saved = (f"{format_usd(s.total_cost_usd)} ({s.fraction:.2%})" if usd else
             f"{s.total_flops:.3e} FLOPs ({s.flops_fraction:.2%})")
    parts = [f"<h4 style=\"margin:0.3em 0\">{escape(result.scenario)}</h4>",
             paragraph_html("Law:", f"{result.law}, target loss {result.target_loss:.5g}, minimizing {measure}"),
             paragraph_html("Optimum:", f"{format_count(opt.params)} parameters trained on "
                                        f"{format_count(opt.tokens)} tokens ({opt.tokens_per_param:,.1f} per "
                                        f"parameter), total cost {format_usd(opt.total_cost_usd)}; saves {saved} "
                                        f"against the compute-optimal design at the same loss "
                                        f"({format_count(base.params)} parameters)")]
    rows = []
    for label, key, fmt in _figure_rows(result):
        a, b = opt.figures.get(key), base.figures.get(key)
        if a is None or b is None:
            continue
        rows.append((label, _number(a, fmt), _number(b, fmt), f"{a / b:.3f}x" if b else ""))
    parts.append(table_html(("", "Optimum", "Compute-optimal (same loss)", "Optimum / compute-optimal"), rows))
    total_a, total_b = opt.total_cost_usd, base.total_cost_usd
    breakdown = [(_term_label(result, name), format_usd(value), _share(value, total_a),
                  format_usd(base.breakdown.get(name, math.nan)), _share(base.breakdown.get(name, math.nan), total_b))
                 for name, value in opt.breakdown.items()]
    parts.append(table_html(("Cost term", "Optimum", "share", "Compute-optimal", "share"), breakdown,
                            caption="Cost breakdown by term"))
    parts.append(paragraph_html("Binding constraints:", ", ".join(result.binding_constraints)
                                or "none (only the loss target binds)"))
    cc = result.cross_check
    parts.append(paragraph_html("Cross-check:", f"{cc.gp_status}; GP vs exact 1-D solve differ by "
                                                f"{cc.max_rel_diff:.1e} relative (tolerance {cc.tolerance:.0e}: "
                                                f"{'ok' if cc.agrees else 'FAILED'})",
                                color=None if cc.agrees else "#b00"))
    parts += [paragraph_html("warning:", w, color="#a60") for w in result.warnings]
    return '<div class="tco-result">' + "".join(parts) + "</div>"


def _share(value: float, total: float) -> str:
    return f"{value / total:.1%}" if total and math.isfinite(value) else ""
