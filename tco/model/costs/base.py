"""The cost-term protocol: one class per term owns every view of itself.

A term is a monomial ``coef x N^n_exp x D^d_exp``, or a posynomial: that monomial plus `extra` monomials with
exponents of their own (the attention FLOPs of training, prefill and decode), or, like the roofline decode, a
max of posynomials that the exact solvers split into regimes of monomials. Each term class states, in one file:

- its $ and FLOPs for floats and for arrays (`usd`, `flops`, `values`),
- its exact-solver pieces (`pieces`) and hence its GP expression (the GP takes the monomials as they are),
- its report figures (`FIGURES`): JSON key, label, unit, number format and the live Excel formula,
- its editable inputs (`input_rows`) for the workbook's Inputs sheet.

Reports iterate the registry (`tco.model.costs.registry`), so a new term is one new file plus its
registration; nothing in `report/`, `results` or the sweeps names a term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ...scenario import Scenario

__all__ = ["CostTerm", "Monomial", "Figure", "InputRow", "given", "SARDANA_DEFAULT"]

#: Source of the MFU defaults.
SARDANA_DEFAULT = "default: Sardana et al. 2024 code defaults"


@dataclass(frozen=True)
class Figure:
    """One reported quantity of a term (or an aggregate): a DesignPoint/JSON key and how every report shows it.

    `formula` is the Excel template of the Costs sheet: ``{n}``/``{d}`` are the column's N and D cells,
    ``{col}`` its letter, ``{<key>}`` the row of another figure, and any other name an Inputs-sheet name.
    `terminal` is the label in the terminal summary (None: not shown there); `optional` figures are hidden in
    the terminal when they are zero for both designs.
    """

    key: str
    label: str
    unit: str
    fmt: str
    formula: str
    terminal: str | None = None
    optional: bool = False
    #: "usd" or "flops" when this figure is one of the parts that add up to the total of that measure
    #: (each ungrouped term, each group's aggregate); None otherwise. Set by `layout`.
    total_of: str | None = None


@dataclass(frozen=True)
class InputRow:
    """One row of the Inputs sheet: a named cell (yellow when editable) with its unit and source."""

    key: str  # defined name (before any per-scenario prefix)
    label: str
    value: object  # a number, a string, or a formula template "={requests}*{prompt_tokens_per_request}"
    unit: str
    source: str
    fmt: str = "sci"
    editable: bool = True


def given(model: Any, field: str, default_source: str) -> str:
    """'scenario' when the user stated `field`, else where its default comes from."""
    return "scenario" if field in model.model_fields_set else default_source


@dataclass(frozen=True)
class CostTerm:
    """``flops = flops_coef x N^n_exp x D^d_exp`` and ``usd = usd_coef x N^n_exp x D^d_exp``.

    Subclasses set the class attributes and `from_scenario`; `FIGURES` defaults to the term's FLOPs (when
    `has_flops`) and $ rows with the formulas of `flops_formula` and `usd_formula`.
    """

    name: ClassVar[str]
    label: ClassVar[str]  # e.g. "Training" -> "Training FLOPs", "Training cost"
    n_exp: ClassVar[float]
    d_exp: ClassVar[float]
    #: aggregate the term's figures belong to (e.g. "inference" = prefill + decode), or None
    group: ClassVar[str | None] = None
    #: True when the coefficient is proportional to lifetime inference tokens (demand sweeps scale it)
    per_inference_token: ClassVar[bool] = False
    #: False for terms with no FLOPs at all (data acquisition): no `<name>_flops` figure is reported
    has_flops: ClassVar[bool] = True
    #: hidden in the terminal when zero for both designs
    optional: ClassVar[bool] = False
    flops_formula: ClassVar[str] = ""
    usd_formula: ClassVar[str] = ""

    flops_coef: Any
    usd_coef: Any
    #: further monomials of the term (e.g. its attention FLOPs), each priced at its own coefficients
    extra: tuple["Monomial", ...] = ()

    # --- numbers (floats or arrays) ----------------------------------------------------------------------
    def monomial(self, params, tokens):
        return params**self.n_exp * tokens**self.d_exp

    def flops(self, params, tokens):
        out = self.flops_coef * self.monomial(params, tokens)
        for piece in self.extra:
            out = out + piece.flops(params, tokens)
        return out

    def usd(self, params, tokens):
        out = self.usd_coef * self.monomial(params, tokens)
        for piece in self.extra:
            out = out + piece.usd(params, tokens)
        return out

    def weight(self, objective: str):
        """Coefficient of this term in the objective being minimized ('usd' or 'flops')."""
        return self.usd_coef if objective == "usd" else self.flops_coef

    def values(self, params, tokens) -> dict[str, Any]:
        """Every figure of this term at (params, tokens), keyed as `figures()`."""
        out = {f"{self.name}_flops": self.flops(params, tokens)} if self.has_flops else {}
        out[f"{self.name}_cost_usd"] = self.usd(params, tokens)
        return out

    # --- the exact solvers and the GP --------------------------------------------------------------------
    def pieces(self, objective: str, regime: str = "single") -> tuple["CostTerm | Monomial", ...]:
        """The monomials this term equals in a decode regime; a monomial term is itself in every regime, a
        posynomial term its leading monomial and its `extra` ones."""
        if not self.extra:
            return (self,)
        return (Monomial(self.name, self.n_exp, self.d_exp, self.flops_coef, self.usd_coef), *self.extra)

    # --- reports -----------------------------------------------------------------------------------------
    @classmethod
    def figures(cls) -> tuple[Figure, ...]:
        flops = (Figure(f"{cls.name}_flops", f"{cls.label} FLOPs", "FLOP", "flops", cls.flops_formula,
                        None if cls.group else f"{cls.label} FLOPs"),) if cls.has_flops else ()
        terminal = f"  {cls.label.lower()} cost" if cls.group else f"{cls.label} cost"
        return (*flops, Figure(f"{cls.name}_cost_usd", f"{cls.label} cost", "$", "usd", cls.usd_formula,
                               terminal, cls.optional))

    @classmethod
    def input_rows(cls, scenario: "Scenario") -> list[InputRow]:
        """The Inputs-sheet rows only this term reads (shared phase, demand and law rows live on the sheet)."""
        return []

    @classmethod
    def from_scenario(cls, scenario: "Scenario") -> "CostTerm":  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Monomial:
    """One monomial ``coef x N^n_exp x D^d_exp`` with its exponents as data: a regime's share of a term that
    is not itself a monomial (the roofline decode). Same numeric interface as `CostTerm`."""

    name: str
    n_exp: float
    d_exp: float
    flops_coef: Any
    usd_coef: Any

    monomial = CostTerm.monomial

    def weight(self, objective: str):
        """Coefficient of this monomial in the objective being minimized ('usd' or 'flops')."""
        return self.usd_coef if objective == "usd" else self.flops_coef

    def flops(self, params, tokens):
        return self.flops_coef * self.monomial(params, tokens)

    def usd(self, params, tokens):
        return self.usd_coef * self.monomial(params, tokens)

    def pieces(self, objective: str, regime: str = "single") -> tuple["Monomial", ...]:
        return (self,)
