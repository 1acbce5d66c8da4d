"""The interpreter runs the boundary program, advances ``[time]`` counters and maps device windows
(docs/interrupts.md, section 2.1), on tests/agreement/data/lang_irq.toml.

Every expected value below follows from the language's rules and the spec's constants, not from a
run: a deadline ``tick >= tcmp`` with ``tick`` advancing once per step falls at step ``tcmp - tick``;
a trap does not retire; a window's offsets are its registers' little-endian units.
"""

from __future__ import annotations

import pytest

from tests.conftest import load
from vverify.asm import assemble
from vverify.interp import boundary, initial_state, run, step, step_once

DISARMED = 0xFFFFFFFF
TIMER, SOFT = 0x8001, 0x8002
BUS, BUS_STORE = 3, 4


@pytest.fixture(scope="module")
def spec():
    return load("lang_irq")


def machine(spec, program="", mode="sup", **regs):
    s = initial_state(spec)
    s.regs["mode"] = spec.modes[mode]
    s.regs.update(regs)
    if program:
        s.mem.update(assemble(spec, program).memory)
    return s


def steps_until(spec, s, n, trap_exits=frozenset()):
    out = []
    for _ in range(n):
        s, st = step_once(spec, s, trap_exits)
        out.append(st)
    return s, out


@pytest.mark.parametrize("start,compare", [(0, 5), (3, 4), (7, 7), (0, 1), (1000, 1017)])
def test_a_deadline_falls_at_the_step_its_constants_give(spec, start, compare):
    loop = "top: addi 1\n jmp top\n .org 0x100\n handler: jmp handler"
    s = machine(spec, loop, ien=1, tick=start, tcmp=compare)
    s, trace = steps_until(spec, s, compare - start + 3)
    delivered = [i for i, st in enumerate(trace) if st.kind == "trap"]
    assert delivered == [compare - start]  # the boundary before step (compare - start) sees tick == compare
    assert trace[compare - start].cause == "timer" and trace[compare - start].instruction is None
    assert s.regs["ecause"] == TIMER and s.regs["tcmp"] == DISARMED  # the boundary's own write was kept
    # every step advanced tick, the delivery included; only instructions retired
    assert s.regs["tick"] == start + len(trace) and s.regs["ret"] == len(trace) - 1


def test_a_deadline_already_due_falls_before_the_first_instruction(spec):
    s = machine(spec, "li 7", ien=1, tick=9, tcmp=4)
    s2, st = step_once(spec, s)
    assert st.kind == "trap" and st.cause == "timer" and s2.regs["acc"] == 0 and s2.regs["epc"] == 0
    assert s2.regs["pc"] == 0x100 and s2.regs["ien"] == 0 and s2.regs["emode"] == spec.modes["sup"]


def test_a_trap_leaves_retired_alone_and_advances_steps(spec):
    s = machine(spec, "svc 3", tick=10, ret=20)
    s2, out = step(spec, s, "svc", {"n": 3})
    assert out.kind == "trap" and s2.regs["ecause"] == 2
    assert s2.regs["tick"] == 11 and s2.regs["ret"] == 20
    s3, out = step(spec, s, "li", {"imm": 1})
    assert out.kind == "ok" and s3.regs["tick"] == 11 and s3.regs["ret"] == 21
    s4, out = step(spec, s, "halt", {})
    assert out.kind == "halt" and s4.regs["tick"] == 11 and s4.regs["ret"] == 21  # a halt retires


def test_an_instruction_reads_a_counter_before_its_own_step_and_a_write_then_advances(spec):
    s = machine(spec, tick=0x12345, ptr=0xF004, acc=0x10, acc2=0)
    s2, _ = step(spec, s, "rdt", {})
    assert (s2.regs["acc"], s2.regs["acc2"], s2.regs["tick"]) == (0x2345, 0x1, 0x12346)
    s3, _ = step(spec, s, "st2", {})  # writes tick through the window: the value written, then the step's +1
    assert s3.regs["tick"] == 0x11


def test_a_device_window_reads_and_writes_its_registers(spec):
    s = machine(spec, ptr=0xF000, tcmp=0xAABBCCDD, dev=0x1234)
    s2, out = step(spec, s, "ld2", {})
    assert out.kind == "ok" and (s2.regs["acc"], s2.regs["acc2"]) == (0xCCDD, 0xAABB)  # little-endian units
    s2, _ = step(spec, machine(spec, ptr=0xF002, dev=0x1234), "ld", {})
    assert s2.regs["acc"] == 0x1234
    s2, _ = step(spec, machine(spec, ptr=0xF001, acc=0x5555, tcmp=0xAABBCCDD), "st", {})
    assert s2.regs["tcmp"] == 0x5555CCDD and s2.mem == {}  # the upper unit of tcmp, and no memory
    s2, _ = step(spec, machine(spec, ptr=0xF002, acc=0x77), "st", {})
    assert s2.regs["dev"] == 0x77


