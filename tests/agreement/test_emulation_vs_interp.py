"""The VMMs' interpreter routines (vverify.vmm.emulation) agree with the reference interpreter.

The routines run the core's compiled semantics on a placed guest's view:
real data bits, virtual control bits, and the guest's storage reached
through the placement's memory offset.  On random states and programs,
placed as a VMM places them, emulating must do exactly what the reference
interpreter does on the guest's view: the same end, the same steps, the
same traps delivered (cause and pc, in order), and the same registers,
files and memory afterwards.
"""

import numpy as np
import pytest
from hypothesis import event, given, strategies as st

from tests.conftest import LANGUAGE_SPECS, MACHINE_SPECS, load
from tests.strategies import running_states
from vverify.core import Core
from vverify.interp import step_once
from vverify.vmm.base import Counters, PlacedGuest, default_params, guest_mode_is_user

_cores: dict = {}


class _Recorder:
    """What Emulator.run reports into: a VMM's trace and counters."""

    def __init__(self):
        self.trace, self.counters = [], Counters()


def reference(spec, st, budget, until_user, stop_on):
    """The interpreter routines as the reference interpreter runs them, one step at a time."""
    trace, steps = [], 0
    while steps < budget:
        if until_user and guest_mode_is_user(spec, st.regs["mode"]):
            return st, "budget", steps, trace
        nxt, step = step_once(spec, st)
        if step.kind in ("illegal", "double_fault", "hypercall", "vmexit"):
            return st, step.kind, steps, trace
        if step.kind == "trap" and step.cause in stop_on:
            return st, "stop", steps, trace
        steps += 1
        if step.kind == "trap":
            trace.append((step.cause, st.regs["pc"]))
        st = nxt
        if step.kind == "halt":
            return st, "halt", steps, trace
    return st, "budget", steps, trace


@pytest.mark.parametrize("spec_name", [n for n in MACHINE_SPECS + LANGUAGE_SPECS if load(n).virtualization is not None])
@given(data=st.data())
def test_emulation_matches_the_reference_interpreter(spec_name, data):
    spec = load(spec_name)
    s = data.draw(running_states(spec), label="state and program")
    budget = data.draw(st.integers(1, 30), label="budget")
    until_user = data.draw(st.booleans(), label="until user mode")
    stop_on = frozenset(data.draw(st.sets(st.sampled_from(sorted(spec.causes)), max_size=2), label="stop on"))
    if spec_name not in _cores:
        _cores[spec_name] = Core(spec)
    g = PlacedGuest(spec, s, default_params(spec), _cores[spec_name])
    view = g.view()
    memory = g.memory().copy()

    want, reason, steps, trace = reference(spec, view, budget, until_user, stop_on)
    event(f"end: {reason}")
    got = g.emulator().run(rec := _Recorder(), budget, until_user, stop_on)

    assert (got.reason, got.steps, got.cause is not None) == (reason, steps, reason == "stop")
    assert rec.trace == trace
    assert rec.counters.emulated == steps
    if reason == "double_fault":  # the machine leaves the faulting entry's writes; the interpreter drops them
        return
    after = g.view()
    assert after.regs == want.regs
    assert after.files == want.files
    for a, v in want.mem.items():
        memory[a] = v
    assert np.array_equal(g.memory(), memory)
