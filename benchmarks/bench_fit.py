"""Speed of `tco fit` on synthetic runs. Prints one `name value unit` figure a line.

Target (issue 6): a 4,500-start Approach 3 fit on 250 runs in under 30 s on 2 cores. The 1,000-resample
bootstrap is timed separately. Run: python benchmarks/bench_fit.py
"""

from __future__ import annotations

import time

import numpy as np

from tco.fit import bootstrap_fit, fit_parametric, runs_from_arrays
from tco.laws import ChinchillaLaw

LAW = ChinchillaLaw(name="bench", source="synthetic", E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def synthetic_runs(n: int = 250, sigma: float = 0.005, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = 10.0 ** rng.uniform(7, 10, n)
    tokens = params * 10.0 ** rng.uniform(np.log10(5), np.log10(500), n)
    return runs_from_arrays(params, tokens, LAW.loss(params, tokens) * np.exp(rng.normal(0, sigma, n)))


def main() -> None:
    runs = synthetic_runs()
    start = time.perf_counter()
    fit = fit_parametric(runs, starts=4500, seed=0)
    print(f"fit_4500_starts_250_runs_seconds {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    boot = bootstrap_fit(runs, fit.theta, resamples=1000, seed=0)
    print(f"bootstrap_1000_seconds {time.perf_counter() - start:.2f} s")
    error = max(abs(fit.constants[k] / getattr(LAW, k) - 1) for k in ("E", "alpha", "beta"))
    print(f"fit_max_relative_error_E_alpha_beta {error:.4f} ratio")
    print(f"bootstrap_stderr_alpha {boot.stderr()['alpha']:.4f} value")


if __name__ == "__main__":
    main()
