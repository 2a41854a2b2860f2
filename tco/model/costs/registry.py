"""The registry of cost terms, and the report layout every exporter iterates.

`TERMS` lists the term classes in force, in report order. `register(cls)` adds one (a plugin or a test), and
`registered(cls)` adds one for the duration of a `with` block. `layout(terms)` is the ordered list of every
figure a design reports: per term its own figures, the aggregate of each group (inference = prefill + decode)
after its last member, then the totals. The JSON of a design, the terminal table, the Costs sheet, the sweep
tables and the charts are all built from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from .base import CostTerm, Figure
from .data import DataCost
from .decode import DecodeCost
from .prefill import PrefillCost
from .training import TrainingCost

__all__ = ["TERMS", "register", "unregister", "registered", "layout", "aggregate", "GROUP_LABELS"]

TERMS: list[type[CostTerm]] = [TrainingCost, PrefillCost, DecodeCost, DataCost]

#: Aggregates: group name -> label (figures `<group>_flops` and `<group>_cost_usd`).
GROUP_LABELS = {"inference": "Lifetime inference"}


def register(term: type[CostTerm], *, before: str | None = None) -> type[CostTerm]:
    """Add a term class to the registry (before the term named `before`, else at the end). Usable as a decorator."""
    if any(t.name == term.name for t in TERMS):
        raise ValueError(f"a cost term named {term.name!r} is already registered")
    index = next((i for i, t in enumerate(TERMS) if t.name == before), len(TERMS))
    TERMS.insert(index, term)
    return term


def unregister(term: type[CostTerm]) -> None:
    TERMS.remove(term)


@contextmanager
def registered(term: type[CostTerm], *, before: str | None = None) -> Iterator[type[CostTerm]]:
    """`with registered(MyTerm): ...` - the term is part of every model built inside the block."""
    register(term, before=before)
    try:
        yield term
    finally:
        unregister(term)


def _classes(terms: Sequence[Any]) -> list[type[CostTerm]]:
    return [t if isinstance(t, type) else type(t) for t in terms]


def layout(terms: Sequence[Any]) -> tuple[Figure, ...]:
    """Every reported figure of a design, in report order, for these terms (instances or classes)."""
    classes = _classes(terms)
    out: list[Figure] = []
    for i, cls in enumerate(classes):
        out += cls.figures()
        group = cls.group
        if group is not None and not any(c.group == group for c in classes[i + 1:]):
            members = [c for c in classes if c.group == group]
            label = GROUP_LABELS.get(group, group.capitalize())
            flops = [c for c in members if c.has_flops]
            if flops:
                out.append(Figure(f"{group}_flops", f"{label} FLOPs", "FLOP", "flops",
                                  "=" + "+".join(f"{{col}}{{{c.name}_flops}}" for c in flops), f"{label} FLOPs"))
            out.append(Figure(f"{group}_cost_usd", f"{label} cost", "$", "usd",
                              "=" + "+".join(f"{{col}}{{{c.name}_cost_usd}}" for c in members), f"{label} cost"))
    flops_keys, usd_keys = _top_level(classes)
    out = [replace(f, total_of="flops" if f.key in flops_keys else "usd" if f.key in usd_keys else None)
           for f in out]
    out.append(Figure("total_flops", "Total FLOPs", "FLOP", "flops",
                      "=" + "+".join(f"{{col}}{{{k}}}" for k in flops_keys), "Total FLOPs"))
    out.append(Figure("total_cost_usd", "Total cost", "$", "usd",
                      "=" + "+".join(f"{{col}}{{{k}}}" for k in usd_keys), "Total cost"))
    return tuple(out)


def _top_level(classes: Sequence[type[CostTerm]]) -> tuple[list[str], list[str]]:
    """FLOPs and $ keys that add up to the totals: each ungrouped term, and each group's aggregate."""
    flops: list[str] = []
    usd: list[str] = []
    seen: set[str] = set()
    for cls in classes:
        name = cls.group or cls.name
        if name in seen:
            continue
        seen.add(name)
        members = [c for c in classes if (c.group or c.name) == name]
        if any(c.has_flops for c in members):
            flops.append(f"{name}_flops")
        usd.append(f"{name}_cost_usd")
    return flops, usd


def aggregate(terms: Sequence[CostTerm], params, tokens) -> dict[str, Any]:
    """Every figure of `layout(terms)` at (params, tokens), floats or arrays (the loss and N, D excluded)."""
    values: dict[str, Any] = {}
    for term in terms:
        values.update(term.values(params, tokens))
    classes = [type(t) for t in terms]
    for group in dict.fromkeys(c.group for c in classes if c.group is not None):
        members = [t for t in terms if type(t).group == group]
        if any(type(t).has_flops for t in members):
            values[f"{group}_flops"] = sum(values[f"{type(t).name}_flops"] for t in members if type(t).has_flops)
        values[f"{group}_cost_usd"] = sum(values[f"{type(t).name}_cost_usd"] for t in members)
    # totals over the terms themselves, in registry order (not over the group aggregates): one summation order
    values["total_flops"] = sum(term.flops(params, tokens) for term in terms)
    values["total_cost_usd"] = sum(values[f"{type(t).name}_cost_usd"] for t in terms)
    return {f.key: values[f.key] for f in layout(terms)}
