"""Native execution: the guest owns the machine.  The reference for equivalence."""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core
from ..core.protocol import REASONS, R_TRACE_FULL, R_TRAP, ST_CAUSE, ST_STEPS, TRACE_ENTRIES
from .base import VMM


class Native(VMM):
    """The guest runs on the core as on bare metal: its traps go to its own handler inside
    the compiled run loop, which records each one (cause, pc of the trapping instruction) in
    the core's trace buffer (:meth:`vverify.core.Core.record_traps`).  Control comes back to
    Python only when the run ends, or when the buffer is full (``trace_full``): then the
    trace is drained and the run goes on, so memory stays bounded and the trace exact.
    """

    technique = "native"
    summary = "the guest runs at its real privilege on bare metal; traps go to its own handler"
    requires = ()
    trace_capacity = TRACE_ENTRIES  # delivered traps the core holds before returning to be drained

    def __init__(self, spec, guest, params=None, core: Core | None = None):
        super().__init__(spec, guest, params)
        self.core = core or Core(spec)
        self.core.load_state(guest)
        self._default = guest.mem_default

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
        core, steps = self.core, 0
        # a cause in stop_on ends the run before delivery: it is the only trap that exits
        mask = core.trap_mask([c for c in stop_on if c in self.spec.causes])
        core.record_traps(self.trace_capacity)
        try:
            while True:
                reason = core.run_raw(budget - steps, mask)
                n = int(core.ST[ST_STEPS])
                steps += n
                self.counters.direct += n
                self._take_delivered(core)
                if reason == R_TRACE_FULL:  # drained: go on (the trap was not taken, it comes again)
                    continue
                if reason == R_TRAP:
                    return self._exit("stop", steps, core.cause_names[int(core.ST[ST_CAUSE])])
                return self._exit(REASONS[reason], steps)
        finally:
            core.record_traps(0)

    def guest_state(self):
        return self.core.to_state(default=self._default)

    def guest_memory(self):
        return self.core.MEM

    def guest_registers(self):
        c, spec = self.core, self.spec
        index = c.layout.reg_index
        real = c.R.tolist()  # one conversion, not one checked read per register
        regs = {n: real[index[n]] for n in spec.registers}
        return regs, {n: c.F[n][:f.count].tolist() for n, f in spec.files.items()}
