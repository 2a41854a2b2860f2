"""Loss laws: L(N, D) for N parameters and D training tokens, presets with sources, compute-optimal allocation.

Both supported forms share one shape that the optimizer relies on: the loss is an increasing function of a
two-term posynomial ``P(N, D) = a0 N^-p + b0 D^-q``, so a loss target ``L <= l`` is the geometric-program
constraint ``(a0 / r(l)) N^-p + (b0 / r(l)) D^-q <= 1``:

- Chinchilla form (Hoffmann et al. 2022): ``L = E + A/N^alpha + B/D^beta``; a0=A, b0=B, p=alpha, q=beta, r = l - E.
- Kaplan et al. 2020 joint form: ``L = [(Nc/N)^(aN/aD) + Dc/D]^aD``; a0=Nc^(aN/aD), b0=Dc, p=aN/aD, q=1,
  r = l^(1/aD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UnknownNameError

__all__ = [
    "LossConstraint",
    "Law",
    "ChinchillaLaw",
    "KaplanLaw",
    "PRESETS",
    "get_law",
    "MoELaw",
    "MOE_PRESETS",
    "get_moe_law",
    "effective_experts",
]


@dataclass(frozen=True)
class LossConstraint:
    """The loss target as ``a N^-p + b D^-q <= 1`` (N, D in raw parameters and tokens). Each field is a float,
    or an array when the model holds arrays of scenarios (sweeps, Monte Carlo)."""

    a: float | np.ndarray
    p: float | np.ndarray
    b: float | np.ndarray
    q: float | np.ndarray
    #: d log r / d loss: turns the constraint's dual (a log-sensitivity) into $ per nat.
    dlog_rhs_dloss: float | np.ndarray
    #: a third monomial ``c D^gd N^-gn`` on the left side: the post-training quantization penalty of Kumar et al.
    #: 2024 (`tco.model.quantization`), normalized like a and b. c = 0 (the default) is the plain two-term law.
    c: float | np.ndarray = 0.0
    gn: float | np.ndarray = 0.0
    gd: float | np.ndarray = 0.0

    @property
    def penalized(self) -> bool:
        """True when the third (quantization) monomial is present: the two-term curve no longer applies."""
        return bool(np.any(np.asarray(self.c) > 0))

    def chinchilla_point(self):
        """The training-compute-optimal (N, D) on this iso-loss curve (minimum 6 N D): the two terms of the
        constraint split as q : p, i.e. a N^-p = q / (p + q). The one formula of the Chinchilla point: the
        baseline of every result, and the scales of every geometric program."""
        params = (self.a * (self.p + self.q) / self.q) ** (1.0 / self.p)
        tokens = (self.b * (self.p + self.q) / self.p) ** (1.0 / self.q)
        return params, tokens


@dataclass(frozen=True)
class Law:
    """Common machinery; subclasses define the constants, `_rhs`, `_loss_of_posynomial` and `min_loss`."""

    name: str
    source: str

    # Subclasses provide: the properties a0, b0, p, q (the posynomial P = a0 N^-p + b0 D^-q) and min_loss
    # (the infimum of the loss, never attained); _rhs(loss) and _dlog_rhs(loss) (the target as P <= r(loss),
    # and d log r / d loss); _loss_of_posynomial(P); constants() (for reports).
    if TYPE_CHECKING:  # that interface, for the type checker only: at run time each subclass defines it
        form: str

        @property
        def a0(self) -> float: ...
        @property
        def b0(self) -> float: ...
        @property
        def p(self) -> float: ...
        @property
        def q(self) -> float: ...
        @property
        def min_loss(self) -> float: ...
        def _rhs(self, loss: Any) -> Any: ...
        def _dlog_rhs(self, loss: Any) -> Any: ...
        def _loss_of_posynomial(self, value: Any) -> Any: ...
        def constants(self) -> dict[str, float]: ...

    # --- shared -------------------------------------------------------------------------------------------
    def loss(self, params, tokens):
        """Loss in nats/token of a model with `params` parameters trained on `tokens` tokens (numpy-aware)."""
        params = np.asarray(params, dtype=float)
        tokens = np.asarray(tokens, dtype=float)
        value = self._loss_of_posynomial(self.a0 * params**-self.p + self.b0 * tokens**-self.q)
        return float(value) if np.ndim(value) == 0 else value

    def constraint(self, loss: float) -> LossConstraint:
        """The target ``L(N, D) <= loss`` as a posynomial constraint. Raises ValueError if unreachable."""
        reachable = np.asarray(loss > self.min_loss)
        if not reachable.all():  # arrays (sweeps, Monte Carlo) are checked element by element
            worst = np.min(np.asarray(loss) - self.min_loss)
            raise ValueError(
                f"loss target at or below the irreducible loss of law {self.name} (by {-worst:g} nats); "
                "no model of any size reaches it"
                if np.ndim(reachable) else
                f"loss target {loss:g} is at or below the irreducible loss {self.min_loss:g} of law "
                f"{self.name}; no model of any size reaches it"
            )
        rhs = self._rhs(loss)
        return LossConstraint(
            a=self.a0 / rhs, p=self.p, b=self.b0 / rhs, q=self.q, dlog_rhs_dloss=self._dlog_rhs(loss)
        )

    def allocate(self, flops):
        """Compute-optimal (N, D) for a training budget of `flops` = 6 N D (minimizes the loss).

        Minimizing a0 N^-p + b0 D^-q at N D = K gives N = (p a0 / (q b0))^(1/(p+q)) K^(q/(p+q)); for the
        Chinchilla form this is the primer's N = G (C/6)^(beta/(alpha+beta)).
        """
        budget = np.asarray(flops, dtype=float) / 6.0
        params = (self.p * self.a0 / (self.q * self.b0)) ** (1.0 / (self.p + self.q)) * budget ** (
            self.q / (self.p + self.q)
        )
        tokens = budget / params
        if np.ndim(params) == 0:
            return float(params), float(tokens)
        return params, tokens

    def compute_optimal_tokens(self, params):
        """Tokens D for which `params` is the compute-optimal size (inverse of `allocate`)."""
        params = np.asarray(params, dtype=float)
        ratio = self.p * self.a0 / (self.q * self.b0)
        budget = (params / ratio ** (1.0 / (self.p + self.q))) ** ((self.p + self.q) / self.q)
        tokens = budget / params
        return float(tokens) if np.ndim(tokens) == 0 else tokens

    def chinchilla_point(self, loss: float) -> tuple[float, float]:
        """Training-compute-optimal (N, D) reaching `loss`: minimizes 6 N D on the iso-loss curve.

        See `LossConstraint.chinchilla_point`.
        """
        return self.constraint(loss).chinchilla_point()

    def to_dict(self) -> dict:
        return {"name": self.name, "form": self.form, **self.constants(), "source": self.source}


@dataclass(frozen=True)
class ChinchillaLaw(Law):
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, Approach 3)."""

    E: float = 0.0
    A: float = 0.0
    B: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    form: str = field(default="chinchilla", init=False)

    a0 = property(lambda self: self.A)
    b0 = property(lambda self: self.B)
    p = property(lambda self: self.alpha)
    q = property(lambda self: self.beta)
    min_loss = property(lambda self: self.E)

    def _rhs(self, loss):
        return loss - self.E

    def _dlog_rhs(self, loss):
        return 1.0 / (loss - self.E)

    def _loss_of_posynomial(self, value):
        return self.E + value

    def constants(self):
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}


