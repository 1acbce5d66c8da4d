"""The code-write generation (codegen.Layout.code_gen): every write that may change decoded code
advances it, and nothing else does.  Binary translation's compiled loop trusts a block checked at
the current generation without comparing its code again, so a write that changed code without
advancing it would let a stale translation run."""

import numpy as np

from tests.conftest import load
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.core import Core

DATA = 0x8400  # where riscv32's compute workload stores (specs/riscv32/bench/compute.s)


def booted(n=50):
    spec = load("riscv32")
    core = Core(spec)
    core.load_state(G.boot_state(spec, W.build(spec, "compute", n)))
    return spec, core


def test_data_stores_leave_it_and_stores_to_code_pages_advance_it():
    spec, core = booted()
    g0 = core.code_generation()
    ex = core.run(300)
    assert ex.steps == 300 and core.code_generation() == g0  # the loop stored ~30 times, to data
    core._mark_code_pages(DATA)  # as if code had been decoded there
    core.run(100)
    assert core.code_generation() > g0


def test_the_hosts_writes_advance_it():
    spec, core = booted()
    steps = [
        lambda: core.invalidate(0x10, 0x14),
        lambda: core.write_memory(0x8000, [1, 2]),
        lambda: core.flush_code_cache(),
        lambda: core.load_image(np.where(np.arange(len(core.MEM)) == 3, 7, core.MEM).astype(core.MEM.dtype)),
    ]
    for step in steps:
        before = core.code_generation()
        step()
        assert core.code_generation() > before
    before = core.code_generation()
    core.load_image(core.MEM.copy())  # nothing changed: nothing to forget
    assert core.code_generation() == before
