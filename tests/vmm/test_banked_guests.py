"""Guests with banked registers run under every VMM technique as they run on bare metal.

The language spec (tests/agreement/data/lang.toml) banks ``sp`` per mode (and
``r[3]`` is ``sp``); its map runs every guest mode in real user mode.  A guest
kernel that moves its stack pointer, enters user mode, takes system calls
and returns from them runs its supervisor code directly in real user mode,
so each placement must put the guest's current copy where the real machine
looks, and move it again when the guest's mode changes
(vverify.spec.banks): the compiled loops do it after each placement, the
Python paths in PlacedGuest.place, the core's run in between.
"""

from __future__ import annotations

import pytest

from tests.conftest import load
from vverify.asm import assemble
from vverify.core import Core
from vverify.fuzz.equivalence import compare_views, run_pair
from vverify.interp import initial_state
from vverify.vmm import TECHNIQUES, Native, TrapAndEmulate

KERNEL = """
        .org 0
        addsp 100               # sup's sp
        getsp
        st 0x300
        mov r1, r3, 0           # r3 is sp
        li 1
        setem                   # rti returns to usr ...
        li user
        setlr                   # ... at user (sup shares usr's lr)
        rti
user:   addsp 5                 # usr's sp
        getsp
        st 0x301
        mov r2, r3, 0
        svc 1                   # the entry runs in sup: lr = the next pc
        getsp
        st 0x302
        mov r3, r1, 0
        svc 2
        .org 0x100
        getsp                   # sup's sp again
        st 0x303
        getlr
        st 0x304
        addsp 9
        mov r0, r3, 0
        ld 0x305
        jz first
        halt
first:  li 1
        st 0x305
        rti
"""


def _guest(spec):
    g = initial_state(spec)
    for a, v in assemble(spec, KERNEL).memory.items():
        g.mem[a] = v
    g.regs.update(sp_sup=0x200, sp_usr=0x210, sp_irq=0x220)
    return g


TESTED = [t for t, cls in TECHNIQUES.items() if "hardware assist" not in cls.requires]


@pytest.mark.parametrize("technique", TESTED)
def test_a_banked_guest_runs_as_on_bare_metal(technique):
    spec = load("lang")
    c = run_pair(spec, technique, _guest(spec), 200)
    assert c.native_exit.reason == "halt" and c.native_exit.steps == 38
    assert c.equal, c.differences
    if technique != "interpretation":
        assert c.counters["direct"] > 0


@pytest.mark.parametrize("compiled", [True, False])
def test_the_compiled_and_the_python_dispatcher_move_the_copies(compiled):
    spec = load("lang")
    native = Native(spec, _guest(spec), core=Core(spec))
    n = native.run(200)
    vmm = TrapAndEmulate(spec, _guest(spec), core=Core(spec), compiled=compiled)
    v = vmm.run(200)
    assert vmm.path == ("compiled" if compiled else "python") and vmm.counters.direct > 20
    assert compare_views(spec, native, vmm, n, v) == []


def test_without_moving_the_copies_the_guest_would_see_another_modes_sp():
    """The control: a placement that left the copies where they were runs the kernel's getsp on the
    real user copy, and the guest diverges from bare metal.  So the agreement above is the move's."""
    spec = load("lang")
    native = Native(spec, _guest(spec), core=Core(spec))
    n = native.run(200)
    vmm = TrapAndEmulate(spec, _guest(spec), core=Core(spec), compiled=False)
    vmm.g._banks = vmm.g._banks[:0]  # no bank table: place() never writes the slots
    vmm.g.core.R[vmm.g.core.layout.bank_base:] = 0
    v = vmm.run(200)
    assert any(d.startswith("sp_") or d.startswith("acc") for d in compare_views(spec, native, vmm, n, v))