def test_an_unmapped_offset_reads_zero_and_ignores_writes(spec):
    s = machine(spec, ptr=0xF003, acc=0x99, dev=5, tcmp=6, tick=7)
    s2, out = step(spec, s, "ld", {})
    assert out.kind == "ok" and s2.regs["acc"] == 0
    s2, out = step(spec, s, "st", {})
    assert out.kind == "ok" and s2.mem == {}
    assert (s2.regs["dev"], s2.regs["tcmp"], s2.regs["tick"]) == (5, 6, 8)


@pytest.mark.parametrize("ptr,instr,mode,cause", [
    (0xF000, "ld", "usr", BUS),  # the window is sup's only
    (0xF000, "st", "usr", BUS_STORE),  # and a store raises the store fault
    (0xF010, "ld", "sup", BUS),  # past the window: nothing there
    (0xF010, "st", "sup", BUS_STORE),
    (0xEFFF, "ld2", "sup", BUS),  # half in memory, half in the window
    (0xF00F, "st2", "sup", BUS_STORE),  # half in the window, half past it
])
def test_an_access_a_window_does_not_allow_faults(spec, ptr, instr, mode, cause):
    s = machine(spec, ptr=ptr, acc=1, mode=mode)
    s2, out = step(spec, s, instr, {})
    assert out.kind == "trap" and out.tval == ptr
    assert s2.regs["ecause"] == cause and s2.regs["dev"] == 0 and s2.regs["tcmp"] == DISARMED


def test_memory_below_the_window_is_still_memory(spec):
    s2, out = step(spec, machine(spec, ptr=0xEFFF, acc=0x42), "st", {})
    assert out.kind == "ok" and s2.mem == {0xEFFF: 0x42}


def test_ei_shadows_the_next_boundary_only(spec):
    """As x86's STI: enabling with the timer due delivers after the next instruction, not before it."""
    s = machine(spec, "ei\n li 1\n li 2\n li 3", tcmp=0, tick=10)
    s, trace = steps_until(spec, s, 3)
    assert [t.kind for t in trace] == ["ok", "ok", "trap"] and trace[2].cause == "timer"
    assert s.regs["epc"] == 2 and s.regs["shadow"] == 0


def test_user_mode_always_takes_interrupts(spec):
    s = machine(spec, "li 1", mode="usr", ien=0, swi=1)
    s2, st = step_once(spec, s)
    assert st.kind == "trap" and st.cause == "soft" and s2.regs["ecause"] == SOFT and s2.regs["swi"] == 0


def test_an_interrupt_left_to_the_caller_is_precise(spec):
    s = machine(spec, "li 1", mode="usr", swi=1, tick=4)
    s2, st = step_once(spec, s, frozenset({"soft"}))
    assert st.kind == "exit" and st.cause == "soft" and s2 == s  # swi still pending, nothing advanced
    s3, ex = run(spec, s, 10, frozenset({"soft"}))
    assert ex.reason == "trap" and ex.cause == "soft" and ex.steps == 0 and s3 == s


def test_a_boundary_vmexit_is_precise(spec):
    s = machine(spec, "li 1", vmx=1, tcmp=3, tick=3, ien=1)
    s2, st = step_once(spec, s)
    assert st.kind == "vmexit" and st.tval == 1 and s2 == s
    s3, out = boundary(spec, s)
    assert out.kind == "vmexit" and s3 == s


def test_an_instruction_that_traps_keeps_what_the_boundary_wrote(spec):
    # the boundary clears the shadow; di in user mode then traps: the shadow stays cleared either way
    s = machine(spec, "di", mode="usr", shadow=1)
    s2, st = step_once(spec, s)
    assert st.kind == "trap" and st.cause == "privileged" and s2.regs["shadow"] == 0
    s3, st = step_once(spec, s, frozenset({"privileged"}))
    assert st.kind == "exit" and s3.regs["shadow"] == 0 and s3.regs["pc"] == 0 and s3.regs["tick"] == 0


def test_wait_sleeps_until_the_deadline(spec):
    s = machine(spec, "wait\n li 1", ien=1, tcmp=500, tick=3)
    s, trace = steps_until(spec, s, 2)
    assert [t.kind for t in trace] == ["ok", "trap"] and trace[1].cause == "timer"
    assert s.regs["epc"] == 1 and s.regs["tick"] == 501  # slept to 500, then the delivery's step
    s, ex = run(spec, machine(spec, "wait", ien=0), 5)
    assert ex.reason == "halt"  # nothing could wake it


def test_the_boundary_function_delivers_on_what_it_wrote(spec):
    s = machine(spec, ien=1, tcmp=2, tick=2)
    s2, out = boundary(spec, s)
    assert out.kind == "interrupt" and out.cause == "timer"
    assert s2.regs["tcmp"] == DISARMED and s2.regs["pc"] == 0x100 and s2.regs["tick"] == 3 and s2.regs["ret"] == 0
    assert s2.regs["quiet"] == 0  # written only where nothing was delivered
    s3, out = boundary(spec, machine(spec, shadow=1, quiet=7))
    assert out.kind == "ok" and s3.regs["shadow"] == 0 and s3.regs["quiet"] == 8
