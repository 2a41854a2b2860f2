"""Snapshot the JSON of every bundled scenario and study, and compare two snapshots.

A redesign must keep behaviour: run `python tools/snapshot.py take DIR` before moving code and
`python tools/snapshot.py compare DIR OTHER` after; numbers must agree to 1e-12 relative (timings excluded).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
#: Fields that are measurements of this run, not answers.
VOLATILE = {"solve_seconds", "table", "workbook", "out", "gp_solve_seconds", "gp_unpolished_rel_diff", "max_rel_diff",
            "seconds", "elapsed_seconds"}


def commands(out: Path) -> list[tuple[str, list[str]]]:
    jobs = []
    for path in SCENARIOS:
        s = path.stem
        jobs.append((f"{s}.optimize", ["optimize", str(path), "--json", "--out", str(out / f"{s}.xlsx")]))
        jobs.append((f"{s}.optimize-flops", ["optimize", str(path), "--json", "--objective", "flops", "--no-report"]))
        jobs.append((f"{s}.breakeven", ["breakeven", str(path), "--json"]))
        jobs.append((f"{s}.sweep", ["sweep", str(path), "--json", "--no-report", "--out", str(out / f"{s}-sweep.csv"),
                                    "--vary", "training.mfu=0.3:0.6:lin:4", "--vary", "serving.prefill_mfu=0.3,0.5"]))
        jobs.append((f"{s}.sensitivity", ["sensitivity", str(path), "--json", "--no-report"]))
        if "uncertainty:" in path.read_text():
            jobs.append((f"{s}.montecarlo", ["montecarlo", str(path), "--json", "--no-report", "--samples", "2000"]))
        else:
            jobs.append((f"{s}.robust", ["robust", str(path), "--json", "--samples", "30",
                                                 "--stderr", "E=0.01,A=40,B=400"]))
    return jobs


def run(name: str, args: list[str], out: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tco", *args], capture_output=True, text=True, cwd=ROOT)
    record = {"returncode": proc.returncode, "stderr": proc.stderr.strip().splitlines()[-1:] if proc.returncode else []}
    try:
        record["json"] = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        record["stdout"] = proc.stdout
    (out / f"{name}.json").write_text(json.dumps(record, indent=1, sort_keys=True))


def take(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: run(job[0], job[1], out), commands(out)))


def diff(a, b, path="", rtol=1e-12, out=None):
    out = [] if out is None else out
    if path.split(".")[-1] in VOLATILE:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'new' if k in b else 'old'}")
            else:
                diff(a[k], b[k], f"{path}.{k}", rtol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", rtol, out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if not (a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rtol * max(abs(a), abs(b)))):
            out.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        out.append(f"{path}: {str(a)[:80]!r} vs {str(b)[:80]!r}")
    return out


def compare(old: Path, new: Path, rtol: float = 1e-12) -> int:
    bad = 0
    for f in sorted(old.glob("*.json")):
        other = new / f.name
        if not other.exists():
            print(f"{f.name}: missing in {new}")
            bad += 1
            continue
        problems = diff(json.loads(f.read_text()), json.loads(other.read_text()), rtol=rtol)
        for csv in ([old / f.name.replace(".sweep.json", "-sweep.csv")] if f.name.endswith(".sweep.json") else []):
            if csv.exists():
                import pandas as pd
                a, b = pd.read_csv(csv), pd.read_csv(new / csv.name)
                problems += diff(a.to_dict("list"), b.to_dict("list"), "csv", rtol)
        if problems:
            bad += 1
            print(f"{f.name}: {len(problems)} differences")
            for p in problems[:8]:
                print(f"   {p}")
    print(f"{bad} of {len(list(old.glob('*.json')))} snapshots differ")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "take":
        take(Path(sys.argv[2]))
    else:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 1e-12))
