"""The architecture choice: one solved candidate per expert count and/or serving precision, and the winner
(`tco.choice` solves them; the terminal, JSON `architecture_choice` and the workbook's Architecture sheet read
this). Nothing here solves."""

from __future__ import annotations

from dataclasses import dataclass

from .sections import Section

__all__ = ["ArchitectureCandidate", "ArchitectureChoice"]


@dataclass(frozen=True)
class ArchitectureCandidate(Section):
    """One candidate's optimum. `params` is the ACTIVE parameter count (what the FLOPs follow), `total_params`
    what a replica holds; `error` says why a candidate has no design (infeasible: its caps, say), else None."""

    experts: float
    top_k: float
    precision: str
    params: float | None
    total_params: float | None
    tokens: float | None
    tokens_per_param: float | None
    total_cost_usd: float | None
    objective_value: float | None  # the scenario's objective ($ or FLOPs) the choice minimizes
    binding_constraints: tuple[str, ...]
    error: str | None = None

    @property
    def feasible(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ArchitectureChoice(Section):
    """The candidates in the order the scenario lists them (experts outer, precisions inner) and the cheapest.
    `axes` names what varies: "experts", "precision" or both."""

    axes: tuple[str, ...]
    objective: str
    candidates: tuple[ArchitectureCandidate, ...]
    winner: int  # index into candidates

    @property
    def best(self) -> ArchitectureCandidate:
        return self.candidates[self.winner]
