"""Hardware-assisted virtualization: the guest runs in the ISA's non-root operation.

The spec's hardware-assist extension (a map with ``hardware_assist = true``,
such as ``specs/pg74/pg74_vt.toml``) gives the machine a non-root operation in
which the guest keeps its own privilege and its own copies of the control
state; the VMM owns only the registers the map relocates or shadows (the
non-root controls: nested relocation, exit controls).  Guest code, kernel
and user alike, runs directly, and guest traps go to the guest's own
handler in hardware.  Control returns to the VMM only on a VM exit the exit
controls select (``vmexit`` in the semantics).

The dispatcher handles an exit as a trap-and-emulate VMM handles a trap: it
runs the exiting instruction through the interpreter routines on the
guest's view, where the VMM's registers read as the guest set them (the
guest never entered non-root operation itself), so the instruction does
what it would have done on bare metal.  That is what KVM does for an exit
it does not hand to user space.

By default (``compiled``) the VM exits are served in compiled code
(:mod:`vverify.vmm.hardware_loop`), which hands back to :meth:`run` only what
it does not serve; :meth:`direct` is the Python path and the loop's
reference (tests/vmm/test_hardware_loop.py).
"""

from __future__ import annotations

import numpy as np

from ..spec.exits import Exit

from ..core import Core
from ..core.protocol import REASONS, ST_CAUSE, ST_TVAL, TRACE_ENTRIES
from .hardware_loop import (CAUSE, DIRECT, EMULATED, LAST, OVERFLOW, OVERFLOW_CAUSE, OVERFLOW_PC, RAN_OUT, RAW, SCALARS,
                            STEPS, STOP, TRACE_FULL, ExitLoop, loop_for)
from .trap_emulate import TrapAndEmulate


