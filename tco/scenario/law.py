"""The `law:` of a scenario: a preset name, inline constants, or a law file (what the user states about the loss
law), and law files themselves: a fitted (or hand-written) law in YAML that scenarios point to with
`law: laws/our-law.yaml` and that `tco fit` writes.

    law:                       # required: the constants, as they would appear inline in a scenario
      name: our-law
      E: 1.82
      A: 482.0
      B: 2085.4
      alpha: 0.348
      beta: 0.366
      source: tco fit runs.csv (sha256 ab12...)
    fit: {...}                 # optional: how it was fitted (method, data hash and size, objective, ...)
    bootstrap:                 # optional: resampled constants, for uncertainty analysis
      columns: [E, A, B, alpha, beta]
      samples: [[...], ...]

A relative path in a scenario is resolved against the scenario file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (AfterValidator, BeforeValidator, Discriminator, Tag, TypeAdapter, ValidationError,
                      ValidationInfo, model_validator)

from ..errors import FieldError, ScenarioError
from ..laws import MOE_PRESETS, ChinchillaLaw, KaplanLaw, Law, MoELaw, get_law, get_moe_law
from .fields import Count, Name, PathText, Positive, SourceText, StrictModel, non_negative, number, within
from .yaml import read_yaml

#: Law constants, within a wide factor of what published fits give (README, "Ranges of the numeric fields"):
#: beyond these a law is a typo, and its losses overflow or vanish in floating point.
IrreducibleLoss = Annotated[float, BeforeValidator(number), AfterValidator(non_negative),
                            within(0, 10, "published fits give E = 1.5-1.9 nats", "nats/token")]
Coefficient = Annotated[Positive, within(1e-3, 1e12, "published fits give 35-2,100; tco fit's start grid reaches "
                                                     "e^25 = 7e10")]
Exponent = Annotated[Positive, within(0.01, 2, "published fits give 0.08-0.37; tco fit's start grid reaches 2")]
KaplanExponent = Annotated[Positive, within(0.01, 1, "Kaplan et al. 2020 give 0.076 and 0.103")]
KaplanScale = Annotated[Count, within(1e9, 1e18, "within ~1e4x of Kaplan et al. 2020's 6.4e13 and 1.8e13")]

__all__ = ["ChinchillaConstants", "KaplanConstants", "MoEConstants", "ConstantsSpec", "LawSpec", "resolve_law",
           "resolve_law_family", "LawFile",
           "is_law_path", "load_law_file", "resolve_law_path"]


class ChinchillaConstants(StrictModel):
    """Your own fitted constants for L = E + A/N^alpha + B/D^beta."""

    form: Literal["chinchilla"] = "chinchilla"
    name: Name = "custom"
    E: IrreducibleLoss
    A: Coefficient
    B: Coefficient
    alpha: Exponent
    beta: Exponent
    source: SourceText = "user-supplied constants"

    def to_law(self) -> Law:
        return ChinchillaLaw(name=self.name, source=self.source, E=self.E, A=self.A, B=self.B,
                             alpha=self.alpha, beta=self.beta)


class KaplanConstants(StrictModel):
    """Constants for Kaplan et al.'s joint form L = [(n_c/N)^(alpha_n/alpha_d) + d_c/D]^alpha_d."""

    form: Literal["kaplan"]
    name: Name = "custom-kaplan"
    alpha_n: KaplanExponent
    alpha_d: KaplanExponent
    n_c: KaplanScale
    d_c: KaplanScale
    source: SourceText = "user-supplied constants"

    @model_validator(mode="after")
    def _ratio(self) -> "KaplanConstants":
        # the law raises n_c / N to alpha_n / alpha_d: a ratio far from Kaplan et al.'s 0.74 overflows a float
        ratio = self.alpha_n / self.alpha_d
        if not 0.1 <= ratio <= 10:
            raise FieldError(("alpha_n",), f"alpha_n / alpha_d must be in [0.1, 10] (Kaplan et al. 2020 give "
                             f"0.076 / 0.103 = 0.74; beyond it (n_c/N)^(alpha_n/alpha_d) overflows), got {ratio:g}")
        return self

    def to_law(self) -> Law:
        return KaplanLaw(name=self.name, source=self.source, alpha_n=self.alpha_n, alpha_d=self.alpha_d,
                         n_c=self.n_c, d_c=self.d_c)


#: MoE constants (Ludziejewski et al. 2025's eq. 6): the exponents' base values are negative as printed, their
#: E-slopes and the coefficients' E-exponents small numbers of either sign.
NegativeExponent = Annotated[float, BeforeValidator(number),
                             within(-2, -0.01, "printed negative: Ludziejewski et al. 2025 give -0.19 and -0.18")]
ExpertSlope = Annotated[float, BeforeValidator(number),
                        within(-5, 5, "Ludziejewski et al. 2025 give -0.23 to 0.55")]
