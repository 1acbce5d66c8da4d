"""The compiled core and the interpreter agree on the boundary program, counters and device windows
(docs/interrupts.md, section 2.3, in its simple form: the boundary runs before every instruction and
counters advance eagerly), on tests/agreement/data/lang_irq.toml.

Random programs on random states, as tests/agreement/test_core_vs_interp.py runs every spec, with
the timer's compare near the counter and a pointer at the window often enough that deliveries,
shadows, vmexits and device accesses happen; and programs whose interrupts fall at known steps.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings, strategies as st

from tests.agreement.same_run import assert_core_runs_as_interpreter
from tests.agreement.test_z3_vs_interp_irq import irq_states
from tests.conftest import load
from tests.strategies import place, programs
from vverify.asm import assemble
from vverify.core import Core
from vverify.interp import initial_state

SPEC = "lang_irq"


@pytest.fixture(scope="module")
def core():
    return Core(load(SPEC))


@st.composite
def running_irq_states(draw, spec):
    s = draw(irq_states(spec))
    s.mem = {a: v for a, v in s.mem.items() if a < spec.memory.size}
    place(spec, s, draw(programs(spec)))
    if draw(st.booleans()):  # a handler where the trap entry goes, so runs go on after a delivery
        s.mem.update(assemble(spec, ".org 0x100\n rti").memory)
    return s


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_core_matches_interpreter_with_interrupts(core, data):
    spec = load(SPEC)
    s = data.draw(running_irq_states(spec), label="state and program")
    causes = sorted(spec.causes)
    policy = data.draw(st.sampled_from(["none", "all", "some"]), label="trap policy")
    exits = {"none": set(), "all": set(causes)}.get(policy) or set(data.draw(st.sets(st.sampled_from(causes))))
    budget = data.draw(st.integers(1, 60), label="budget")
    want = assert_core_runs_as_interpreter(core, spec, s, budget, exits)
    event(f"exit: {want.reason} {want.cause or ''}")


@pytest.mark.parametrize("start,compare", [(0, 5), (3, 4), (0, 1), (1000, 1017)])
def test_a_deadline_falls_at_the_same_step_on_the_core(core, start, compare):
    spec = load(SPEC)
    s = initial_state(spec)
    s.regs.update(ien=1, tick=start, tcmp=compare)
    s.mem.update(assemble(spec, "top: addi 1\n jmp top\n .org 0x100\n h: jmp h").memory)
    want = assert_core_runs_as_interpreter(core, spec, s, compare - start + 3, set())
    assert want.reason == "budget"
    # and left to the caller: the run stops at the delivery, with the state as before its boundary
    want = assert_core_runs_as_interpreter(core, spec, s, 100, {"timer"})
    assert (want.reason, want.cause, want.steps) == ("trap", "timer", compare - start)


def test_a_delivery_the_trace_has_no_room_for_exits_before_its_boundary(core):
    """A VMM's trace (Core.record_traps) that is full exits before the delivery, precisely: the state
    is the interpreter's one step before it, what the boundary wrote (the pending bit it cleared) put back."""
    from vverify.interp import run as interp_run

    spec = load(SPEC)
    s = initial_state(spec)
    s.regs.update(mode=spec.modes["usr"], tick=5, tcmp=0)  # the timer is due at once
    s.mem.update(assemble(spec, "top: addi 1\n jmp top\n .org 0x100\n setswi\n rti").memory)
    core.load_state(s)
    core.record_traps(1)
    try:
        ex = core.run(50)
    finally:
        core.record_traps(0)
    assert (ex.reason, ex.cause) == ("trace_full", "soft")  # the timer was recorded, the software interrupt is next
    want, _ = interp_run(spec, s, ex.steps)
    got = core.to_state(default=s.mem_default)
    assert got.regs == want.regs and got.regs["swi"] == 1
