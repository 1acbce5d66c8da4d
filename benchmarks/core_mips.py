"""Guest MIPS on the RV32I loop: the compiled core, the reference interpreter and Unicorn.

All three run the same program in one pyperf run, so their ratio is measured
side by side.  Each value is the time per guest instruction.

    python benchmarks/core_mips.py -o results/core_mips.json

At the end it prints, and writes into the JSON's metadata (top-level
``metadata`` of the pyperf file, so ``json.load(f)["metadata"]`` reads them),
the figures a guard compares with committed ones: ``core_mips``,
``interpreter_mips``, ``unicorn_mips`` (medians) and ``core_vs_unicorn``,
``core_vs_interpreter`` (ratios of those medians, from the same run), with
the ``commit`` measured.  Ratios partly cancel the machine's noise; the
MIPS do not (pyperf's values are wall-clock).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyperf  # noqa: E402

from benchmarks.output import replace_on_success  # noqa: E402

from benchmarks.workloads import A0, LOOP_INSTRUCTIONS, SPECS, T0, riscv_loop, to_bytes  # noqa: E402

CORE_ITERATIONS = 2_000_000
INTERP_ITERATIONS = 200
UNICORN_ITERATIONS = 200_000


def spec():
    from vverify.spec.loader import load_spec

    return load_spec(SPECS / "riscv32" / "riscv32.toml")


def bench_core(loops, iterations):
    from vverify.core import Core

    s = spec()
    core = Core(s)
    core.write_memory(0, list(to_bytes(riscv_loop(s))))
    return time_loop(core, loops, iterations)


def time_loop(core, loops, iterations) -> float:
    """Seconds ``core`` takes for ``loops`` runs of the loop at 0, ``iterations`` times each, to its ecall."""
    core.run(1)  # compile (or load the compiled core) before timing
    t = 0.0
    for _ in range(loops):
        core.set_reg("pc", 0)
        core.F["x"][T0] = iterations
        core.F["x"][A0] = 0
        t0 = time.perf_counter()
        ex = core.run(10 ** 15, trap_exits="all")
        t += time.perf_counter() - t0
        assert ex.reason == "trap" and ex.steps == iterations * LOOP_INSTRUCTIONS, ex
    return t


def bench_interp(loops, iterations):
    from vverify.interp import initial_state, run

    s = spec()
    st = initial_state(s)
    for i, b in enumerate(to_bytes(riscv_loop(s))):
        st.mem[i] = b
    st.files["x"][T0] = iterations
    t = 0.0
    for _ in range(loops):
        t0 = time.perf_counter()
        _, ex = run(s, st, iterations * LOOP_INSTRUCTIONS + 1, trap_exits=frozenset(s.causes))
        t += time.perf_counter() - t0
        assert ex.reason == "trap" and ex.steps == iterations * LOOP_INSTRUCTIONS, ex
    return t


def bench_unicorn(loops, iterations):
    import unicorn
    from unicorn import riscv_const as rc

    code = to_bytes(riscv_loop(spec()))
    mu = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    mu.mem_map(0, 0x10000)
    mu.mem_write(0, code)
    end = 4 * (len(code) // 4 - 1)  # the ecall
    t = 0.0
    for _ in range(loops):
        mu.reg_write(rc.UC_RISCV_REG_X5, iterations)
        mu.reg_write(rc.UC_RISCV_REG_X10, 0)
        t0 = time.perf_counter()
        mu.emu_start(0, end)
        t += time.perf_counter() - t0
        assert mu.reg_read(rc.UC_RISCV_REG_X5) == 0
    return t


def commit() -> str:
    """The checkout's commit (with ``+dirty`` if it has changes outside results/), or "unknown"."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
                               cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def figures(benchmarks: dict) -> dict:
    """The figures a guard compares: median MIPS of each engine and the core/Unicorn ratio (same run).

    ``benchmarks`` maps a benchmark name to its pyperf Benchmark (values:
    seconds per guest instruction).
    """
    mips, out = mips_of(benchmarks)
    if "core" in mips and "unicorn" in mips:
        out["core_vs_unicorn"] = round(mips["core"] / mips["unicorn"], 3)
    if "core" in mips and "interpreter" in mips:
        out["core_vs_interpreter"] = round(mips["core"] / mips["interpreter"], 1)
    return out


def mips_of(benchmarks: dict) -> tuple:
    """``({name: MIPS}, {"<name>_mips": rounded MIPS})`` from pyperf Benchmarks of seconds per guest instruction."""
    mips = {name: 1 / b.median() / 1e6 for name, b in benchmarks.items()}
    return mips, {f"{name}_mips": round(v, 2) for name, v in mips.items()}


def summarize(runner, done: dict, figures_of) -> None:
    """In pyperf's main process (a worker has a None among ``done``): print ``figures_of(done)`` and write
    them into the output JSON's metadata too, where a guard reads them."""
    if any(b is None for b in done.values()):
        return
    summary = figures_of(done)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    output = runner.args.output
    if output:
        suite = pyperf.BenchmarkSuite.load(output)
        for bench in suite.get_benchmarks():
            bench.update_metadata(summary)
        suite.dump(output, replace=True)


def main():
    replace_on_success()
    runner = pyperf.Runner()
    runner.metadata["spec"] = "riscv32"
    runner.metadata["workload"] = "rv32i 9-instruction loop (lw add slli xor sw addi andi addi bne)"
    runner.metadata["unit_of_value"] = "seconds per guest instruction"
    runner.metadata["commit"] = commit()
    done = {
        "core": runner.bench_time_func("core", bench_core, CORE_ITERATIONS,
                                       inner_loops=CORE_ITERATIONS * LOOP_INSTRUCTIONS),
        "interpreter": runner.bench_time_func("interpreter", bench_interp, INTERP_ITERATIONS,
                                              inner_loops=INTERP_ITERATIONS * LOOP_INSTRUCTIONS),
        "unicorn": runner.bench_time_func("unicorn", bench_unicorn, UNICORN_ITERATIONS,
                                          inner_loops=UNICORN_ITERATIONS * LOOP_INSTRUCTIONS),
    }
    summarize(runner, done, figures)


if __name__ == "__main__":
    main()
