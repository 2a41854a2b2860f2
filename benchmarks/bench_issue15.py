"""Issue 15's speed figures, each a ratio of two things measured side by side in this one run (repetitions
interleaved, medians), then the figures themselves. Prints one `name value unit` figure a line.

(a) cold `python -m tco optimize SCENARIO` with its default report over a bare `python -c "import cvxpy"`
    (target <= 1.3): the command imports cvxpy in its GP worker (`tco.solve.worker`) beside everything else;
    the same command with the worker switched off (TCO_GP_WORKER=0: cvxpy imported in the command's process),
    and the floor of that one-process design: a process importing only cvxpy and the libraries that command
    cannot do without (pydantic validates the scenario, PyYAML reads it, typer and rich are the CLI, openpyxl
    writes the workbook), no tco code and no work, over the same bare `import cvxpy`;
(b) a 1e6-point `tco sweep` to CSV over the same sweep to Parquet (target <= 2);
(c) the fixed-MFU kernel's ns per solve over a minimal numpy Newton (written below) on the same problems
    (target <= 4), with the kernel's ns per solve at 1e5 and 1e7 elements (flat with the kernel's chunks);
(d) peak memory of a 1e7-point `solve_frame` (a subprocess's peak RSS), its result's bytes, and the working
    memory beyond the result and the process before the call (target < 1 GB): with every column (41 float
    columns: 3.3 GB of result by arithmetic), with the typical selection `columns=SELECTED`, and streamed
    through `iter_solve_frame`.

Run: python benchmarks/bench_issue15.py [--quick]   (--quick: small sizes, seconds, for a CI smoke test)
"""

from __future__ import annotations

import argparse
import compileall
import os
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


def interleaved(runs: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each callable, the repetitions interleaved (a, b, a, b, ...) so load drifts hit both."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def figure(name: str, value: float, unit: str, digits: str = ".3g") -> None:
    print(f"{name} {value:{digits}} {unit}", flush=True)


# --- (a) cold optimize over import cvxpy ---------------------------------------------------------------------
def cold_start(repeat: int, folder: Path) -> None:
    def run(*args: str, worker: str = "1") -> None:
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "TCO_GP_WORKER": worker})

    # "Cold" is a new process, as a user's every run is, with bytecode cached as pip leaves an installed package
    # (cvxpy's is): where PYTHONDONTWRITEBYTECODE is set, this checkout's modules would otherwise be compiled
    # from source on every run (~0.09 s), which no installed tco pays.
    compileall.compile_dir(str(ROOT / "tco"), quiet=1)
    medians = interleaved({
        "optimize": lambda: run("-m", "tco", "optimize", str(SCENARIO), "--out", str(folder / "report.xlsx")),
        "in_process": lambda: run("-m", "tco", "optimize", str(SCENARIO), "--out", str(folder / "report.xlsx"),
                                  worker="0"),
        "cvxpy": lambda: run("-c", "import cvxpy"),
        "floor": lambda: run("-c", "import cvxpy, pydantic, yaml, typer, rich.console, openpyxl"),
    }, repeat)
    figure("cold_optimize_with_report_seconds", medians["optimize"], "s")
    figure("cold_optimize_with_report_no_gp_worker_seconds", medians["in_process"], "s")
    figure("import_cvxpy_seconds", medians["cvxpy"], "s")
    figure("import_floor_seconds", medians["floor"], "s")
    figure("ratio_cold_optimize_to_import_cvxpy", medians["optimize"] / medians["cvxpy"], "x", ".2f")
    figure("ratio_cold_optimize_no_gp_worker_to_import_cvxpy", medians["in_process"] / medians["cvxpy"], "x", ".2f")
    figure("ratio_import_floor_to_import_cvxpy", medians["floor"] / medians["cvxpy"], "x", ".2f")


# --- (b) CSV over Parquet -------------------------------------------------------------------------------------
def sweep_tables(points: int, repeat: int, folder: Path) -> None:
    from typer.testing import CliRunner

    from tco.cli import app

    def sweep(suffix: str) -> None:
        result = CliRunner().invoke(app, ["sweep", str(SCENARIO), "--vary", f"demand.requests=1e8:1e12:log:{points}",
                                          "--no-report", "--json", "--out", str(folder / f"sweep.{suffix}")])
        assert result.exit_code == 0, result.output

    sweep("csv")  # warm: imports, the first chunk's allocations
    medians = interleaved({"csv": lambda: sweep("csv"), "parquet": lambda: sweep("parquet")}, repeat)
    figure(f"sweep_{points:.0e}_points_to_csv_seconds".replace("+", ""), medians["csv"], "s")
    figure(f"sweep_{points:.0e}_points_to_parquet_seconds".replace("+", ""), medians["parquet"], "s")
    figure("ratio_csv_sweep_to_parquet_sweep", medians["csv"] / medians["parquet"], "x", ".2f")


# --- (c) the kernel over a minimal Newton ---------------------------------------------------------------------
def minimal_newton(la, lb, p, q, log_k, steps: int = 8):
    """The fixed-MFU problem min 6 N D + k N on a N^-p + b D^-q = 1, as plain numpy: Newton on the curve's
    zeta = log(b D^-q / a N^-p) from the compute-optimal point, a fixed number of steps, no safeguard, no caps,
    no outputs but zeta (8 steps reach 1e-14 on these problems)."""
    log_qp = np.log(q / p)
    z = np.full(np.shape(la), -log_qp)
    for _ in range(steps):
        e = np.exp(z)
        r = 1.0 / (1.0 + e)
        log_d = (lb + np.log1p(e) - z) / q
        t = np.exp(log_k - log_d)  # inference over training: k N / (6 N D) = (k / 6) / D
        z = z - (z + log_qp + np.log1p(t)) / (1.0 + t * r / (q * (1.0 + t)))
    return z


