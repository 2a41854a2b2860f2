"""`serving.quantization`: the loss a model loses when its weights are quantized after training to the serving
precision (post-training quantization, PTQ). Only what the user states and its sourced defaults; the penalty's
arithmetic is `tco.model.quantization`.

Two forms:

- ``kumar2024``: delta = C_T exp(-P / gamma_post) D^gamma_D / N^gamma_N (Kumar et al. 2024, "Scaling Laws for
  Precision", arXiv 2411.04330, the post-train quantization degradation delta_PTQ of their section 3), for a serving
  precision of P bits. The constants default to that paper's fit; every one can be overridden.
- ``constant``: a fixed penalty in nats, whatever N and D (the simplest stand-in for a measured degradation).

No quantization happens when the weights are served at (or above) the precision they were trained in, so by
default the penalty is zero when P is at least the training dtype's width (16 bits for bf16): set
``apply_at_training_precision: true`` to charge it anyway (a user whose constant penalty measures something else).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from .fields import SourceText, StrictModel, number, within

__all__ = ["Quantization", "KUMAR2024", "KUMAR2024_SOURCE"]

#: Kumar et al. 2024 fitted constants of delta_PTQ (weights quantized after BF16 training, integer formats).
#: The paper fits OLMo-style models of 30M-220M parameters on up to 26B tokens (validated up to 1.7B), and its
#: authors caution that fitted constants may not transfer to other architectures, data or quantizers. These values
#: were transcribed without a copy of the paper at hand to re-check them: verify them against its table of fitted
#: constants before a decision rests on them (README, "Quantized serving and its quality loss").
KUMAR2024 = {"c_t": 0.0598, "gamma_d": 0.5068, "gamma_n": 0.3439, "gamma_post": 0.5907}
KUMAR2024_SOURCE = ("Kumar et al. 2024, 'Scaling Laws for Precision' (arXiv 2411.04330), post-train quantization "
                    "degradation delta_PTQ = C_T exp(-P/gamma_post) D^gamma_D / N^gamma_N and its fitted constants "
                    "(the paper's fitted values, transcribed: check them against its table); fitted on models up to "
                    "1.7B parameters, and the authors warn the constants may not transfer")

_Number = BeforeValidator(number)
Coefficient = Annotated[float, _Number, within(1e-12, 1e3, "the paper's C_T is 0.06; beyond this range the "
                                               "penalty over- or underflows at any real model size")]
Exponent = Annotated[float, _Number, within(0.01, 2, "the paper fits 0.34 and 0.51; the law's own exponents are "
                                            "0.08-0.37")]
GammaPost = Annotated[float, _Number, within(0.05, 10, "the paper fits 0.59: each bit divides the penalty by "
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
    c_t: Coefficient = Field(default=KUMAR2024["c_t"], description="C_T of kumar2024 (Kumar et al. 2024: 0.0598)")
    gamma_d: Exponent = Field(default=KUMAR2024["gamma_d"],
                              description="gamma_D, the exponent of training tokens (Kumar et al. 2024: 0.5068)")
    gamma_n: Exponent = Field(default=KUMAR2024["gamma_n"],
                              description="gamma_N, the exponent of parameters (Kumar et al. 2024: 0.3439)")
    gamma_post: GammaPost = Field(default=KUMAR2024["gamma_post"],
                                  description="gamma_post, bits per e-fold of the penalty (Kumar et al. 2024: 0.5907)")
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
        return self

    @property
    def constants_source(self) -> str:
        if self.source:
            return self.source
        if self.form == "constant":
            return "scenario (serving.quantization.penalty_nats)"
        stated = {"c_t", "gamma_d", "gamma_n", "gamma_post"} & self.model_fields_set
        return KUMAR2024_SOURCE if not stated else f"scenario ({', '.join(sorted(stated))}); others {KUMAR2024_SOURCE}"
