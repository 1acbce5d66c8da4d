"""The cost of one exit round trip: guest trap -> Python -> resume.

The guest is ``ecall; jal x0, -4``; the core returns on the ecall, the
trivial handler steps pc over it, and the core is entered again.  Each value
is the time of one round trip (two guest instructions, one exit, one entry).
Measured through the raw entry point (what a VMM's hot loop calls) and
through Core.run (which builds an exit record).

    python benchmarks/core_exit.py -o results/core_exit.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyperf  # noqa: E402

from benchmarks.output import replace_on_success  # noqa: E402

from benchmarks.workloads import SPECS, riscv_ecall_loop, to_bytes  # noqa: E402


def make_core():
    from vverify.core import Core
    from vverify.spec.loader import load_spec

    s = load_spec(SPECS / "riscv32" / "riscv32.toml")
    core = Core(s)
    core.write_memory(0, list(to_bytes(riscv_ecall_loop(s))))
    core.run(1)
    return core


def bench_raw(loops):
    core = make_core()
    mask = core.trap_mask(["ecall_from_m"])
    R = core.R
    pc = core.layout.reg_index["pc"]
    run = core.run_raw
    R[pc] = 0
    t0 = time.perf_counter()
    for _ in range(loops):
        run(1000, mask)
        R[pc] += 4  # the handler: skip the ecall
    return time.perf_counter() - t0


def bench_run(loops):
    core = make_core()
    core.set_reg("pc", 0)
    t0 = time.perf_counter()
    for _ in range(loops):
        ex = core.run(1000, trap_exits=("ecall_from_m",))
        core.set_reg("pc", core.reg("pc") + 4)
    assert ex.cause == "ecall_from_m"
    return time.perf_counter() - t0


def main():
    replace_on_success()
    runner = pyperf.Runner()
    runner.metadata["spec"] = "riscv32"
    runner.metadata["workload"] = "ecall; jal x0, -4 with a handler that skips the ecall"
    runner.bench_time_func("exit_round_trip_raw", bench_raw)
    runner.bench_time_func("exit_round_trip_core_run", bench_run)


if __name__ == "__main__":
    main()
