"""Result objects: what the optimizer found, in the user's units, ready for the terminal, JSON and Excel.

The optional deployment sections (own vs rent, sizing, time value, repeated data, decode roofline) and the
inputs in force are typed in `tco.results.sections`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .choice import ArchitectureChoice
from .sections import DataLimits, DecodeRoofline, DeploymentSizing, Inputs, Ownership, ServingPricing, TimeValue

__all__ = ["BASELINE_LABEL", "DesignPoint", "Savings", "ConstraintReport", "CrossCheck", "Result"]


@dataclass(frozen=True)
class DesignPoint:
    """One (N, D) design with its lifetime FLOPs and costs, broken down by cost term.

    `figures` holds every reported quantity in report order (`tco.model.costs.layout`): N, D, tokens per
    parameter, the loss, each term's FLOPs and $ (`training_flops`, `prefill_cost_usd`, ...), the group
    aggregates (`inference_cost_usd` = prefill + decode) and the totals. Each is also an attribute
    (`point.training_cost_usd`); `breakdown` gives each term's $ by term name.
    """

    figures: Mapping[str, float]
    #: term name -> $ of that term (training, prefill, decode, data, ... as registered)
    breakdown: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_figures(cls, figures: Mapping[str, Any], term_names: Sequence[str]) -> "DesignPoint":
        values = {k: float(v) for k, v in figures.items()}
        return cls(values, {name: values[f"{name}_cost_usd"] for name in term_names})

    def __getattr__(self, name: str) -> float:
        try:
            return self.__dict__["figures"][name]
        except KeyError:
            raise AttributeError(f"DesignPoint has no figure {name!r}") from None

    @property
    def params(self) -> float:
        return self.figures["params"]

    @property
    def tokens(self) -> float:
        return self.figures["tokens"]

    @property
    def tokens_per_param(self) -> float:
        return self.figures["tokens_per_param"]

    @property
    def loss(self) -> float:
        return self.figures["loss"]

    @property
    def total_cost_usd(self) -> float:
        return self.figures["total_cost_usd"]

    @property
    def total_flops(self) -> float:
        return self.figures["total_flops"]

    def to_dict(self) -> dict[str, float]:
        return dict(self.figures)


#: What the "chinchilla" design of every result is, in words: the law's compute-optimal (N, D) at the target loss,
#: not Chinchilla's 70B/1.4T (the JSON key "chinchilla" stays for compatibility; "baseline_label" says this).
BASELINE_LABEL = "compute-optimal at the same loss"


@dataclass(frozen=True)
class Savings:
    """Chinchilla baseline minus optimum (positive = the optimum is cheaper)."""

    total_cost_usd: float
    fraction: float
    total_flops: float
    flops_fraction: float


@dataclass(frozen=True)
class ConstraintReport:
    """One cap at the optimum: its limit and value, the relative slack, and whether Chinchilla violates it."""

    name: str
    description: str
    limit: float
    value: float  # N^i D^j at the optimum, in the same unit as `limit`
    relative_slack: float
    binding: bool
    chinchilla_violates: bool


@dataclass(frozen=True)
class CrossCheck:
    """The GP (after Newton polish) against the independent 1-D exact solve."""

    exact_params: float
    exact_tokens: float
    exact_objective: float
    max_rel_diff: float  # over N, D and objective, polished GP vs exact
    gp_unpolished_rel_diff: float  # the raw interior-point answer, for transparency
    gp_status: str
    polished: bool
    gp_solve_seconds: float
    tolerance: float = 1e-6

    @property
    def agrees(self) -> bool:
        return self.max_rel_diff <= self.tolerance


@dataclass(frozen=True)
class Result:
    """The answer for one scenario. `to_dict()` is the JSON of `tco optimize --json`."""

    scenario: str
    objective: str
    law: str
    target_loss: float
    optimal: DesignPoint
    chinchilla: DesignPoint
    savings: Savings
    tokens_factor: float  # D / D_chinchilla
    params_factor: float  # N / N_chinchilla
    loss_shadow_price_usd_per_nat: float
    loss_shadow_price_flops_per_nat: float
    constraints: tuple[ConstraintReport, ...]
    cross_check: CrossCheck
    warnings: tuple[str, ...] = ()
    #: the inputs in force after defaults and catalog look-ups (None only for a Result built by hand)
    inputs: Inputs | None = None
    #: per phase with `ownership:`: owned vs rented $/device-hour and the optimum's total under each
    ownership: Ownership | None = None
    #: with a training deadline and/or a peak request rate: the training cluster and the serving fleet
    sizing: DeploymentSizing | None = None
    #: with a demand horizon: nominal lifetime requests/tokens and their present values
    time_value: TimeValue | None = None
    #: with `data: {max_unique_tokens}` and repetition: unique tokens, epochs D/U and effective data D'
    data_limits: DataLimits | None = None
    #: with `serving.quantization`: the quantization penalty at each design (`tco.results.quantization`)
    quantization: Any = None
    #: with `serving.roofline:`: what bounds decode (compute or memory) and the cost per token, per design
    decode_roofline: DecodeRoofline | None = None
    #: how serving is priced (serving.pricing) and the fleet the optimum's serving cost pays for
    serving_pricing: ServingPricing | None = None
    #: every figure of a design in report order, with label, unit and Excel formula (`tco.model.costs.layout`):
    #: what the terminal, the Costs sheet, the sweep tables and the charts iterate. Not part of the JSON.
    layout: tuple[Any, ...] = ()
    #: the Inputs-sheet rows that only one cost term reads, from the terms of this result's model
    term_inputs: tuple[Any, ...] = ()
    #: with candidate expert counts and/or serving precisions: every candidate's optimum and the winner (this)
    architecture_choice: ArchitectureChoice | None = None

    @property
    def binding_constraints(self) -> list[str]:
        """Caps that bind at the optimum (the loss target always binds and is not listed)."""
        return [c.name for c in self.constraints if c.binding]

    @property
    def loss_shadow_price_usd_per_centinat(self) -> float:
        """$ saved per 0.01 nat the loss target is relaxed (or spent per 0.01 nat it is tightened)."""
        return self.loss_shadow_price_usd_per_nat / 100.0

    def to_dict(self) -> dict[str, Any]:
        return _json_safe({
            "scenario": self.scenario,
            "objective": self.objective,
            "law": self.law,
            "target_loss": self.target_loss,
            "optimal": {**self.optimal.to_dict(), **self._epochs(chinchilla=False)},
            "chinchilla": {**self.chinchilla.to_dict(), **self._epochs(chinchilla=True)},
            "baseline_label": BASELINE_LABEL,
            "savings": asdict(self.savings),
            "over_training": {"tokens_factor": self.tokens_factor, "params_factor": self.params_factor},
            "loss_shadow_price_usd_per_nat": self.loss_shadow_price_usd_per_nat,
            "loss_shadow_price_usd_per_0.01_nat": self.loss_shadow_price_usd_per_centinat,
            "loss_shadow_price_flops_per_nat": self.loss_shadow_price_flops_per_nat,
            "binding_constraints": self.binding_constraints,
            "constraints": [asdict(c) for c in self.constraints],
            "warnings": list(self.warnings),
            "cross_check": {**asdict(self.cross_check), "agrees": self.cross_check.agrees},
            "inputs": _section(self.inputs),
            "ownership": _section(self.ownership),
            "sizing": _section(self.sizing),
            "time_value": _section(self.time_value),
            **({"data_limits": self.data_limits.to_dict()} if self.data_limits is not None else {}),
            **({"decode_roofline": self.decode_roofline.to_dict()} if self.decode_roofline is not None else {}),
            **({"quantization": self.quantization.to_dict()} if self.quantization is not None else {}),
            **({"serving_pricing": self.serving_pricing.to_dict()} if self.serving_pricing is not None else {}),
            **({"architecture_choice": self.architecture_choice.to_dict()}
               if self.architecture_choice is not None else {}),
        })

    def _epochs(self, *, chinchilla: bool) -> dict[str, float]:
        """With repeated data: the design's epochs over the unique tokens and its effective data D'."""
        dl = self.data_limits
        if dl is None:
            return {}
        if chinchilla:
            return {"epochs": dl.chinchilla_epochs, "effective_tokens": dl.chinchilla_effective_tokens}
        return {"epochs": dl.epochs, "effective_tokens": dl.effective_tokens}

    def _repr_html_(self) -> str:
        """Jupyter's rich view: headline, optimum vs the compute-optimal design at the same loss, the cost
        breakdown by term, warnings (`tco.results.html`, every text escaped)."""
        from .html import result_html

        return result_html(self)

    def to_frame(self):
        """A pandas DataFrame: one row per metric, columns optimal, chinchilla and optimal/chinchilla."""
        import pandas as pd

        opt, chin = self.optimal.to_dict(), self.chinchilla.to_dict()
        names = list(opt)
        frame = pd.DataFrame(
            {"optimal": [opt[n] for n in names], "chinchilla": [chin[n] for n in names]}, index=names
        )
        frame["optimal_vs_chinchilla"] = frame["optimal"] / frame["chinchilla"].where(frame["chinchilla"] != 0)
        frame.index.name = "metric"
        return frame


def _section(section: Inputs | Ownership | DeploymentSizing | TimeValue | None) -> dict[str, Any]:
    """A section's JSON; an absent one is `{}` (the key stays, as the JSON has always had it)."""
    return {} if section is None else section.to_dict()


def _json_safe(value: Any) -> Any:
    """Non-finite floats become None: JSON has no NaN/Infinity and strict parsers reject them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