@dataclass(frozen=True)
class KaplanLaw(Law):
    """L(N, D) = [(Nc/N)^(alpha_n/alpha_d) + Dc/D]^alpha_d (Kaplan et al. 2020, eq. 1.5; no irreducible term)."""

    alpha_n: float = 0.0
    alpha_d: float = 0.0
    n_c: float = 0.0
    d_c: float = 0.0
    form: str = field(default="kaplan", init=False)

    a0 = property(lambda self: self.n_c ** (self.alpha_n / self.alpha_d))
    b0 = property(lambda self: self.d_c)
    p = property(lambda self: self.alpha_n / self.alpha_d)
    q = property(lambda self: 1.0)
    min_loss = property(lambda self: 0.0)

    def _rhs(self, loss):
        return loss ** (1.0 / self.alpha_d)

    def _dlog_rhs(self, loss):
        return 1.0 / (self.alpha_d * loss)

    def _loss_of_posynomial(self, value):
        return value**self.alpha_d

    def constants(self):
        return {"alpha_n": self.alpha_n, "alpha_d": self.alpha_d, "n_c": self.n_c, "d_c": self.d_c}


PRESETS: dict[str, Law] = {
    law.name: law
    for law in (
        ChinchillaLaw(
            name="hoffmann2022", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
            source="Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, eq. 10 (rounded)",
        ),
        ChinchillaLaw(
            name="sardana2024", E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283,
            source="Sardana et al. 2024, Beyond Chinchilla-Optimal, official code default constants",
        ),
        ChinchillaLaw(
            name="besiroglu2024", E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
            source="Besiroglu et al. 2024 (Epoch AI), Chinchilla Scaling: A replication attempt",
        ),
        ChinchillaLaw(
            name="muennighoff2023", E=1.87, A=521.0, B=1488.0, alpha=0.353, beta=0.353,
            source="Muennighoff et al. 2023, Scaling Data-Constrained Language Models, C4 base fit",
        ),
        KaplanLaw(
            name="kaplan2020", alpha_n=0.076, alpha_d=0.103, n_c=6.4e13, d_c=1.8e13,
            source="Kaplan et al. 2020, Scaling Laws for Neural Language Models, joint L(N, D) fit (eq. 1.5)",
        ),
    )
}


