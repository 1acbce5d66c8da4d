"""Fuzz throughput: generated guest programs per second, per technique, on riscv32.

Each example is one program: drawn by Hypothesis, run natively, run under
the technique, and compared.  pyperf times a fixed number of examples per
value; the figure is programs per second (1 / time per program).

    python benchmarks/fuzz_throughput.py -o results/fuzz_throughput.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyperf  # noqa: E402

from benchmarks.output import replace_on_success  # noqa: E402

from benchmarks.workloads import SPECS  # noqa: E402

TECHNIQUES = ("trap-and-emulate", "hybrid", "interpretation", "binary-translation", "paravirtualization")
EXAMPLES = 200

_setup = {}


def setup():
    if not _setup:
        from vverify.check.run import check_spec
        from vverify.fuzz import search
        from vverify.spec.loader import load_spec
        from vverify.vmm import translation_set

        spec = load_spec(SPECS / "riscv32" / "riscv32.toml")
        report = check_spec(spec)
        _setup.update(spec=spec, report=report, translate=translation_set(report), search=search)
        search(spec, "trap-and-emulate", examples=20, report=report, translate=_setup["translate"])  # warm up
    return _setup


def bench(loops, technique):
    s = setup()
    t = 0.0
    for i in range(loops):
        t0 = time.perf_counter()
        r = s["search"](s["spec"], technique, examples=EXAMPLES, seed=i, report=s["report"], translate=s["translate"])
        t += time.perf_counter() - t0
        assert not r.diverged and r.examples == EXAMPLES, (technique, r.examples)
    return t


def main():
    replace_on_success()
    runner = pyperf.Runner(values=3, processes=5)  # medians over 15 values: this machine is noisy
    runner.metadata["spec"] = "riscv32"
    runner.metadata["unit_of_value"] = "seconds per generated program (native run + virtualized run + comparison)"
    for t in TECHNIQUES:
        runner.bench_time_func(f"fuzz_{t}", bench, t, inner_loops=EXAMPLES)


if __name__ == "__main__":
    main()
