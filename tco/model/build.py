"""Scenario -> Model: the numbers the solvers need (loss constraint, cost terms, caps), nothing else.

`resolve` is the one place a scenario becomes numbers, for one scenario (floats) and for arrays of them (a
`tco.studies.arrays.ScenarioView` whose fields are arrays): lifetime tokens (present values under a demand
horizon), $ per useful FLOP (owned hardware's effective price included), the roofline coefficients and the
caps all come out of the cost terms' and caps' `from_scenario`. Sweeps, sensitivity, Monte Carlo, break-even,
robust design and `optimize` all solve what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..laws import Law, LossConstraint
from .caps import CAPS, Cap
from .repetition import base_params
from .costs import TERMS, CostTerm, aggregate
from .quantization import QuantizationPenalty, penalized_constraint, penalty_of

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["Model", "resolve", "build_model"]


@dataclass(frozen=True)
class Model:
    """minimize sum(weight_k N^i_k D^j_k)  s.t.  a N^-p + b D^-q [+ c D^gd N^-gn] <= 1,  N^i_m D^j_m <= limit_m
    (the bracket: the quantization penalty of `serving.quantization`, `tco.model.quantization`)."""

    law: Law
    target_loss: float
    loss: LossConstraint
    terms: tuple[CostTerm, ...]
    caps: tuple[Cap, ...]
    objective: str
    #: unique training tokens U when repeated epochs are modelled (Muennighoff et al. 2023): the loss law sees
    #: the effective data D'(D) and the model is solved by tco.model.repetition, not as a GP. None otherwise.
    unique_tokens: Any = None
    #: the base size U_N = N_opt(U) of the parameter half (Muennighoff et al. 2023, eq. 6) when excess
    #: parameters decay too: the loss law then sees N'(N). None for the data half alone or fresh data.
    base_params: Any = None
    #: the post-training quantization penalty the target also pays (`serving.quantization`), or None; `loss`
    #: then carries it (`tco.model.quantization.penalized_constraint`).
    quantization: QuantizationPenalty | None = None

    def loss_of(self, params, tokens):
        """The served model's loss at real (params, tokens): the law's loss (through the effective data and
        parameters when epochs repeat) plus the quantization penalty, if any. The loss the target constrains."""
        loss = self.pre_quantization_loss(params, tokens)
        return loss if self.quantization is None else loss + self.quantization.delta(params, tokens)

    def pre_quantization_loss(self, params, tokens):
        """The law's loss at real (params, tokens), through the effective data (and parameters) when epochs
        repeat."""
        from .repetition import effective_params, effective_tokens

        if self.unique_tokens is not None:
            tokens = effective_tokens(tokens, self.unique_tokens)
        if self.base_params is not None:
            params = effective_params(params, self.base_params)
        return self.law.loss(params, tokens)

    @property
    def active_terms(self) -> tuple[Any, ...]:
        """The monomials of every term (a posynomial term's `pieces`) with a positive weight in the objective
        (GP parameters must be positive); a term that is not a sum of monomials (the roofline decode) is left to
        the GP and `tco.solve.regimes`."""
        return tuple(piece for t in self.terms if not _has_regimes(t) for piece in t.pieces(self.objective)
                     if piece.weight(self.objective) > 0)

    @property
    def roofline(self):
        """The roofline decode term, or None when decode is priced at a fixed MFU."""
        return next((t for t in self.terms if _has_regimes(t)), None)

    def objective_value(self, params, tokens):
        return self.usd(params, tokens) if self.objective == "usd" else self.flops(params, tokens)

    def usd(self, params, tokens):
        return sum(t.usd(params, tokens) for t in self.terms)

    def flops(self, params, tokens):
        return sum(t.flops(params, tokens) for t in self.terms)

    def figures(self, params, tokens) -> dict[str, Any]:
        """Every reported figure at (params, tokens), floats or arrays: N, D, tokens per parameter, the loss,
        then each term's FLOPs and $ with the group aggregates and totals (`tco.model.costs.layout`)."""
        return {"params": params, "tokens": tokens, "tokens_per_param": tokens / params,
                "loss": self.loss_of(params, tokens), **aggregate(self.terms, params, tokens)}

    def term(self, name: str) -> CostTerm:
        return next(t for t in self.terms if t.name == name)

    def with_loss(self, loss: float) -> "Model":
        """The same model at another loss target (for shadow prices by differences and sweeps)."""
        return Model(self.law, loss, penalized_constraint(self.law, loss, self.quantization), self.terms,
                     self.caps, self.objective, self.unique_tokens, self.base_params, self.quantization)


def _has_regimes(term) -> bool:
    """A term that is not one monomial in $ (the roofline decode): the exact solvers split it into regimes."""
    return bool(getattr(type(term), "regimes", ()))


def resolve(scenario: "Scenario", objective: str | None = None) -> Model:
    """The Model of `scenario`: its cost terms and caps for the `usd` or `flops` objective (default: its own)."""
    objective = objective or scenario.objective
    if objective not in ("usd", "flops"):
        raise ValueError(f"objective must be 'usd' or 'flops', got {objective!r}")
    law = scenario.resolved_law
    terms = tuple(term.from_scenario(scenario) for term in TERMS)
    caps = tuple(c for c in (cap.from_scenario(scenario) for cap in CAPS) if c is not None)
    data = scenario.data
    unique = data.max_unique_tokens if data.repeats else None
    penalty = penalty_of(scenario)
    loss = law.constraint(scenario.target_loss)
    base = base_params(loss.a, loss.p, loss.b, loss.q, unique) if data.decays_params else None
    return Model(law, scenario.target_loss, penalized_constraint(law, scenario.target_loss, penalty), terms, caps,
                 objective, unique, base, penalty)


#: The same function under the name the package used first.
build_model = resolve
