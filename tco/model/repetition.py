"""Data-constrained training: repeated epochs under Muennighoff et al. 2023 (not a GP; an exact 1-D solve).

With U unique tokens trained for D >= U tokens, the loss law sees the effective data (primer, section 3)

    D' = U + U R*_D (1 - exp(-(D/U - 1) / R*_D))        (D' = D for D <= U)

which saturates at U (1 + R*_D) ~ 16.4 U, with the closed-form inverse D = U (1 - R ln(1 - (D'/U - 1) / R)).
This module holds the map; the repeated-data iso-loss curve is `tco.solve.curve.RepeatedCurve`, solved by the
one exact kernel (`tco.solve.exact`). Training FLOPs and costs use the real D, the loss the effective D'.
"""

from __future__ import annotations

import math

import numpy as np

from ..units import format_count

__all__ = ["R_D", "R_N", "SATURATION", "effective_tokens", "real_tokens", "unreachable_message"]

#: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (NeurIPS), fitted decay constants:
#: R*_D for repeated data (the value of repeated tokens decays with e-folding R*_D epochs), R*_N for excess
#: parameters (not used here: we follow the primer and only model repeated data).
R_D = 15.387756
R_N = 5.309743
#: The best effective data infinite repetition reaches, in units of U.
SATURATION = 1.0 + R_D



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


def unreachable_message(law, target_loss, unique, b, q) -> str:
    best = law.loss(np.inf, unique * SATURATION)
    needed = math.exp(math.log(b) / q) / SATURATION
    return (f"infeasible: data.max_unique_tokens = {format_count(unique)} unique tokens cannot reach the loss "
            f"target {target_loss:.6g} under law {law.name} even with unlimited repetition: at most "
            f"U (1 + R*_D) = {format_count(unique * SATURATION)} effective tokens (Muennighoff et al. 2023), "
            f"where even N -> infinity gives loss {best:.6g}; it needs at least {format_count(needed)} unique "
            "tokens (or raise the loss target)")