def fixed_mfu_problems(n: int, seed: int = 0):
    import tco

    law = tco.get_law("sardana2024")
    rng = np.random.default_rng(seed)
    loss = law.E + rng.uniform(0.2, 0.6, n)
    c = law.constraint(loss)
    train, infer = np.full(n, 6.0), 2 * 10 ** rng.uniform(9, 16, n)  # 2 N per token, 1e9-1e16 tokens
    return c, [(1, 1, train), (1, 0, infer), (0, 1, 0.0)], np.log(infer / train)


def kernel(n: int, repeat: int, sizes: tuple[int, ...]) -> None:
    from tco.solve.exact import solve_exact

    c, terms, log_k = fixed_mfu_problems(n)
    la, lb = np.log(c.a), np.log(c.b)
    ours = solve_exact(c.a, c.p, c.b, c.q, terms)
    zeta = minimal_newton(la, lb, c.p, c.q, log_k)
    agree = float(np.max(np.abs(zeta - ours.zeta) / np.maximum(1.0, np.abs(ours.zeta))))
    medians = interleaved({"kernel": lambda: solve_exact(c.a, c.p, c.b, c.q, terms),
                           "newton": lambda: minimal_newton(la, lb, c.p, c.q, log_k)}, repeat)
    figure(f"kernel_ns_per_solve_{n:.0e}".replace("+", ""), medians["kernel"] / n * 1e9, "ns", ".0f")
    figure(f"minimal_numpy_newton_ns_per_solve_{n:.0e}".replace("+", ""), medians["newton"] / n * 1e9, "ns", ".0f")
    figure("ratio_kernel_to_minimal_newton", medians["kernel"] / medians["newton"], "x", ".2f")
    figure("kernel_vs_minimal_newton_zeta_difference", agree, "relative", ".1e")
    for size in sizes:  # flat per-element cost: the kernel's chunks
        c, terms, _ = fixed_mfu_problems(size, seed=1)
        seconds = interleaved({"kernel": lambda c=c, terms=terms: solve_exact(c.a, c.p, c.b, c.q, terms)},
                              max(1, repeat // 2))
        figure(f"kernel_ns_per_solve_{size:.0e}".replace("+", ""), seconds["kernel"] / size * 1e9, "ns", ".0f")


# --- (d) peak memory of solve_frame ---------------------------------------------------------------------------
_MEMORY = """
import resource, sys, tracemalloc
sys.path.insert(0, {root!r})
import numpy as np
import tco
from tco.studies import iter_solve_frame
from tco.studies.arrays import solve_frame
scenario = tco.load_scenario({scenario!r})
solve_frame(scenario, {{"demand.requests": np.logspace(8, 12, 1000)}}, validate=False)  # imports, warm
requests = np.logspace(8, 12, {n})
tracemalloc.start()
if {form!r} == "stream":  # a running reduction over every row, one chunk in memory at a time
    low, rows = np.inf, 0
    for part in iter_solve_frame(scenario, {{"demand.requests": requests}}, validate=False,
                                 columns=["optimal_params"]):
        low, rows = min(low, float(part["optimal_params"].min())), rows + len(part)
    result = 0
else:
    frame = solve_frame(scenario, {{"demand.requests": requests}}, validate=False, columns={columns!r})
    rows = len(frame)
    result = int(sum(frame[c].to_numpy().nbytes for c in frame.columns))
traced = tracemalloc.get_traced_memory()[1]
try:  # this process image's own peak: ru_maxrss would include the benchmark's peak, kept across fork and exec
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):  # not Linux: the rusage figure (an upper bound there)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(peak, traced, result, rows)
"""

#: What a user of 1e7 points typically keeps: the design, its cost and the savings (the input and `feasible`
#: always come along).
SELECTED = ["optimal_params", "optimal_tokens", "optimal_total_cost_usd", "savings_fraction"]


def memory(n: int) -> None:
    """Peak RSS of the process (imports, inputs, result and all), the peak of the memory allocated during the
    call (tracemalloc; numpy reports its arrays to it), the result's bytes, and the difference of the last two:
    the working memory the chunks bound. Three forms: every column (result-bound: 41 float columns), the
    `SELECTED` columns, and `iter_solve_frame` streamed through a running minimum."""
    label = f"{n:.0e}".replace("+", "")
    for form, columns in (("full", None), ("selected", SELECTED), ("stream", None)):
        code = _MEMORY.format(root=str(ROOT), scenario=str(SCENARIO), n=n, form=form, columns=columns)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
        peak, traced, result, rows = (int(v) for v in out.stdout.split())
        assert rows == n
        name = {"full": f"solve_frame_{label}", "selected": f"solve_frame_{label}_selected_columns",
                "stream": f"iter_solve_frame_{label}_running_min"}[form]
        figure(f"{name}_peak_rss_bytes", peak, "B", ".4g")
        figure(f"{name}_peak_allocated_during_call_bytes", traced, "B", ".4g")
        if form != "stream":
            figure(f"{name}_result_bytes", result, "B", ".4g")
            figure(f"{name}_working_bytes_beyond_result", traced - result, "B", ".4g")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds): a smoke test of every figure")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cold_start(repeat=1 if quick else 7, folder=folder)
        sweep_tables(points=2_000 if quick else 1_000_000, repeat=1 if quick else 3, folder=folder)
        kernel(n=20_000 if quick else 1_000_000, repeat=1 if quick else 7,
               sizes=(50_000,) if quick else (100_000, 10_000_000))
        memory(n=100_000 if quick else 10_000_000)


if __name__ == "__main__":
    main()
