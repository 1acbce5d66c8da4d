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
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load
from tests.strategies import running_states
from vverify.asm import assemble
from vverify.core import Core
from vverify.interp import initial_state
from vverify.interp import run as interp_run

_core = {}


def _machine(program: str, jit: bool = True):
    spec = load("lang")
    if jit not in _core:
        _core[jit] = Core(spec, jit=jit)
    c = _core[jit]
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


BUILDS = pytest.mark.parametrize("jit", [True, False], ids=["numba", "python"])  # the core in both builds


@BUILDS
def test_the_machines_own_run_reads_its_own_copy(jit):
    spec, c = _machine("getsp\naddsp 9", jit)
    assert not c.R[c.layout.bank_base:].any()  # load_state: no guest's copies to exchange
    ex = c.run(10)
    assert ex.reason == "illegal" and c.reg("acc") == 0x200 and c.reg("sp_usr") == 0x209


@BUILDS
def test_a_placed_run_reaches_the_guests_copy_and_leaves_the_guests_arrangement(jit):
    spec, c = _machine("getsp\naddsp 9", jit)
    _slots(spec, c, "sp_sup", "sp_usr")  # the guest is in sup; the real machine runs in usr
    ex = c.run(10)
    assert ex.reason == "illegal" and ex.steps == 2
    assert c.reg("acc") == 0x100  # sp, in real usr mode, was the guest's sp_sup
    assert (c.reg("sp_sup"), c.reg("sp_usr"), c.reg("sp_irq")) == (0x109, 0x200, 0x300)


@BUILDS
@pytest.mark.parametrize("a,b", [(10_000, 3), (3, 1 << 40)])
def test_slots_past_the_registers_exchange_nothing(a, b, jit):
    spec, c = _machine("getsp", jit)
    k = c.layout.bank_base
    c.R[k], c.R[k + 1] = np.uint64(a), np.uint64(b)
    before = c.R[:c.layout.st_base].copy()
    c.run(1)
    assert c.reg("acc") == 0x200
    assert np.array_equal(np.delete(c.R[:c.layout.st_base], [c.layout.reg_index[n] for n in ("acc", "pc")]),
                          np.delete(before, [c.layout.reg_index[n] for n in ("acc", "pc")]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_plain_python_build_runs_the_language_spec_as_the_interpreter_does(data):
    """The agreement tests run the numba build; the plain-Python one generates the same source."""
    spec = load("lang")
    if "py" not in _core:
        _core["py"] = Core(spec, jit=False)
    c = _core["py"]
    s = data.draw(running_states(spec))
    budget = data.draw(st.integers(1, 40))
    want, want_exit = interp_run(spec, s, budget)
    c.load_state(s)
    got_exit = c.run(budget)
    got = c.to_state(default=s.mem_default)
    assert (got_exit.reason, got_exit.steps) == (want_exit.reason, want_exit.steps)
    assert got.regs == want.regs and got.files == want.files and got.normalized_mem() == want.normalized_mem()
