"""Several guests on one machine (vverify/vmm/shared.py): each behaves as if alone, none reaches another."""

import numpy as np
import pytest

from tests.conftest import load
from vverify import guests as G
from vverify.vmm import Native
from vverify.vmm.shared import SharedMachine


def program(value, loops):
    """Print ``value`` ``loops`` times through system calls, then exit."""
    return f"""
user_main:
        li    r1, {loops}
        li    r2, -1
        li    r0, {value}
again:  svc   1                 # putc
        svc   2                 # yield
        add   r1, minus_one
        jz    r1, done
        jmp   again
done:   svc   0
minus_one: .word 0xFFFF
"""


def alone(spec, guest, budget):
    n = Native(spec, guest)
    return n, n.run(budget)


def test_guests_time_share_one_core_and_each_sees_what_it_would_alone():
    spec = load("pg74_vt")
    guests = [G.boot_state(spec, G.build(spec, program(v, k))) for v, k in ((7, 3), (8, 5), (9, 2))]
    shared = SharedMachine(spec, guests, quantum=7)  # a short quantum: many switches mid-program
    ends = shared.run(5000)
    assert shared.switches > 3 * len(guests)
    size = shared.size
    for i, g in enumerate(guests):
        native, n_end = alone(spec, g, 5000)
        assert (ends[i].reason, ends[i].steps, ends[i].trace) == (n_end.reason, n_end.steps, n_end.trace)
        assert np.array_equal(shared.memory(i), native.guest_memory()[:size])
        assert not native.guest_memory()[size:].any()  # alone, the guest never used more than its allocation
        regs, files = shared.registers(i)
        n_regs, n_files = native.guest_registers()
        assert files == n_files and all(regs[r] == n_regs[r] for r in ("pc", "mode", "l", "b"))
    assert [G.read_output(spec, shared.memory(i)) for i in range(3)] == [[7] * 3, [8] * 5, [9] * 2]


def test_a_guest_reaching_beyond_its_allocation_is_stopped_and_the_others_are_untouched():
    spec = load("pg74_vt")
    greedy = G.boot_state(spec, G.build(spec, "user_main:\n        svc 3\n        svc 0\n",
                                        "sys_extra:\n        li r1, -2\n        ldx r0, r1\n        jmp k_return\n"))
    quiet = G.boot_state(spec, G.build(spec, program(5, 2)))
    shared = SharedMachine(spec, [greedy, quiet], quantum=5)
    ends = shared.run(5000)
    assert ends[0].reason == "allocation"  # it read guest storage 0xFFFE, beyond its allocation
    native, n_end = alone(spec, quiet, 5000)
    assert ends[1].reason == n_end.reason == "halt"
    assert np.array_equal(shared.memory(1), native.guest_memory()[:shared.size])


def test_a_map_that_cannot_confine_guests_is_refused():
    spec = load("pg74")
    g = G.boot_state(spec, G.build(spec, program(1, 1)))
    with pytest.raises(ValueError, match="cannot confine"):
        SharedMachine(spec, [g, g])