ExpertScale = Annotated[Positive, within(1, 1e5, "Ludziejewski et al. 2025 give E_start 2.07, E_max 290")]


class MoEConstants(StrictModel):
    """Your own constants for the joint MoE law L = a Eh^delta N_act^(alpha + gamma ln Eh)
    + b Eh^omega D^(beta + zeta ln Eh) + c (Ludziejewski et al. 2025, eq. 6; `tco.laws.MoELaw`)."""

    form: Literal["moe"]
    name: Name = "custom-moe"
    a: Coefficient
    alpha: NegativeExponent
    delta: ExpertSlope
    gamma: ExpertSlope
    b: Coefficient
    beta: NegativeExponent
    omega: ExpertSlope
    zeta: ExpertSlope
    E_start: ExpertScale
    E_max: ExpertScale
    c: IrreducibleLoss
    source: SourceText = "user-supplied constants"

    @model_validator(mode="after")
    def _scales(self) -> "MoEConstants":
        if not self.E_max > self.E_start:
            raise FieldError(("E_max",), f"E_max must exceed E_start ({self.E_start:g}), got {self.E_max:g}")
        return self

    def to_law(self) -> MoELaw:
        return MoELaw(name=self.name, source=self.source, **{k: getattr(self, k) for k in (
            "a", "alpha", "delta", "gamma", "b", "beta", "omega", "zeta", "E_start", "E_max", "c")})


def _law_kind(value: object) -> str:
    if isinstance(value, str):
        return "preset"
    form = value.get("form") if isinstance(value, dict) else getattr(value, "form", None)
    return form if form in ("kaplan", "moe") else "chinchilla"


def _known_law(name: str, info: ValidationInfo) -> str:
    """A preset name, or a law file (returned as an absolute path, resolved against the scenario's folder)."""
    if is_law_path(name):
        path = resolve_law_path(name, (info.context or {}).get("base_dir"))
        load_law_file(path)  # ValueError with the file's problem
        return str(path)
    if name not in MOE_PRESETS:
        get_law(name)  # UnknownNameError (a ValueError) lists the presets
    return name


#: Inline constants of either form (also the `law:` mapping of a law file).
ConstantsSpec = Annotated[
    Union[Annotated[ChinchillaConstants, Tag("chinchilla")], Annotated[KaplanConstants, Tag("kaplan")],
          Annotated[MoEConstants, Tag("moe")]],
    Discriminator(_law_kind),
]
LawSpec = Annotated[
    Union[
        Annotated[Annotated[PathText, AfterValidator(_known_law)], Tag("preset")],
        Annotated[ChinchillaConstants, Tag("chinchilla")],
        Annotated[KaplanConstants, Tag("kaplan")],
        Annotated[MoEConstants, Tag("moe")],
    ],
    Discriminator(_law_kind),
]


def resolve_law_family(spec: "str | ChinchillaConstants | KaplanConstants | MoEConstants") -> Law | MoELaw:
    """The law a validated `law:` value stands for (preset, law file or inline constants): a `Law`, or an
    `MoELaw` whose loss also depends on the expert count (`model.experts` picks one with `at_experts`)."""
    if not isinstance(spec, str):
        return spec.to_law()
    if is_law_path(spec):
        return load_law_file(spec).law
    return get_moe_law(spec) if spec in MOE_PRESETS else get_law(spec)


def resolve_law(spec: "str | ChinchillaConstants | KaplanConstants | MoEConstants") -> Law:
    """The Law a validated `law:` value stands for; an MoE law's dense member (E = 1)."""
    law = resolve_law_family(spec)
    return law.at_experts(1.0) if isinstance(law, MoELaw) else law


# --- law files ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LawFile:
    path: Path
    law: Any  # tco.laws.Law
    fit: dict | None = None
    bootstrap: dict | None = field(default=None, repr=False)


def is_law_path(value: str) -> bool:
    """A `law:` string names a file (rather than a preset) when it looks like a YAML path."""
    return value.lower().endswith((".yaml", ".yml")) or "/" in value or "\\" in value


def resolve_law_path(value: str, base_dir: str | Path | None) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): reading it says so
        return path.absolute()


def load_law_file(path: str | Path) -> LawFile:
    """Read and validate a law file. Raises ValueError with a one-line message naming the problem."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise ValueError(f"law file {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("law"), dict):
        raise ValueError(f"law file {path}: needs a top-level `law:` mapping of constants (E, A, B, alpha, beta)")
    try:
        spec: ChinchillaConstants | KaplanConstants | MoEConstants = TypeAdapter(ConstantsSpec).validate_python(
            data["law"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("chinchilla", "kaplan", "moe"))
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"law file {path}: law.{where}: {message}") from None
    return LawFile(path=path, law=spec.to_law(), fit=data.get("fit"), bootstrap=data.get("bootstrap"))
