"""The core's speed with paging on against paging off, on the RV32I loop of core_mips.py.

One riscv32_sv32 core runs the same loop twice per round, side by side in
one pyperf run: in M-mode, untranslated (``off``), and in S-mode with Sv32
on, code and data on one identity-mapped 4 KiB page (``on``), where every
fetch and the loop's load and store go through the page walk.  The plain
riscv32 core (``riscv32``, no walk generated at all) runs it too, for
reference.  Each value is the time per guest instruction.

    python benchmarks/core_paging.py -o results/core_paging.json

It prints, and writes into the JSON's metadata, the medians in MIPS and
``on_vs_off`` (paging on ÷ paging off, from the same run), with the commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyperf  # noqa: E402

from benchmarks.core_mips import commit, mips_of, summarize, time_loop  # noqa: E402
from benchmarks.output import replace_on_success  # noqa: E402
from benchmarks.workloads import LOOP_INSTRUCTIONS, SPECS, riscv_loop, to_bytes  # noqa: E402

ITERATIONS = 1_000_000
ROOT_PAGE = 0x10  # the page tables: the root at physical 0x10000, the second level after it
# a leaf PTE's flags (privileged spec 4.3.1): V R W X, and A and D, which the spec's walker never sets
LEAF = 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80
MODES = {"off": 3, "on": 1}  # M-mode (untranslated), S-mode (translated)


def _word(core, addr: int, value: int):
    core.write_memory(addr, [(value >> (8 * k)) & 0xFF for k in range(4)])


def machine(name: str):
    """A core of ``name`` (riscv32 or riscv32_sv32) holding the loop at 0, with page 0 identity-mapped."""
    from vverify.core import Core
    from vverify.spec.loader import load_spec

    spec = load_spec(SPECS / "riscv32" / f"{name}.toml")
    core = Core(spec)
    core.write_memory(0, list(to_bytes(riscv_loop(spec))))
    if name == "riscv32_sv32":  # root[0] -> the second-level table, whose entry 0 maps page 0 to itself
        _word(core, ROOT_PAGE << 12, ((ROOT_PAGE + 1) << 10) | 0x1)
        _word(core, (ROOT_PAGE + 1) << 12, LEAF)
    return core


def bench(loops, iterations, name, paging):
    core = machine(name)
    core.set_reg("mode", MODES[paging])
    core.set_reg("satp", (1 << 31 | ROOT_PAGE) if paging == "on" else 0)
    return time_loop(core, loops, iterations)


def figures(benchmarks: dict) -> dict:
    mips, out = mips_of(benchmarks)
    out["on_vs_off"] = round(mips["paging_on"] / mips["paging_off"], 3)
    out["on_vs_riscv32"] = round(mips["paging_on"] / mips["riscv32"], 3)
    return out


def main():
    replace_on_success()
    runner = pyperf.Runner()
    runner.metadata["workload"] = "rv32i 9-instruction loop (lw add slli xor sw addi andi addi bne), as core_mips.py"
    runner.metadata["unit_of_value"] = "seconds per guest instruction"
    runner.metadata["commit"] = commit()
    n = ITERATIONS * LOOP_INSTRUCTIONS
    done = {
        "paging_off": runner.bench_time_func("paging_off", bench, ITERATIONS, "riscv32_sv32", "off", inner_loops=n),
        "paging_on": runner.bench_time_func("paging_on", bench, ITERATIONS, "riscv32_sv32", "on", inner_loops=n),
        "riscv32": runner.bench_time_func("riscv32", bench, ITERATIONS, "riscv32", "off", inner_loops=n),
    }
    summarize(runner, done, figures)


if __name__ == "__main__":
    main()
