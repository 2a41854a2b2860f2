"""Time to optimize a scenario and write its full workbook with a 1,000-point demand sweep (target < 3 s).

Prints one `name value unit` figure a line. Run: python benchmarks/bench_report.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import tco
    from tco.report.excel import write_report
    from tco.studies import prepare
    from tco.studies.sweep import demand_sweep

    scenario = tco.load_scenario(ROOT / "scenarios" / "capped-deadline-and-data.yaml")
    prepare(scenario, sweep_points=10)  # warm: imports, GP compile
    sweep_times, total_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(3):
            start = time.perf_counter()
            demand_sweep(scenario, points=1000)
            sweep_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            write_report(prepare(scenario, sweep_points=1000), Path(tmp) / f"r{k}.xlsx")
            total_times.append(time.perf_counter() - start)
    print(f"sweep_1000_points_seconds {statistics.median(sweep_times):.3f} s")
    print(f"report_with_1000_point_sweep_seconds {statistics.median(total_times):.3f} s")


if __name__ == "__main__":
    main()
