"""Interpretation: the VMM runs guest instructions through its interpreter routines.

``FullInterpretation`` interprets everything (the Bochs baseline): correct
on any ISA, and the slowest.  ``Hybrid`` is Popek & Goldberg's hybrid VMM
(Theorem 3): it interprets all virtual-supervisor code and runs
virtual-user code directly, so it is correct whenever every user-sensitive
instruction is privileged.
"""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core
from .base import VMM, PlacedGuest, guest_mode_is_user
from .trap_emulate import TrapAndEmulate


def interpret(vmm, budget: int, until_user: bool, stop_on=frozenset()) -> Exit:
    """Interpret guest instructions on the virtual state (see :meth:`vverify.vmm.emulation.Emulator.run`)."""
    return vmm.g.emulator().run(vmm, budget, until_user, stop_on)


class FullInterpretation(VMM):
    technique = "interpretation"
    summary = "every guest instruction is interpreted on the virtual state"
    requires = ("virtualization map",)

    def __init__(self, spec, guest, params=None, core: Core | None = None):
        super().__init__(spec, guest, params)
        self.g = PlacedGuest(spec, guest, self.params, core)

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
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
    mmu_kinds = ()  # user code runs on the guest's own tables, as natively

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
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
