"""Native execution: the guest owns the machine.  The reference for equivalence."""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core
from .base import VMM


class Native(VMM):
    technique = "native"
    summary = "the guest runs at its real privilege on bare metal; traps go to its own handler"
    requires = ()

    def __init__(self, spec, guest, params=None, core: Core | None = None):
        super().__init__(spec, guest, params)
        self.core = core or Core(spec)
        self.core.load_state(guest)
        self._default = guest.mem_default

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        core, steps = self.core, 0
        while steps < budget:
            ex = core.run(budget - steps, trap_exits="all")
            steps += ex.steps
            self.counters.direct += ex.steps
            if ex.reason != "trap":
                return self._exit(ex.reason, steps)
            if ex.cause in stop_on:
                return self._exit("stop", steps, ex.cause)
            # record the trap, then let the guest's own handler take it (one step)
            self.trace.append((ex.cause, core.reg("pc")))
            self.counters.reflected[ex.cause] += 1
            ex1 = core.run(1, trap_exits=set(self.spec.causes) - {ex.cause})
            steps += ex1.steps
            self.counters.direct += ex1.steps
            if ex1.reason not in ("budget",):
                return self._exit(ex1.reason, steps)
        return self._exit("budget", steps)

    def guest_state(self):
        return self.core.to_state(default=self._default)

    def guest_memory(self):
        return self.core.MEM

    def guest_registers(self):
        c = self.core
        regs = {n: c.reg(n) for n in self.spec.registers}
        return regs, {n: c.F[n][:f.count].tolist() for n, f in self.spec.files.items()}
