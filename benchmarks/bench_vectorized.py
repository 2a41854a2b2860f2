"""The one exact kernel (tco.solve) in bulk, next to a plain numpy bisection measured in the same run: fixed-MFU
solves/s (no caps, three caps), roofline sweeps (two decode regimes, an N^(2/3) KV term), repeated-data sweeps
(Muennighoff et al. 2023), Monte Carlo time for 100,000 samples and one full `tco.optimize()` call. Prints one
`name value unit` figure a line.

Targets: fixed-MFU >= 1,000,000 solves/s on 2 cores (the retired standard-shape kernel did ~1.1M); roofline
sweeps within 2x of fixed-MFU (the general bisection did ~50k/s); repetition >= 60,000/s (the element-by-element
solver did ~600/s); Monte Carlo 100k samples < 2 s.
Run: python benchmarks/bench_vectorized.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tco, whatever is installed
N = 1_000_000
SWEEP = 100_000


def best_of(fn, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_bisection(A, B, E, alpha, beta, loss, kt, ki, iterations=60):
    """The primer's 1-D condition, bisected in log D: the plain-numpy reference point for speed."""
    lo, hi = np.full(kt.shape, 5.0), np.full(kt.shape, 40.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        d = np.exp(mid)
        f = (B + beta * B / alpha) * d**-beta + (beta * B * ki / (alpha * kt)) * d ** (-beta - 1) + E - loss
        lo, hi = np.where(f > 0, mid, lo), np.where(f > 0, hi, mid)
    return np.exp(0.5 * (lo + hi))


def main() -> None:
    import tco
    from tco.solve.exact import solve_exact
    from tco.studies.montecarlo import monte_carlo
    from tco.studies.arrays import solve_frame, solve_vector, vector_model

    law = tco.get_law("sardana2024")
    rng = np.random.default_rng(0)
    loss = law.E + rng.uniform(0.2, 0.6, N)
    c = law.constraint(loss)
    kt = np.full(N, 6.0)
    ki = 2 * 10 ** rng.uniform(9, 16, N)
    terms = [(1, 1, kt), (1, 0, ki), (0, 1, 0.0)]
    ours = best_of(lambda: solve_exact(c.a, c.p, c.b, c.q, terms))
    plain = best_of(lambda: plain_bisection(law.A, law.B, law.E, law.alpha, law.beta, loss, kt, ki))
    n_c, d_c = law.chinchilla_point(loss)
    caps = [(1, 0, n_c * 2), (0, 1, d_c * 5), (1, 1, n_c * d_c * 4)]
    capped = best_of(lambda: solve_exact(c.a, c.p, c.b, c.q, terms, caps))
    print(f"fixed_mfu_kernel_solves_per_second {N / ours:,.0f} 1/s")
    print(f"fixed_mfu_kernel_with_three_caps_solves_per_second {N / capped:,.0f} 1/s")
    print(f"plain_numpy_bisection_solves_per_second {N / plain:,.0f} 1/s")
    print(f"ratio_kernel_to_plain_bisection {plain / ours:.2f} x")

    # the serving roofline: two decode regimes (the second only where the first one's crossover binds)
    roofline = tco.load_scenario(ROOT / "scenarios" / "roofline-long-context-assistant.yaml")
    overrides = {"serving.batch_size": np.exp(rng.uniform(0.0, np.log(4096.0), SWEEP)),
                 "demand.requests": 10 ** rng.uniform(8, 11, SWEEP)}
    model = vector_model(roofline, overrides)
    roof_kernel = best_of(lambda: solve_vector(model))
    roof = best_of(lambda: solve_frame(roofline, overrides, validate=False), repeat=2)
    print(f"roofline_kernel_solves_per_second {SWEEP / roof_kernel:,.0f} 1/s")
    print(f"roofline_sweep_solves_per_second {SWEEP / roof:,.0f} 1/s")
    small = [(i, j, w if np.ndim(w) == 0 else w[:SWEEP]) for i, j, w in terms]
    same_size = best_of(lambda: solve_exact(c.a[:SWEEP], c.p, c.b[:SWEEP], c.q, small))
    print(f"ratio_roofline_to_fixed_mfu_kernel_time {roof_kernel / same_size:.2f} x (same {SWEEP:,} elements)")

    # repeated data: unique tokens and demand per element, the repeated-data curve
    repeated = tco.load_scenario(ROOT / "scenarios" / "data-limited-domain-model.yaml")
    overrides = {"demand.requests": 10 ** rng.uniform(8, 11, SWEEP),
                 "data.max_unique_tokens": 10 ** rng.uniform(11, 12, SWEEP)}
    model = vector_model(repeated, overrides)
    rep_kernel = best_of(lambda: solve_vector(model))
    rep = best_of(lambda: solve_frame(repeated, overrides, validate=False), repeat=2)
    print(f"repetition_kernel_solves_per_second {SWEEP / rep_kernel:,.0f} 1/s")
    print(f"repetition_sweep_solves_per_second {SWEEP / rep:,.0f} 1/s")

    scenario = tco.load_scenario(ROOT / "scenarios" / "uncertain-demand-and-law.yaml")
    monte_carlo(scenario, samples=1000, progress=False)  # warm
    mc = best_of(lambda: monte_carlo(scenario, samples=100_000, progress=False), repeat=2)
    print(f"montecarlo_100k_samples_seconds {mc:.3f} s")

    one = tco.load_scenario(ROOT / "scenarios" / "chat-assistant-70b-quality.yaml")
    tco.optimize(one)  # compile the GP once
    calls = sorted(best_of(lambda: tco.optimize(one), repeat=1) for _ in range(30))
    print(f"full_optimize_call_ms {calls[len(calls) // 2] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
