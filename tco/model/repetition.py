"""Data-constrained training: repeated epochs under Muennighoff et al. 2023 (not a GP; an exact 1-D solve).

With U unique tokens trained for D >= U tokens, the loss law sees the effective data (primer, section 3;
Muennighoff et al. 2023, eq. 5)

    D' = U + U R*_D (1 - exp(-(D/U - 1) / R*_D))        (D' = D for D <= U)

which saturates at U (1 + R*_D) ~ 16.4 U, with the closed-form inverse D = U (1 - R ln(1 - (D'/U - 1) / R)).
The parameter half (their eq. 6) applies the same map to the parameters, with R*_N and the base size
U_N = min(N, N_opt(U)), N_opt(U) the compute-optimal size for U tokens under the law (`base_params`):

    N' = U_N + U_N R*_N (1 - exp(-(N/U_N - 1) / R*_N))  (N' = N for N <= N_opt(U)), saturating at 6.31 U_N,

so a model larger than its unique data supports is worth less than its size (their appendix A, eq. 17, fits
both halves together, with the C4 constants of the muennighoff2023 preset).
This module holds the map; the repeated-data iso-loss curve is `tco.solve.curve.RepeatedCurve`, solved by the
one exact kernel (`tco.solve.exact`). Training FLOPs and costs use the real D, the loss the effective D'.
"""

from __future__ import annotations

import math

import numpy as np

from ..units import format_count

__all__ = ["R_D", "R_N", "SATURATION", "PARAMS_SATURATION", "effective_tokens", "real_tokens", "effective_params",
           "base_params", "unreachable_message"]

#: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (NeurIPS), fitted decay constants:
#: R*_D for repeated data (the value of repeated tokens decays with e-folding R*_D epochs), R*_N for excess
#: parameters (appendix A; the parameter half, `data.excess_parameters`).
R_D = 15.387756
R_N = 5.309743
#: The best effective data infinite repetition reaches, in units of U.
SATURATION = 1.0 + R_D
#: The most effective parameters any size reaches, in units of U_N.
PARAMS_SATURATION = 1.0 + R_N


def effective_tokens(tokens, unique, r=R_D):
    """D' of D tokens drawn from U unique ones (numpy-aware; D' = D for D <= U)."""
    tokens, unique = np.asarray(tokens, dtype=float), np.asarray(unique, dtype=float)
    excess = np.maximum(tokens / unique - 1.0, 0.0)
    out = np.where(tokens <= unique, tokens, unique * (1.0 + r * -np.expm1(-excess / r)))
    return float(out) if np.ndim(out) == 0 else out


def real_tokens(effective, unique, r=R_D):
    """The inverse map: real D giving effective D' (D' < U (1 + R); +inf at or beyond saturation)."""
    effective, unique = np.asarray(effective, dtype=float), np.asarray(unique, dtype=float)
    frac = np.minimum(np.maximum(effective / unique - 1.0, 0.0) / r, 1.0)
    with np.errstate(divide="ignore"):
        out = np.where(effective <= unique, effective, unique * (1.0 - r * np.log1p(-frac)))
    return float(out) if np.ndim(out) == 0 else out


def effective_params(params, base):
    """N' of N parameters over the base size U_N (eq. 6): the same map as the data's, with R*_N."""
    return effective_tokens(params, base, R_N)


def base_params(a, p, b, q, unique):
    """N_opt(U): the compute-optimal size for U training tokens under the law a N^-p + b D^-q (the base U_N of
    the parameter half). Minimizing the loss at 6 N D = C gives N = G K^(q/(p+q)), D = K / N with K = C / 6 and
    G = (p a / (q b))^(1/(p+q)) (`Law.allocate`), so D = U at K = (G U)^((p+q)/p) and N = G (G U)^(q/p).
    The constraint's a, b are the law's divided by one number, so their ratio is the law's. Numpy-aware."""
    g = (p * np.asarray(a, dtype=float) / (q * np.asarray(b, dtype=float))) ** (1.0 / (p + q))
    out = g * (g * np.asarray(unique, dtype=float)) ** (q / p)
    return float(out) if np.ndim(out) == 0 else out


def unreachable_message(law, target_loss, unique, loss, decays_params=False) -> str:
    """Why no design reaches the target with U unique tokens, and the unique tokens that would. With the parameter
    half both saturations scale with U (U_N = G (G U)^(q/p), `base_params`), so a N'^-p + b D'^-q at
    N' = U_N (1 + R*_N), D' = U (1 + R*_D) is c U^-q and the U that brings it to 1 has a closed form."""
    a, p, b, q = (float(v) for v in (loss.a, loss.p, loss.b, loss.q))
    if not decays_params:
        best = law.loss(np.inf, unique * SATURATION)
        needed = math.exp(math.log(b) / q) / SATURATION
        where = "where even N -> infinity gives"
    else:
        base = base_params(a, p, b, q, unique)
        best = law.loss(base * PARAMS_SATURATION, unique * SATURATION)
        g = (p * a / (q * b)) ** (1.0 / (p + q))
        needed = (a * g ** -(p + q) * PARAMS_SATURATION ** -p + b * SATURATION ** -q) ** (1.0 / q)
        where = (f"and at most U_N (1 + R*_N) = {format_count(base * PARAMS_SATURATION)} effective parameters "
                 "(eq. 6), which give")
    return (f"infeasible: data.max_unique_tokens = {format_count(unique)} unique tokens cannot reach the loss "
            f"target {target_loss:.6g} under law {law.name} even with unlimited repetition: at most "
            f"U (1 + R*_D) = {format_count(unique * SATURATION)} effective tokens (Muennighoff et al. 2023), "
            f"{where} loss {best:.6g}; it needs at least {format_count(needed)} unique "
            "tokens (or raise the loss target)")