def effective_experts(experts, e_start: float, e_max: float):
    """Ludziejewski et al. 2025's effective expert count: 1/Eh = 1 / (E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max.

    Eh(1) = E_start and Eh saturates at E_max: beyond a few hundred experts more of them stop helping."""
    experts = np.asarray(experts, dtype=float)
    value = 1.0 / (1.0 / (experts - 1.0 + 1.0 / (1.0 / e_start - 1.0 / e_max)) + 1.0 / e_max)
    return float(value) if np.ndim(value) == 0 else value


@dataclass(frozen=True)
class MoELaw:
    """A law with an expert dimension: L(N_act, D, E) = a Eh^delta N_act^(alpha + gamma ln Eh)
    + b Eh^omega D^(beta + zeta ln Eh) + c (Ludziejewski et al. 2025, eq. 6; alpha and beta negative as printed),
    N_act the ACTIVE parameters, Eh = `effective_experts(E)`.

    For a fixed E it is the Chinchilla form with E-dependent constants, so `at_experts(E)` is an ordinary
    `ChinchillaLaw` and every solver (GP, exact kernel, repetition) works on it unchanged; a dense model is E = 1.
    """

    name: str
    source: str
    a: float
    alpha: float
    delta: float
    gamma: float
    b: float
    beta: float
    omega: float
    zeta: float
    E_start: float
    E_max: float
    c: float
    form: str = field(default="moe", init=False)

    def at_experts(self, experts: float) -> ChinchillaLaw:
        """The Chinchilla-form law of a model with `experts` experts (E >= 1)."""
        if not experts >= 1:
            raise ValueError(f"an MoE law needs at least 1 expert, got {experts:g}")
        eh = effective_experts(experts, self.E_start, self.E_max)
        log_eh = math.log(eh)
        return ChinchillaLaw(
            name=f"{self.name} (E={experts:g})", source=self.source, E=self.c, A=self.a * eh**self.delta,
            B=self.b * eh**self.omega, alpha=-(self.alpha + self.gamma * log_eh),
            beta=-(self.beta + self.zeta * log_eh),
        )

    def constants(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("a", "alpha", "delta", "gamma", "b", "beta", "omega", "zeta",
                                              "E_start", "E_max", "c")}

    def to_dict(self) -> dict:
        return {"name": self.name, "form": self.form, **self.constants(), "source": self.source}


#: Laws with an expert dimension; a scenario picks E with `model.experts`, `tco allocate` with `--experts`.
MOE_PRESETS: dict[str, MoELaw] = {
    law.name: law
    for law in (
        MoELaw(
            name="ludziejewski2025", a=35.91, alpha=-0.1889, delta=-0.2285, gamma=0.0098, b=35.98, beta=-0.1775,
            omega=0.5529, zeta=-0.0259, E_start=2.0732, E_max=290.4521, c=1.3637,
            source="Ludziejewski et al. 2025, Joint MoE Scaling Laws: Mixture of Experts Can Be Memory Efficient "
                   "(arXiv 2502.05172), eq. 6 and table 3; fitted on up to 2.7B active / 5B total parameters "
                   "(FineWeb-Edu, top-1 routing): extrapolate with care",
        ),
    )
}


def _unknown(name: str) -> UnknownNameError:
    return UnknownNameError(f"unknown law {name!r}; presets are: {', '.join([*PRESETS, *MOE_PRESETS])} "
                            "(or give constants inline)")


def get_moe_law(name: str) -> MoELaw:
    """An MoE preset by name; UnknownNameError lists the valid names."""
    try:
        return MOE_PRESETS[name]
    except KeyError:
        raise _unknown(name) from None


def get_law(name: str, experts: float | None = None) -> Law:
    """A preset by name; UnknownNameError lists the valid names. An MoE preset needs `experts` (its law at that
    E; None means dense, E = 1); a dense preset refuses experts other than 1 (its loss has no expert dimension)."""
    if name in MOE_PRESETS:
        return MOE_PRESETS[name].at_experts(1.0 if experts is None else experts)
    try:
        law = PRESETS[name]
    except KeyError:
        raise _unknown(name) from None
    if experts is not None and experts != 1:
        raise ValueError(f"law {name} is dense (no expert dimension); for E = {experts:g} experts use an MoE law "
                         f"({', '.join(MOE_PRESETS)}) or MoE constants inline (form: moe)")
    return law
