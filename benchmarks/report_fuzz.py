"""Summarise results/fuzz_throughput.json into results/FUZZ.md (medians from pyperf).

    python benchmarks/report_fuzz.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyperf  # noqa: E402

from vverify.files import write_atomic  # noqa: E402

TARGET = 600  # issue 15: per technique, on riscv32


def main():
    suite = pyperf.BenchmarkSuite.load(str(ROOT / "results" / "fuzz_throughput.json"))
    lines = ["# Fuzz throughput on riscv32", "",
             "Programs per second: each is drawn by Hypothesis, run natively, run under the technique and compared. "
             "Medians of one pyperf run (all techniques side by side).", "",
             f"| technique | programs/s (median) | target ≥ {TARGET}/s |", "|---|---|---|"]
    for b in suite.get_benchmarks():
        rate = 1 / b.median()
        lines.append(f"| {b.get_name().removeprefix('fuzz_')} | {rate:,.0f} | {'met' if rate >= TARGET else '**missed**'} |")
    lines += ["", "Regenerate with:", "", "```sh",
              "python benchmarks/fuzz_throughput.py -o results/fuzz_throughput.json",
              "python benchmarks/report_fuzz.py", "```", ""]
    write_atomic(ROOT / "results" / "FUZZ.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
