"""`serving.quantization`: the loss a model loses when its weights are quantized after training to the serving
precision (post-training quantization, PTQ). Only what the user states and its sourced defaults; the penalty's
arithmetic is `tco.model.quantization`.

Two forms:

- ``kumar2024``: delta = C_T exp(-P / gamma_post + b) D^gamma_D / N^gamma_N (Kumar et al. 2024, "Scaling Laws for
  Precision", arXiv 2411.04330, the post-train quantization degradation delta_PTQ of their section 3, eq. 2, for
  models trained in BF16 or above), for a serving precision of P bits. b is the exponent bias their Appendix K says
  every exponential fit carries ("a fit of the form e^(x/gamma_x) in the main text is really computed with offset
  e^(x/gamma_x + n)"). State no constant and the paper's own fit applies (Appendix K, Table 2: C_T 0.0598,
  gamma_D 0.5068, gamma_N 0.3439, gamma_post 0.5907, b 1.1277; GPTQ on 30M-220M-parameter OLMo-style models
  trained on Dolma, validated up to 1.7B, fitted jointly with their own law, and the authors say the numerical
  values are "unlikely to be useful" beyond their setup). State any constant and all four of C_T, gamma_D,
  gamma_N and gamma_post are required (a partial fit would mix two sources), with b defaulting to 0.
- ``constant``: a fixed penalty in nats, whatever N and D (the simplest stand-in for a measured degradation).

No quantization happens when the weights are served at (or above) the precision they were trained in, so by
default the penalty is zero when P is at least the training dtype's width (16 bits for bf16): set
``apply_at_training_precision: true`` to charge it anyway (a user whose constant penalty measures something else).
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from .fields import SourceText, StrictModel, number, within

__all__ = ["Quantization", "KumarConstants", "KUMAR2024_SOURCE", "KUMAR2024_CONSTANTS", "KUMAR2024_PUBLISHED",
           "KUMAR2024_PUBLISHED_SOURCE"]

KUMAR2024_SOURCE = ("Kumar et al. 2024, 'Scaling Laws for Precision' (arXiv 2411.04330), the form of the post-train "
                    "quantization degradation delta_PTQ = C_T exp(-P/gamma_post) D^gamma_D / N^gamma_N; constants "
                    "as stated in the scenario (the paper fits models up to 1.7B parameters, and its authors warn "
                    "fitted constants may not transfer)")
KUMAR2024_CONSTANTS = ("c_t", "gamma_d", "gamma_n", "gamma_post")
# Kumar et al. 2024, Appendix K "Numerical fits", Table 2 ("Fitted constants and their values"); b is the bias of
# the gamma_post exponential (the table's last row), read as e^(-P/gamma_post + b) per the appendix's own note.
KUMAR2024_PUBLISHED = {"c_t": 0.0598, "gamma_d": 0.5068, "gamma_n": 0.3439, "gamma_post": 0.5907, "bias": 1.1277}
KUMAR2024_PUBLISHED_SOURCE = (
    "Kumar et al. 2024, 'Scaling Laws for Precision' (arXiv 2411.04330), Appendix K Table 2: C_T 0.0598, gamma_D "
    "0.5068, gamma_N 0.3439, gamma_post 0.5907, exponent bias b 1.1277 (GPTQ, integer weights; fitted on 30M-220M "
    "models trained on Dolma up to 26B tokens, validated to 1.7B; the authors warn the values may not transfer)")


class KumarConstants(NamedTuple):
    """The constants of the kumar2024 form in force, and whether they are the paper's published fit."""

    c_t: float
    gamma_d: float
    gamma_n: float
    gamma_post: float
    bias: float
    published: bool
    source: str


_Number = BeforeValidator(number)
Coefficient = Annotated[float, _Number, within(1e-12, 1e3, "C_T of order 0.06 is reported; beyond this range the "
                                               "penalty over- or underflows at any real model size")]
