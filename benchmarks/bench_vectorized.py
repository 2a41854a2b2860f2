"""Vectorized exact solves per second, next to a plain numpy bisection measured in the same run; Monte Carlo
time for 100,000 samples. Prints one `name value unit` figure a line. Targets: >= 1,000,000 solves/s on 2
cores; Monte Carlo 100k samples < 2 s.
Run: python benchmarks/bench_vectorized.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N = 1_000_000


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
    from tco.model.fast import solve_standard
    from tco.uncertainty.montecarlo import monte_carlo

    law = tco.get_law("sardana2024")
    rng = np.random.default_rng(0)
    loss = law.E + rng.uniform(0.2, 0.6, N)
    c = law.constraint(loss)
    kt = np.full(N, 6.0)
    ki = 2 * 10 ** rng.uniform(9, 16, N)
    ours = best_of(lambda: solve_standard(c.a, c.p, c.b, c.q, kt, ki, 0.0))
    plain = best_of(lambda: plain_bisection(law.A, law.B, law.E, law.alpha, law.beta, loss, kt, ki))
    n_c, d_c = law.chinchilla_point(loss)
    capped = best_of(lambda: solve_standard(c.a, c.p, c.b, c.q, kt, ki, 0.0, n_c * 2, d_c * 5, n_c * d_c * 4))
    print(f"vectorized_exact_solves_per_second {N / ours:,.0f} 1/s")
    print(f"plain_numpy_bisection_solves_per_second {N / plain:,.0f} 1/s")
    print(f"vectorized_exact_with_three_caps_solves_per_second {N / capped:,.0f} 1/s")
    print(f"ratio_vectorized_to_plain_bisection {plain / ours:.2f} x")
    # the serving roofline: two regimes, each by the general exact solver (bisection), on 100,000 batch sizes
    from tco.vector import solve_frame

    roofline = tco.load_scenario(ROOT / "scenarios" / "roofline-long-context-assistant.yaml")
    batches = np.exp(rng.uniform(0.0, np.log(4096.0), 100_000))
    roof = best_of(lambda: solve_frame(roofline, {"serving.batch_size": batches}, validate=False), repeat=2)
    print(f"roofline_sweep_solves_per_second {batches.size / roof:,.0f} 1/s")
    scenario = tco.load_scenario(ROOT / "scenarios" / "uncertain-demand-and-law.yaml")
    monte_carlo(scenario, samples=1000, progress=False)  # warm
    mc = best_of(lambda: monte_carlo(scenario, samples=100_000, progress=False), repeat=2)
    print(f"montecarlo_100k_samples_seconds {mc:.3f} s")


if __name__ == "__main__":
    main()
