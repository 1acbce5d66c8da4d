"""Micro-benchmarks of the emulation core's hot paths, with pytest-benchmark.

    pytest benchmarks/ --benchmark-only                      # run them
    pytest benchmarks/ --benchmark-only --benchmark-json=micro.json

Groups: ``decode`` (one instruction word to the pre-decoded form, compiled
and in the reference interpreter), ``step`` (guest instructions on the
core's run loop, and one interpreter step), ``translation-cache lookup``
(binary translation finding a block it has translated), ``exit round trip``
(a guest trap out of the compiled loop into Python and back, bare and
through a VMM).  They live outside ``tests/``, so a plain ``pytest`` never
runs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workloads import SPECS, riscv_ecall_loop, riscv_loop, to_bytes  # noqa: E402


@pytest.fixture(scope="module")
def spec():
    from vverify.spec.loader import load_spec

    return load_spec(SPECS / "riscv32" / "riscv32.toml")


@pytest.fixture(scope="module")
def loop_core(spec):
    from vverify.core import Core

    core = Core(spec)
    core.write_memory(0, list(to_bytes(riscv_loop(spec))))
    return core


# ------------------------------------------------------------------ decode


@pytest.mark.benchmark(group="decode")
def test_decode_compiled(benchmark, spec, loop_core):
    words = [np.uint64(w) for w in riscv_loop(spec)]
    decode, decf, row = loop_core.module.decode, loop_core.DECF, np.uint64(0)

    def run():
        for w in words:
            decode(w, decf, row)

    benchmark(run)
    assert decode(words[0], decf, row) != 0


@pytest.mark.benchmark(group="decode")
def test_decode_reference_interpreter(benchmark, spec):
    from vverify.spec.decode import decode

    words = riscv_loop(spec)
    benchmark(lambda: [decode(spec, w) for w in words])
    assert decode(spec, words[0])[0] == "lw"


# ------------------------------------------------------------------ step


@pytest.mark.benchmark(group="step")
def test_step_core_10k_instructions(benchmark, loop_core):
    """10,000 guest instructions of the 9-instruction loop on the compiled core (pre-decoded)."""
    core = loop_core
    t0 = core.layout.reg_index["pc"]
    x5 = core.layout.file_offset["x"] + 5

    def run():
        core.R[t0] = 0
        core.R[x5] = 1 << 30  # the loop counter: never reaches the ecall
        return core.run_raw(10_000, 0)

    benchmark(run)


@pytest.mark.benchmark(group="step")
def test_step_reference_interpreter(benchmark, spec):
    from vverify.interp import initial_state, step_once

    st = initial_state(spec)
    for a, b in enumerate(to_bytes(riscv_loop(spec))):
        st.mem[a] = b
    st.files["x"][5] = 1 << 20

    benchmark(lambda: step_once(spec, st))


# ------------------------------------------------------------------ translation cache


@pytest.mark.benchmark(group="translation-cache lookup")
def test_translation_cache_hit(benchmark):
    """Binary translation finding a translated guest-kernel block again (a hit, words checked)."""
    from vverify import guests as G
    from vverify.bench import workloads as W
    from vverify.spec.loader import load_spec
    from vverify.vmm import BinaryTranslation

    spec = load_spec(SPECS / "pg74.toml")
    prog = W.build(spec, "cr8wr", 10)
    vmm = BinaryTranslation(spec, G.boot_state(spec, prog), translate={"supervisor": frozenset({"setr"})})
    pc = prog.symbols["b_loop"]
    vmm.lookup(pc, 0, None)  # translate it once (guest supervisor mode)
    benchmark(lambda: vmm.lookup(pc, 0, None))
    assert vmm.counters.tc_hits >= 1 and vmm.counters.translations == 1


# ------------------------------------------------------------------ exit round trip


@pytest.mark.benchmark(group="exit round trip")
def test_exit_round_trip_core(benchmark, spec):
    """``ecall; jal x0, -4``: the core exits on the ecall, Python steps over it, the core is entered again."""
    from vverify.core import Core

    core = Core(spec)
    core.write_memory(0, list(to_bytes(riscv_ecall_loop(spec))))
    mask = core.trap_mask(["ecall_from_m"])
    pc = core.layout.reg_index["pc"]
    core.R[pc] = 0
    run, R = core.run_raw, core.R

    def trip():
        run(1000, mask)
        R[pc] += 4

    benchmark(trip)


@pytest.mark.benchmark(group="exit round trip")
def test_exit_round_trip_trap_and_emulate(benchmark):
    """One guest system call under trap-and-emulate: trap out, dispatch, emulate, reflect, resume."""
    from vverify import guests as G
    from vverify.bench import workloads as W
    from vverify.spec.loader import load_spec
    from vverify.vmm import TrapAndEmulate

    spec = load_spec(SPECS / "pg74.toml")
    guest = G.boot_state(spec, W.build(spec, "syscall", 60_000))  # pg74's words are 16 bits
    vmm = TrapAndEmulate(spec, guest)
    vmm.run(200)  # past the boot, into the loop

    # one iteration of the syscall loop: 25 guest instructions, 2 traps; rounds bounded by the loop's 60,000
    benchmark.pedantic(lambda: vmm.run(25), rounds=2000, iterations=1, warmup_rounds=10)
    assert vmm.counters.traps["svc"] > 0
