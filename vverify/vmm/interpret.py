"""Interpretation: the VMM runs guest instructions through its interpreter routines.

``FullInterpretation`` interprets everything (the Bochs baseline): correct
on any ISA, and the slowest.  ``Hybrid`` is Popek & Goldberg's hybrid VMM
(Theorem 3): it interprets all virtual-supervisor code and runs
virtual-user code directly, so it is correct whenever every user-sensitive
instruction is privileged.
"""

from __future__ import annotations

from ..core import Core
from ..interp import step_once
from .base import VMM, GuestExit, PlacedGuest, guest_mode_is_user
from .trap_emulate import TrapAndEmulate


def interpret(vmm, budget: int, until_user: bool, stop_on=frozenset()) -> GuestExit:
    """Interpret guest instructions on the virtual state (memory copy-on-write over the core)."""
    g = vmm.g
    st = g.view()
    steps = 0
    reason = "budget"
    while steps < budget:
        if until_user and guest_mode_is_user(vmm.spec, st.regs["mode"]):
            break
        nxt, step = step_once(vmm.spec, st)
        if step.kind in ("illegal", "double_fault", "hypercall", "vmexit"):
            reason = step.kind
            break
        if step.kind == "trap" and step.cause in stop_on:
            vmm.counters.emulated += steps
            g.commit(st)
            return GuestExit("stop", steps, cause=step.cause)
        steps += 1
        if step.kind == "trap":
            vmm.trace.append((step.cause, st.regs["pc"]))
            vmm.counters.reflected[step.cause] += 1
        st = nxt
        if step.kind == "halt":
            reason = "halt"
            break
    vmm.counters.emulated += steps
    g.commit(st)
    return GuestExit(reason, steps)


class FullInterpretation(VMM):
    technique = "interpretation"
    summary = "every guest instruction is interpreted on the virtual state"
    requires = ("virtualization map",)

    def __init__(self, spec, guest, params=None, core: Core | None = None):
        super().__init__(spec, guest, params)
        self.g = PlacedGuest(spec, guest, self.params, core)

    def run(self, budget: int, stop_on=frozenset()) -> GuestExit:
        done = interpret(self, budget, until_user=False, stop_on=stop_on)
        return self._exit(done.reason, done.steps, done.cause)

    def guest_state(self):
        return self.g.snapshot()

    def guest_memory(self):
        return self.g.memory()


class Hybrid(TrapAndEmulate):
    technique = "hybrid"
    summary = "virtual-supervisor code is interpreted; virtual-user code runs directly"
    requires = ("virtualization map", "theorem3")

    def run(self, budget: int, stop_on=frozenset()) -> GuestExit:
        self.stop_on = stop_on
        steps = 0
        while steps < budget:
            if not guest_mode_is_user(self.spec, self.g.virtual["mode"]):
                done = interpret(self, budget - steps, until_user=True, stop_on=stop_on)
                steps += done.steps
                if done.reason != "budget":
                    return self._exit(done.reason, steps, done.cause)
                continue
            n, end, _ = self.direct(budget - steps)
            steps += n
            if end is not None:
                return self._exit(end.reason, steps, end.cause)
        return self._exit("budget", steps)
