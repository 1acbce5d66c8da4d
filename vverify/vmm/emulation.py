"""The VMM's interpreter routines: the spec's semantics run on the guest's *virtual* state.

Popek & Goldberg's interpreter routines emulate an instruction as the guest
believes the machine to be: its own mode and control registers, its own
storage.  They are not written per instruction.  They are the spec's
semantics as the emulation core compiled them, run on a register array of
their own that holds the guest's view (real data bits, virtual control
bits) over the real machine's memory, reached through the placement's
memory offset.  So a VMM can never disagree with the spec about what an
instruction does (tests/agreement/test_core_vs_interp.py holds the core to the
reference interpreter, tests/agreement/test_emulation_vs_interp.py these routines), and
emulating an instruction costs a call into compiled code instead of a walk
over the spec's syntax tree.

Traps are the one thing the routines do not take inline: each comes back
here, so that the VMM records it (the guest's trap sequence is what the
equivalence check compares) before the spec's trap entry delivers it to the
guest's own handler, still on the virtual state.
"""

from __future__ import annotations

from ..spec.exits import Exit

import numpy as np

from ..core.protocol import (R_BUDGET, R_DOUBLE_FAULT, R_HALT, R_TRAP, REASONS, ST_BUDGET, ST_CAUSE, ST_MEMORY_OFFSET,
                            ST_STEPS, ST_TRACE_CAP, ST_TRAP_EXITS, ST_TVAL)
from ..spec.ir import mask
from .registers import compose_view
from .trace import cause_names


class Emulator:
    """Runs guest instructions on the view of one :class:`~vverify.vmm.base.PlacedGuest`.

    :meth:`run` loads the view from the real machine, emulates, and writes
    the result back the way the allocator does (data bits to the machine,
    control bits to the virtual copy, then the placement again).  Memory is
    shared with the real machine, so the routines' stores land in the
    guest's storage directly and drop the pre-decoded instructions they
    overlap, as the guest's own stores do.

    The routines are entered once per guest instruction, never for a run of
    them.  The core could run the guest's view for a whole budget, but then
    "interpretation" would be the machine itself under another name: what
    makes a VMM an interpreter is that its own loop fetches and dispatches
    every guest instruction (Bochs's cost, and the ``interpret`` event of the
    cost model), and that loop is this Python one.
    """

    def __init__(self, placed):
        core = placed.core
        spec = placed.spec
        lay = core.layout
        if placed.offset and not lay.full_memory:
            # the core adds the offset only where addresses wrap around a full memory
            raise ValueError(f"spec {spec.name}: a relocated guest needs a memory that fills its address space")
        self.g = placed
        self.spec = spec
        self.core = core
        self.n = len(spec.registers)
        self.st = lay.st_base  # where the registers and files end and the status slots begin
        self.cc = lay.cc_base
        self.E = core.R.copy()  # the same layout as the machine's: registers, files, status, cause codes
        self.E[self.st + ST_MEMORY_OFFSET] = placed.offset & mask(spec.memory.address)
        self.E[self.st + ST_TRAP_EXITS] = (1 << len(spec.causes)) - 1  # every trap comes back here
        self.E[self.st + ST_BUDGET] = 1  # one instruction per call: see the class docstring
        self.E[self.st + ST_TRACE_CAP] = 0  # every trap exits anyway: nothing to record (protocol.TRACE_ENTRIES)
        self.E[lay.bank_base:] = 0  # the view is the guest's own: its runs exchange no banked copies
        self.pc = lay.reg_index["pc"]
        self.mode = lay.reg_index["mode"]
        self.user_modes = frozenset(spec.modes[m] for m in spec.user)
        self.causes = list(cause_names(spec))
        self.tval_mask = np.uint64(mask(spec.tval_width))

    def load(self):
        """The guest's view into the routines' registers: real data bits, virtual control bits."""
        g = self.g
        compose_view(self.E, g.core.R, g.virtual.array, g.DM, g.CM, self.n, self.st)

    def store(self):
        """Hand the emulated view to the allocator (:meth:`PlacedGuest.write_back`)."""
        self.g.write_back(self.E)

    def run(self, vmm, budget: int, until_user: bool = False, stop_on=frozenset(), ran: int | None = None,
            entered: tuple | None = None) -> Exit:
        """Emulate at most ``budget`` guest instructions on the virtual state.

        With ``until_user`` it stops before the first instruction the guest
        runs in a user mode (the hybrid VMM interprets only virtual-supervisor
        code).  A trap in ``stop_on`` ends the run before it reaches the
        guest (``stop``); every other trap is recorded in ``vmm.trace`` and
        delivered to the guest's handler.  ``illegal``, ``hypercall``,
        ``vmexit``, ``patch`` and ``double_fault`` end the run with the state
        as it was before the instruction (or, for ``double_fault``, as the
        trap entry left it, as on the machine).  Counts what it emulated in
        ``vmm.counters.emulated``.

        ``ran``: the reason code of a first run of the routines' core that compiled code already
        made on the guest's view in ``E`` (shadow paging's traced writes,
        vverify.vmm.shadow_paging_loop); the run goes on from there, without loading the view.
        ``entered``: with ``ran`` a trap's, the ``(next pc, ok)`` the spec's trap entry already gave
        for it on ``E`` in that compiled code (its result changed the view, so the compiled code
        handed it back): the run goes on from there, without entering the trap again.
        """
        if ran is None:
            self.load()
        E, st = self.E, self.st
        steps, reason, cause = 0, "budget", None
        while steps < budget:
            if until_user and int(E[self.mode]) in self.user_modes:
                break
            if ran is None:
                code = int(self.core.run_context(E))
            else:
                code, ran = int(ran), None
            steps += int(E[st + ST_STEPS])
            if code == R_BUDGET:
                continue
            if code == R_HALT:
                reason = "halt"
                break
            if code != R_TRAP:  # illegal, hypercall, vmexit, patch: precise, pc still at the instruction
                reason = REASONS[code]
                break
            exc = int(E[st + ST_CAUSE])
            c = self.causes[exc]
            if c in stop_on:
                reason, cause = "stop", c
                break
            pc = E[self.pc]
            if entered is None:
                next_pc, ok = self.core.enter_trap(E, pc, E[self.cc + exc], E[st + ST_TVAL] & self.tval_mask)
            else:
                (next_pc, ok), entered = entered, None
            if not ok:
                reason = REASONS[R_DOUBLE_FAULT]
                break
            E[self.pc] = next_pc
            steps += 1
            vmm.trace.append((c, int(pc)))
            vmm.counters.reflected[c] += 1
        vmm.counters.emulated += steps
        self.store()
        return Exit(reason, cause, steps=steps)
