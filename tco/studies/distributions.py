"""Sampling the distributions a scenario declares (`tco.scenario.uncertainty`), and samplers for law constants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import TcoError
from ..laws import Law
from ..scenario.uncertainty import (Distribution, LawUncertainty, LogNormal, LogUniform, Normal, Triangular,
                                    Uncertainty, Uniform)

__all__ = [
    "Distribution", "LawUncertainty", "Uncertainty", "draw", "sample", "sample_laws", "check_bootstrap",
    "PUBLISHED_STDERR",
]

#: Standard errors published with the fits (Besiroglu et al. 2024, Table 1 of "Chinchilla Scaling: A
#: replication attempt": E 1.8172 (0.03), A 482.01 (124.58), B 2085.43 (1293.23), alpha 0.3478 (0.02),
#: beta 0.3658 (0.02)). Correlations are not published, so constants are sampled independently; that
#: overstates the spread of the loss (A and alpha are strongly correlated in any fit). Prefer bootstrap
#: samples from `tco fit` when you have them.
PUBLISHED_STDERR: dict[str, dict[str, float]] = {
    "besiroglu2024": {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02},
}


#: How each distribution draws n values from a numpy Generator (the order of the rng calls fixes the seeds).
_DRAWS: dict[type, Callable[[Any, np.random.Generator, int], np.ndarray]] = {
    LogNormal: lambda d, rng, n: d.median * np.exp(d.sigma * rng.standard_normal(n)),
    Normal: lambda d, rng, n: d.mean + d.sd * rng.standard_normal(n),
    Uniform: lambda d, rng, n: rng.uniform(d.low, d.high, n),
    LogUniform: lambda d, rng, n: np.exp(rng.uniform(np.log(d.low), np.log(d.high), n)),
    Triangular: lambda d, rng, n: rng.triangular(d.low, d.mode, d.high, n),
}


def draw(distribution: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` draws of the one distribution `distribution` declares."""
    kind = distribution.kind
    return _DRAWS[type(kind)](kind, rng, n)


def sample(uncertainty: Uncertainty, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw `n` samples of every declared input (in declaration order, so seeds are reproducible)."""
    return {path: draw(dist, rng, n) for path, dist in uncertainty.inputs.items()}


def sample_laws(law: Law, n: int, rng: np.random.Generator, *, stderr: dict[str, float] | None = None,
                bootstrap: dict | None = None) -> dict[str, np.ndarray]:
    """Samples of the law constants as {"law.E": array, ...}.

    With `stderr`: E, alpha, beta normal around the law's values; A and B lognormal with sigma = SE / value
    (delta method), which keeps them positive. With `bootstrap` ({columns, samples} from a law file):
    resample rows, which keeps the constants' correlations.
    """
    constants = law.constants()
    if bootstrap is not None:
        columns = list(bootstrap["columns"])
        rows = np.asarray(bootstrap["samples"], dtype=float)
        picks = rows[rng.integers(0, len(rows), n)]
        return {f"law.{c}": picks[:, i] for i, c in enumerate(columns) if c in constants}
    out: dict[str, np.ndarray] = {}
    for name, se in (stderr or {}).items():
        if name not in constants:
            raise ValueError(f"law {law.name} has no constant {name!r} (it has {', '.join(constants)})")
        value = constants[name]
        if name in ("A", "B", "n_c", "d_c"):
            out[f"law.{name}"] = value * np.exp((se / value) * rng.standard_normal(n))
        else:
            out[f"law.{name}"] = value + se * rng.standard_normal(n)
    return out


def check_bootstrap(boot, where: str) -> dict:
    """A law file's `bootstrap:` section as {columns, samples (a 2-D float array)}; a TcoError naming `where`
    when it is not a rectangular table of finite numbers with one column per name."""
    try:
        columns = [str(c) for c in boot["columns"]]
        rows = np.asarray(boot["samples"], dtype=float)
    except (KeyError, TypeError, ValueError):
        raise TcoError(f"{where}: bootstrap needs `columns` and a table of numeric `samples` (rows of equal "
                       "length)") from None
    if rows.ndim != 2 or rows.shape[0] < 1 or rows.shape[1] != len(columns) or not np.isfinite(rows).all():
        raise TcoError(f"{where}: bootstrap samples must be rows of {len(columns)} finite numbers")
    return {"columns": columns, "samples": rows}


def replace_law(law: Law, samples: dict[str, np.ndarray]) -> Law:
    """The law with array constants (for vectorized evaluation)."""
    changes: dict[str, Any] = {k.split(".", 1)[1]: v for k, v in samples.items()}  # floats become arrays
    return dataclasses.replace(law, **changes)

