"""The core's run exchanges a placed guest's banked copies on its way in and out.

A VMM that runs a guest's supervisor code in real user mode writes, in R's
bank slots (codegen.Layout.bank_base), the copy the guest's mode selects and
the copy the real mode selects (vverify.vmm.registers.bank_pairs); the run
exchanges them, so the real machine reaches the guest's current copy, and
exchanges them back before it returns, so every other reader of R sees the
guest's arrangement (vverify.spec.banks).  The machine's own runs have equal
slots and exchange nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load
from vverify.asm import assemble
from vverify.core import Core
from vverify.interp import initial_state

_core = {}


def _machine(program: str):
    spec = load("lang")
    if "c" not in _core:
        _core["c"] = Core(spec)
    c = _core["c"]
    s = initial_state(spec)
    s.regs.update(mode=spec.modes["usr"], sp_sup=0x100, sp_usr=0x200, sp_irq=0x300)
    for a, v in assemble(spec, program).memory.items():
        s.mem[a] = v
    c.load_state(s)  # an undecodable word (0) ends the program
    return spec, c


def _slots(spec, c, a, b):
    k = list(spec.banks).index("sp")
    i = c.layout.bank_base + 2 * k
    c.R[i], c.R[i + 1] = c.layout.reg_index[a], c.layout.reg_index[b]


def test_the_machines_own_run_reads_its_own_copy():
    spec, c = _machine("getsp\naddsp 9")
    assert not c.R[c.layout.bank_base:].any()  # load_state: no guest's copies to exchange
    ex = c.run(10)
    assert ex.reason == "illegal" and c.reg("acc") == 0x200 and c.reg("sp_usr") == 0x209


def test_a_placed_run_reaches_the_guests_copy_and_leaves_the_guests_arrangement():
    spec, c = _machine("getsp\naddsp 9")
    _slots(spec, c, "sp_sup", "sp_usr")  # the guest is in sup; the real machine runs in usr
    ex = c.run(10)
    assert ex.reason == "illegal" and ex.steps == 2
    assert c.reg("acc") == 0x100  # sp, in real usr mode, was the guest's sp_sup
    assert (c.reg("sp_sup"), c.reg("sp_usr"), c.reg("sp_irq")) == (0x109, 0x200, 0x300)


@pytest.mark.parametrize("a,b", [(10_000, 3), (3, 1 << 40)])
def test_slots_past_the_registers_exchange_nothing(a, b):
    spec, c = _machine("getsp")
    k = c.layout.bank_base
    c.R[k], c.R[k + 1] = np.uint64(a), np.uint64(b)
    before = c.R[:c.layout.st_base].copy()
    c.run(1)
    assert c.reg("acc") == 0x200
    assert np.array_equal(np.delete(c.R[:c.layout.st_base], [c.layout.reg_index[n] for n in ("acc", "pc")]),
                          np.delete(before, [c.layout.reg_index[n] for n in ("acc", "pc")]))
