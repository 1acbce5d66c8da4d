"""Trap-and-emulate: the classic VMM of Popek & Goldberg's Theorem 1.

Guest code, supervisor and user alike, runs directly on the real machine,
deprivileged and placed by the spec's virtualization map.  Every trap comes
to the VMM's dispatcher; the VMM emulates the trapping instruction on the
guest's virtual state with its interpreter routines (the spec's semantics),
which also delivers the traps the guest itself should see to the guest's
own handler (reflection).  Correct exactly when every instruction that is
unsafe under the map traps: Theorem 1.
"""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core
from .base import VMM, PlacedGuest


class TrapAndEmulate(VMM):
    technique = "trap-and-emulate"
    summary = "all guest code runs directly, deprivileged; every trap is emulated on the virtual state"
    requires = ("virtualization map", "theorem1")

    def __init__(self, spec, guest, params=None, core: Core | None = None):
        super().__init__(spec, guest, params)
        self.g = PlacedGuest(spec, guest, self.params, core)

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
        self.stop_on = stop_on
        steps = 0
        while steps < budget:
            n, end, _ = self.direct(budget - steps)
            steps += n
            if end is not None:
                return self._exit(end.reason, steps, end.cause)
        return self._exit("budget", steps)

    def direct(self, budget: int):
        """Run guest code directly on the real core until it exits, then dispatch the exit.

        Returns ``(guest steps, an Exit if the guest's run ended else None,
        whether the core exited before the budget)``.
        """
        return self.dispatch(self.g.core.run(budget, trap_exits="all"))

    def dispatch(self, ex):
        """The dispatcher: account for one exit of the real core and serve it (see :meth:`direct`)."""
        self.counters.direct += ex.steps
        self.counters.exits[ex.reason] += 1
        if ex.reason == "budget":
            return ex.steps, None, False
        if ex.reason in ("halt", "hypercall", "vmexit"):  # no hypervisor service here: the run ends
            return ex.steps, Exit(ex.reason), True
        if ex.reason == "trap":
            self.counters.traps[ex.cause] += 1
        done = self.emulate()  # the dispatcher: the instruction at pc, on the virtual state
        return ex.steps + done.steps, (done if done.reason != "budget" else None), True

    def emulate(self) -> Exit:
        """One guest instruction through the interpreter routines (vverify.vmm.emulation)."""
        return self.g.emulator().run(self, 1, stop_on=self.stop_on)

    def guest_state(self):
        return self.g.snapshot()

    def guest_memory(self):
        return self.g.memory()
