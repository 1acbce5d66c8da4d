"""How long classifying all of x86_32 takes from cold, with `vverify check -j 2`.

The x86 issue's target: every instruction of the 386 spec classified, each
verdict proved or witnessed and replayed, in at most 60 s on this 2-core
machine.  Each run is the real command in a fresh process (import time
counts) with an empty proof cache; the figure is the median.  Writes
results/check_x86.json and results/check_x86.md.

    python benchmarks/check_x86.py [--runs 3] [--jobs 2] [--spec specs/x86_32/x86_32.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.check_speed import timed  # noqa: E402
from vverify.files import write_atomic  # noqa: E402

TARGET_S = 60.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--spec", default=str(ROOT / "specs" / "x86_32" / "x86_32.toml"))
    ap.add_argument("--out", default=str(ROOT / "results"))
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "vverify", "check", args.spec, "-j", str(args.jobs)]
    cache = Path(tempfile.mkdtemp(prefix="vverify-x86-cache-"))
    env = dict(os.environ, VVERIFY_CACHE_DIR=str(cache))
    runs = []
    try:
        for i in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            runs.append(timed(cmd, env))
            print(f"run {i + 1}/{args.runs}: {runs[-1]:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    med = statistics.median(runs)
    name = Path(args.spec).name
    command = f"python benchmarks/check_x86.py --runs {args.runs} --jobs {args.jobs}"
    data = {"spec": name, "jobs": args.jobs, "runs_s": runs, "median_s": med, "target_s": TARGET_S,
            "meets_target": med <= TARGET_S, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "load_avg": os.getloadavg(), "command": command}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "check_x86.json", json.dumps(data, indent=2) + "\n")
    md = [f"# `vverify check {name} -j {args.jobs}` from cold", "",
          f"Median of {args.runs} runs, each a fresh process with an empty proof cache, "
          f"on {os.cpu_count()} cores (load average after: {os.getloadavg()[0]:.2f}).", "",
          "| runs (s) | median (s) | target |", "|---|---|---|",
          f"| {', '.join(f'{r:.2f}' for r in runs)} | {med:.2f} | ≤ {TARGET_S:.0f} ({'met' if med <= TARGET_S else 'missed'}) |",
          "", f"Regenerate with: `{command}`", ""]
    write_atomic(out / "check_x86.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
