"""Speed of `tco optimize`: cold CLI wall time and re-solve times. Prints one `name value unit` figure a line.

Targets (issue 3): cold CLI <= 2 s on 2 cores; a re-solve with changed parameters <= 1 ms. The cold start is
dominated by importing cvxpy, so its import time is printed alongside, measured in the same run.
Run: python benchmarks/bench_optimize.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tco, whatever is installed
SCENARIO = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"


def wall(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold = wall([sys.executable, "-m", "tco", "optimize", str(SCENARIO), "--json", "--out", f"{tmp}/r.xlsx"])
    print(f"cold_cli_optimize_seconds {cold:.3f} s")
    print(f"python_startup_seconds {wall([sys.executable, '-c', 'pass']):.3f} s")
    print(f"import_cvxpy_seconds {wall([sys.executable, '-c', 'import cvxpy']):.3f} s")

    import tco
    from tco.model import build_model
    from tco.solve.program import solve_gp
    from tco.solve.regimes import solve_model

    base = tco.load_scenario(SCENARIO).model_dump()
    models = []
    for requests in np.logspace(9, 12, 200):
        data = {**base, "demand": {**base["demand"], "requests": float(requests)}}
        models.append(build_model(tco.scenario_from_dict(data)))
    solve_gp(models[0])  # compile once
    start = time.perf_counter()
    for model in models:
        solve_gp(model)
    print(f"gp_resolve_ms {(time.perf_counter() - start) / len(models) * 1e3:.3f} ms")
    start = time.perf_counter()
    for _ in models:
        tco.optimize(tco.scenario_from_dict({**base, "demand": {**base["demand"], "requests": 1e10}}))
    print(f"full_optimize_call_ms {(time.perf_counter() - start) / len(models) * 1e3:.3f} ms")
    start = time.perf_counter()
    for model in models:
        solve_model(model)
    print(f"exact_scalar_solve_ms {(time.perf_counter() - start) / len(models) * 1e3:.3f} ms")

    from tco.solve.exact import solve_exact

    law = tco.get_law("hoffmann2022")
    c = law.constraint(1.95)
    demand = np.logspace(8, 16, 100_000)
    start = time.perf_counter()
    solve_exact(c.a, c.p, c.b, c.q, [(1, 1, 6e-18), (1, 0, 2e-17 * demand)])
    elapsed = time.perf_counter() - start
    print(f"exact_vectorized_solves_per_second {len(demand) / elapsed:,.0f} 1/s")


if __name__ == "__main__":
    main()