class HardwareAssisted(TrapAndEmulate):
    technique = "hardware-assisted"
    summary = "all guest code runs directly in non-root operation; only the selected events exit to the VMM"
    requires = ("hardware assist",)
    mmu_kinds = ()  # guests run in non-root operation; nested paging is its own design, not built yet
    trace_capacity = TRACE_ENTRIES  # delivered traps the core holds before returning to be drained
    compiled = True
    """Serve VM exits in the compiled loop (vverify.vmm.hardware_loop) where it applies; False runs
    :meth:`direct` below, the loop's reference (the constructor's ``compiled``)."""

    def __init__(self, spec, guest, params=None, core: Core | None = None, compiled: bool | None = None):
        super().__init__(spec, guest, params, core, compiled)
        self._held = [(n, self.g.core.layout.reg_index[n]) for n in spec.virtualization.guest_held(spec.registers)]
        self._reasons = _exit_reason_names(spec)
        # Sharing the machine with other guests (vverify.vmm.shared), the guest's storage is only
        # its allocation: an access beyond it is refused, not emulated on the host's storage.
        self.confined = False
        self._exit_loop = None

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        loop = self._compiled_loop(budget)
        if loop is None:
            return super().run(budget, stop_on)  # the Python path: direct() until the run ends
        self._start()
        self.stop_on = stop_on
        self.path = "compiled"
        core, c = self.g.core, self.counters
        scalars = np.zeros(SCALARS, dtype=np.int64)
        exits = np.zeros(loop.ncodes, dtype=np.int64)
        refused = self._refused_code if self.confined else -1
        end = None
        if budget > 0:  # nothing to run: as the Python path, never enter compiled code
            core.record_traps(self.trace_capacity)
            try:
                while int(scalars[STEPS]) < budget:
                    outcome = loop.run(budget, stop_on, refused, scalars, exits)
                    self._take_delivered(core)
                    if scalars[OVERFLOW]:  # a reflected trap that found the buffer full: the next entry
                        cause = loop.causes[int(scalars[OVERFLOW_CAUSE])]
                        self.trace.append((cause, int(scalars[OVERFLOW_PC]) & 0xFFFF_FFFF_FFFF_FFFF))
                        c.reflected[cause] += 1
                        scalars[OVERFLOW] = 0
                    if outcome == TRACE_FULL:  # drained: go on
                        continue
                    if outcome == RAN_OUT:
                        break
                    if outcome == STOP:
                        end = Exit("stop", loop.causes[int(scalars[CAUSE])])
                        break
                    if outcome != RAW:  # the emulation of a VM exit ended the run
                        end = Exit(REASONS[outcome])
                        break
                    # an exit the loop did not serve: what direct() does after the core returns
                    reason = REASONS[int(scalars[LAST])]
                    if reason == "trace_full":  # drained: go on
                        continue
                    self.sync()
                    if reason == "trap":
                        end = Exit("stop", loop.causes[int(core.ST[ST_CAUSE])])
                        break
                    if reason == "budget":
                        break
                    tval = int(core.ST[ST_TVAL])
                    why = self._reasons.get(tval, tval) if reason == "vmexit" else None
                    c.exits[reason if why is None else f"vmexit:{why}"] += 1
                    if self.confined and why == "ept_violation":
                        end = Exit("allocation")
                        break
                    if reason in ("halt", "hypercall", "illegal", "double_fault"):
                        end = Exit(reason)
                        break
                    done = self.emulate()
                    scalars[STEPS] += done.steps
                    if done.reason != "budget":
                        end = done
                        break
            finally:
                core.record_traps(0)
        c.direct += int(scalars[DIRECT])
        c.emulated += int(scalars[EMULATED])
        for code in np.flatnonzero(exits).tolist():
            c.exits[f"vmexit:{self._reasons.get(code, code)}"] += int(exits[code])
        steps = int(scalars[STEPS])
        if end is None:
            return self._exit("budget", steps)
        return self._exit(end.reason, steps, end.cause)

    def _compiled_loop(self, budget):
        """The compiled loop's driver for this guest, or None where the Python path must serve: not
        asked for; a subclass that changes how exits are served (``run``, ``direct``, ``dispatch``,
        ``emulate``, ``sync``) or a placed guest of a subclass; a core without compiled kernels; a
        budget past int64."""
        if not self._may_compile(budget, HardwareAssisted,
                                 ("run", "direct", "dispatch", "emulate", "sync", "_take_delivered")):
            return None
        if self._exit_loop is None:
            loop = loop_for(self.g.core, self.loop_defect)
            if loop is None:
                return None
            self._exit_loop = ExitLoop(self.g, loop, [i for _, i in self._held],
                                       max(self._reasons, default=-1) + 1)
        return self._exit_loop

    @property
    def _refused_code(self) -> int:
        """The exit reason code a confined guest's run ends on (``ept_violation``), or -1."""
        return next((code for code, name in self._reasons.items() if name == "ept_violation"), -1)

    def sync(self):
        """Read the guest's own control registers back from the machine (VT-x's VMCS guest-state area)."""
        real = self.g.core.R
        for n, i in self._held:
            self.g.virtual[n] = int(real[i])

    def direct(self, budget: int):
        """Run in non-root operation until a VM exit (or the budget), then dispatch the exit.

        The guest's traps go to its own handler inside the core's run loop, as the hardware
        would deliver them; the core records each (Core.record_traps) for the equivalence
        check, and only a cause in ``stop_on`` (the trap exit) or a full record returns here.
        """
        core, c = self.g.core, self.counters
        steps = 0
        stops = [x for x in self.stop_on if x in self.spec.causes]  # the only traps that exit
        core.record_traps(self.trace_capacity)
        try:
            while steps < budget:
                ex = core.run(budget - steps, trap_exits=stops)
                steps += ex.steps
                c.direct += ex.steps
                self._take_delivered(core)
                if ex.reason == "trace_full":  # drained: go on (the trap was not taken, it comes again)
                    continue
                self.sync()
                if ex.reason == "trap":  # only the causes in stop_on exit
                    return steps, Exit("stop", ex.cause), True
                if ex.reason == "budget":
                    return steps, None, False
                why = self._reasons.get(ex.tval, ex.tval) if ex.reason == "vmexit" else None
                c.exits[ex.reason if why is None else f"vmexit:{why}"] += 1
                if self.confined and why == "ept_violation":
                    return steps, Exit("allocation"), True
                if ex.reason in ("halt", "hypercall", "illegal", "double_fault"):
                    return steps, Exit(ex.reason, ex.cause), True
                done = self.emulate()  # the VM exit: the instruction at pc, on the guest's view
                return steps + done.steps, (done if done.reason != "budget" else None), True
        finally:
            core.record_traps(0)
        self.sync()
        return steps, None, False


def _exit_reason_names(spec) -> dict:
    """Exit reason codes to names, from the spec's ``exit_reason`` enumeration if it has one."""
    enum = spec.enums.get("exit_reason", {})
    return {v: k for k, v in enum.items()}
