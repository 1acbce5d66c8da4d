"""How long `vverify check` takes on the bundled specs: cold, warm, and with -j.

Each figure is the median of several runs of the real command in a fresh
process (so import time counts), with the cold and warm runs interleaved
so that machine noise hits both alike.  Writes results/check_speed.json and
results/check_speed.md.

    python benchmarks/check_speed.py [--runs 5] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vverify.files import write_atomic  # noqa: E402


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}{p.stdout[-2000:]}")
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "results"))
    args = ap.parse_args()
    exe = [sys.executable, "-m", "vverify", "check"]
    cache = Path(tempfile.mkdtemp(prefix="vverify-bench-cache-"))
    env = dict(os.environ, VVERIFY_CACHE_DIR=str(cache))
    cold, warm, cold_j = [], [], []
    largest = str(ROOT / "specs" / "riscv32" / "riscv32.toml")
    big1, bigj = [], []
    try:
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(timed(exe, env))
            warm.append(timed(exe, env))
            shutil.rmtree(cache, ignore_errors=True)
            cold_j.append(timed(exe + ["-j", str(args.jobs)], env))
            shutil.rmtree(cache, ignore_errors=True)
            big1.append(timed(exe + [largest], env))
            shutil.rmtree(cache, ignore_errors=True)
            bigj.append(timed(exe + ["-j", str(args.jobs), largest], env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    specs = sorted(p.name for p in (ROOT / "specs").rglob("*.toml"))
    med = statistics.median
    result = {
        "command": "python benchmarks/check_speed.py " + " ".join(sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "specs": specs, "runs": args.runs,
        "cold_seconds": {"median": med(cold), "all": cold},
        "warm_seconds": {"median": med(warm), "all": warm},
        f"cold_j{args.jobs}_seconds": {"median": med(cold_j), "all": cold_j},
        "largest_spec": {"spec": "riscv32", "cold_j1_seconds": {"median": med(big1), "all": big1},
                         f"cold_j{args.jobs}_seconds": {"median": med(bigj), "all": bigj},
                         "speedup": med(big1) / med(bigj)},
        "targets": {"cold_max_s": 30, "warm_max_s": 2, "speedup_min": 1.7},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "check_speed.json", json.dumps(result, indent=2) + "\n")
    md = [
        "# `vverify check` on the bundled specs",
        "",
        f"Specs: {', '.join(specs)}. Median of {args.runs} interleaved runs, each a fresh process.",
        "",
        "| run | median (s) | target |",
        "|---|---|---|",
        f"| cold (empty proof cache) | {med(cold):.2f} | ≤ 30 |",
        f"| warm (unchanged specs, cache hit) | {med(warm):.2f} | < 2 |",
        f"| cold with -j {args.jobs} | {med(cold_j):.2f} | — |",
        "",
        f"Parallel checking on the largest bundled spec (riscv32), cold: -j 1 {med(big1):.2f} s, "
        f"-j {args.jobs} {med(bigj):.2f} s: a speedup of **{med(big1) / med(bigj):.2f}×** (target ≥ 1.7× on 2 cores).",
        "",
        f"Regenerate with: `{result['command'].strip()}`",
        "",
    ]
    write_atomic(out / "check_speed.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