Exponent = Annotated[float, _Number, within(0.01, 2, "exponents of order 0.3-0.5 are reported; the law's "
                                            "own exponents are 0.08-0.37")]
GammaPost = Annotated[float, _Number, within(0.05, 10, "of order 0.6 is reported: each bit divides the penalty by "
                                             "e^(1/gamma_post)")]
Bits = Annotated[float, _Number, within(1, 64, "1-bit to fp64 weights")]
Bias = Annotated[float, _Number, within(-20, 20, "the published fit's bias is 1.1277; e^20 is a factor of 5e8")]
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
        default=None, description="C_T of kumar2024, in nats/token; state none of C_T, gamma_D, gamma_N, gamma_post "
        "for the paper's published fit (Kumar et al. 2024 Appendix K Table 2: 0.0598), or all four from your own "
        "quantized checkpoints")
    gamma_d: Exponent | None = Field(default=None, description="gamma_D of kumar2024, the exponent of training "
                                     "tokens (published fit: 0.5068)")
    gamma_n: Exponent | None = Field(default=None, description="gamma_N of kumar2024, the exponent of parameters "
                                     "(published fit: 0.3439)")
    gamma_post: GammaPost | None = Field(default=None, description="gamma_post of kumar2024: bits per e-fold of "
                                         "the penalty (published fit: 0.5907)")
    bias: Bias | None = Field(default=None, description="b of kumar2024, the exponent's bias in e^(-P/gamma_post + "
                              "b) (Kumar et al. 2024, Appendix K); default 0 with stated constants, 1.1277 with the "
                              "published fit")
    penalty_nats: PenaltyNats | None = Field(default=None, description="the constant form's penalty in nats/token")
    apply_at_training_precision: StrictBool = Field(
        default=False, description="charge the penalty even when the serving precision is at least the training "
        "dtype's (no quantization happens then, so the default charges nothing)")
    source: SourceText | None = Field(
        default=None, description="where your constants come from (default: the form's own source)")

    @model_validator(mode="after")
    def _form_fields(self) -> "Quantization":
        # stated means a value: a copy re-validated from a dump (sweeps, overrides) carries the unset ones as None
        kumar_fields = {k for k in ("c_t", "gamma_d", "gamma_n", "gamma_post", "bias") if getattr(self, k) is not None}
        if self.form == "constant":
            if self.penalty_nats is None:
                raise ValueError("form constant needs penalty_nats (the penalty in nats/token)")
            if kumar_fields:
                raise ValueError(f"{', '.join(sorted(kumar_fields))} belong to form kumar2024, not constant")
        elif self.penalty_nats is not None:
            raise ValueError("penalty_nats belongs to form constant; kumar2024 takes c_t, gamma_d, gamma_n, "
                             "gamma_post and bias")
        elif kumar_fields:
            missing = [k for k in KUMAR2024_CONSTANTS if getattr(self, k) is None]
            if missing:
                raise ValueError(f"form kumar2024 with stated constants needs all of c_t, gamma_d, gamma_n and "
                                 f"gamma_post (missing {', '.join(missing)}): a partial set would mix your fit with "
                                 "the paper's; state all four, or none for Kumar et al. 2024's published fit")
        return self

    @property
    def constants(self) -> KumarConstants:
        """The kumar2024 constants in force: the stated ones (bias 0 unless stated), else the published fit."""
        if self.c_t is None:
            return KumarConstants(**KUMAR2024_PUBLISHED, published=True,
                                  source=self.source or KUMAR2024_PUBLISHED_SOURCE)
        assert self.gamma_d is not None and self.gamma_n is not None and self.gamma_post is not None
        return KumarConstants(self.c_t, self.gamma_d, self.gamma_n, self.gamma_post, self.bias or 0.0,
                              published=False, source=self.constants_source)

    @property
    def constants_source(self) -> str:
        if self.source:
            return self.source
        if self.form == "constant":
            return "scenario (serving.quantization.penalty_nats)"
        return KUMAR2024_SOURCE
