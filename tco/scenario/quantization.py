"""`serving.quantization`: the loss a model loses when its weights are quantized after training to the serving
precision (post-training quantization, PTQ). Only what the user states and its sourced defaults; the penalty's
arithmetic is `tco.model.quantization`.

Two forms:

- ``kumar2024``: delta = C_T exp(-P / gamma_post) D^gamma_D / N^gamma_N (Kumar et al. 2024, "Scaling Laws for
  Precision", arXiv 2411.04330, the post-train quantization degradation delta_PTQ of their section 3), for a serving
  precision of P bits. tco ships the form, not the constants: C_T, gamma_D, gamma_N and gamma_post are required,
  because the paper's fitted values could not be checked against its text here and an unchecked number must not
  become a default (README, "Quantized serving and its quality loss").
- ``constant``: a fixed penalty in nats, whatever N and D (the simplest stand-in for a measured degradation).

No quantization happens when the weights are served at (or above) the precision they were trained in, so by
default the penalty is zero when P is at least the training dtype's width (16 bits for bf16): set
``apply_at_training_precision: true`` to charge it anyway (a user whose constant penalty measures something else).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from .fields import SourceText, StrictModel, number, within

__all__ = ["Quantization", "KUMAR2024_SOURCE", "KUMAR2024_CONSTANTS"]

KUMAR2024_SOURCE = ("Kumar et al. 2024, 'Scaling Laws for Precision' (arXiv 2411.04330), the form of the post-train "
                    "quantization degradation delta_PTQ = C_T exp(-P/gamma_post) D^gamma_D / N^gamma_N; constants "
                    "as stated in the scenario (the paper fits models up to 1.7B parameters, and its authors warn "
                    "fitted constants may not transfer)")
KUMAR2024_CONSTANTS = ("c_t", "gamma_d", "gamma_n", "gamma_post")

_Number = BeforeValidator(number)
Coefficient = Annotated[float, _Number, within(1e-12, 1e3, "C_T of order 0.06 is reported; beyond this range the "
                                               "penalty over- or underflows at any real model size")]
Exponent = Annotated[float, _Number, within(0.01, 2, "exponents of order 0.3-0.5 are reported; the law's "
                                            "own exponents are 0.08-0.37")]
GammaPost = Annotated[float, _Number, within(0.05, 10, "of order 0.6 is reported: each bit divides the penalty by "
                                             "e^(1/gamma_post)")]
Bits = Annotated[float, _Number, within(1, 64, "1-bit to fp64 weights")]
PenaltyNats = Annotated[float, _Number, within(0, 5, "published PTQ degradations are 0.001-0.5 nats; 5 nats is "
                                               "a model that no longer works")]


class Quantization(StrictModel):
    """Post-training quantization of the served weights and the loss it adds (module docstring)."""

    form: Literal["kumar2024", "constant"] = Field(
        description="kumar2024: delta = C_T exp(-P/gamma_post) D^gamma_D / N^gamma_N (Kumar et al. 2024, arXiv "
        "2411.04330; fitted on models up to 1.7B parameters and the authors warn the constants may not transfer); "
        "constant: a fixed penalty_nats")
    bits: Bits | None = Field(
        default=None, description="precision P of the served weights in bits; default 8 x serving.bytes_per_param, "
        "else the serving dtype's width (tco.hardware.DTYPE_BYTES x 8: int4 4, fp8 8, bf16 16)")
    c_t: Coefficient | None = Field(
        default=None, description="C_T of kumar2024, in nats/token (required: take it from the paper's fit of "
        "delta_PTQ or from your own quantized checkpoints)")
    gamma_d: Exponent | None = Field(default=None, description="gamma_D of kumar2024, the exponent of training "
                                     "tokens (required)")
    gamma_n: Exponent | None = Field(default=None, description="gamma_N of kumar2024, the exponent of parameters "
                                     "(required)")
    gamma_post: GammaPost | None = Field(default=None, description="gamma_post of kumar2024: bits per e-fold of "
                                         "the penalty (required)")
    penalty_nats: PenaltyNats | None = Field(default=None, description="the constant form's penalty in nats/token")
    apply_at_training_precision: StrictBool = Field(
        default=False, description="charge the penalty even when the serving precision is at least the training "
        "dtype's (no quantization happens then, so the default charges nothing)")
    source: SourceText | None = Field(
        default=None, description="where your constants come from (default: the form's own source)")

    @model_validator(mode="after")
    def _form_fields(self) -> "Quantization":
        kumar_fields = {"c_t", "gamma_d", "gamma_n", "gamma_post"} & self.model_fields_set
        if self.form == "constant":
            if self.penalty_nats is None:
                raise ValueError("form constant needs penalty_nats (the penalty in nats/token)")
            if kumar_fields:
                raise ValueError(f"{', '.join(sorted(kumar_fields))} belong to form kumar2024, not constant")
        elif self.penalty_nats is not None:
            raise ValueError("penalty_nats belongs to form constant; kumar2024 takes c_t, gamma_d, gamma_n, "
                             "gamma_post")
        else:
            missing = [k for k in KUMAR2024_CONSTANTS if getattr(self, k) is None]
            if missing:
                raise ValueError(f"form kumar2024 needs {', '.join(missing)}: tco ships the form of Kumar et al. "
                                 "2024 but no default constants (their fit could not be verified here); state the "
                                 "paper's fitted values or your own")
        return self

    @property
    def constants_source(self) -> str:
        if self.source:
            return self.source
        if self.form == "constant":
            return "scenario (serving.quantization.penalty_nats)"
        return KUMAR2024_SOURCE
