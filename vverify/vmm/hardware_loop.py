"""Hardware assist's VM exits, served in compiled code: KVM's in-kernel exit handling.

``HardwareAssisted.direct`` (vverify.vmm.hardware) runs the guest in
non-root operation and, on each VM exit, returns to Python to sync the
guest-held registers, count the exit and emulate the exiting instruction
through the interpreter routines.  Every piece of that cycle is compiled
code already (the core's run loop, :func:`~vverify.vmm.registers.compose_view`,
the routines, the spec's trap entry, the write-back and the compiled map), so
:func:`make_loop` builds one compiled function that runs the cycle over and
over, as :mod:`vverify.vmm.trap_emulate_loop` does for trap-and-emulate.

The loop serves only VM exits (``vmexit`` with a reason code the loop can
count, and not the one a confined guest must refuse).  Anything else the core
returns (the budget, a trap in ``stop_on``, halt, hypercall, illegal, double
fault, a full trace buffer) comes back to Python unserved, the core's status
slots as the run left them (``RAW``), and Python handles it with the very
code of the Python path.

Traps the guest's handler receives go, in order, into the core's own trace
buffer (``Core.record_traps``): those the core delivers itself while the
guest runs, and those the routines reflect while emulating an exit, which
the loop writes there as the core does.  Python drains it on every return
(``take_traps``), so the trace and ``reflected`` are the Python path's.  A
trap reflected while the buffer is full waits in ``scalars[OVERFLOW...]``,
the entry after the buffer's, and the loop returns ``TRACE_FULL`` for Python
to take both (an exit's emulation reflects at most one trap).

``drop_control_bit`` plants a defect (the emulated view loses one bit of a
register before it is written back) for the fuzzer's quality tests
(tests/fuzz/quality/test_planted_defects.py).  Leave it None.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.jit import njit
from ..core.protocol import (R_BUDGET, R_VMEXIT, ST_BUDGET, ST_STEPS, ST_TRACE_CAP, ST_TRACE_COUNT, ST_TRAP_EXITS,
                             ST_TVAL, TRACE_ENTRIES)
from .emulate_one import STOP, make_emulate_one
from .trap_emulate_loop import RAN_OUT, TRACE_FULL

RAW = -3  # a core exit the loop does not serve: its reason code in scalars[LAST], the status slots as it left them

# the slots of the loop's scalar array
DIRECT, EMULATED, STEPS, CAUSE, LAST, OVERFLOW, OVERFLOW_CAUSE, OVERFLOW_PC = range(8)
SCALARS = 8


def make_loop(spec, layout, run, trap_entry, map_place, drop_control_bit=None):
    """The compiled VM-exit loop for a spec's core (see the module docstring).

    ``run`` and ``trap_entry`` are the core's compiled kernels (``Core.kernels()``), ``map_place``
    the compiled map's (``CompiledMap.kernel()``).
    """
    U = np.uint64
    st = layout.st_base
    tbase = layout.trace_base
    emulate_one = make_emulate_one(spec, layout, run, trap_entry, map_place, drop_control_bit)

    @njit
    def loop(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, HELD, budget, stop_mask, raw_code, scalars, exits):
        """Run the guest in non-root operation, serving VM exits, until the run ends or an exit
        needs Python; returns the outcome (RAN_OUT, RAW, STOP or the reason code that ended an
        emulation), the counts left in ``scalars`` and ``exits`` (by exit reason code)."""
        steps = scalars[STEPS]
        saved_budget = R[st + ST_BUDGET]  # Core.run_raw remembers what it last wrote there
        saved_mask = R[st + ST_TRAP_EXITS]
        ncodes = exits.shape[0]
        tcap = R[st + ST_TRACE_CAP]
        if tcap > U(TRACE_ENTRIES):
            tcap = U(TRACE_ENTRIES)
        outcome = RAN_OUT
        while steps < budget:
            # non-root operation: the guest's traps go to its handler; only stop_on causes exit
            R[st + ST_BUDGET] = U(budget - steps)
            R[st + ST_TRAP_EXITS] = stop_mask
            reason = run(R, MEM, DECF)
            ran = np.int64(R[st + ST_STEPS])
            scalars[DIRECT] += ran
            steps += ran
            if reason != R_VMEXIT:
                outcome = RAW
                scalars[LAST] = reason
                break
            code = np.int64(R[st + ST_TVAL])
            if code < 0 or code >= ncodes or code == raw_code:  # served here: a code we count, not refused
                outcome = RAW
                scalars[LAST] = reason
                break
            for k in range(HELD.shape[0]):  # sync: the guest's own control registers into its virtual copy
                V[HELD[k]] = R[HELD[k]]
            exits[code] += 1
            # the interpreter routines on the exiting instruction, then the allocator (vverify.vmm.emulate_one)
            done, end, exc, at = emulate_one(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask)
            scalars[EMULATED] += done
            if end == STOP:
                scalars[CAUSE] = exc
            elif exc >= 0:
                tn = R[st + ST_TRACE_COUNT]  # reflected to the guest's handler: recorded as the core does
                if tn < tcap:
                    DECF[U(tbase) + U(2) * tn] = exc
                    DECF[U(tbase + 1) + U(2) * tn] = at
                    R[st + ST_TRACE_COUNT] = tn + U(1)
                else:  # the buffer is full: the entry after it, for Python to take once it is drained
                    scalars[OVERFLOW] = 1
                    scalars[OVERFLOW_CAUSE] = exc
                    scalars[OVERFLOW_PC] = np.int64(at)
            steps += done
            if end != R_BUDGET:
                outcome = end
                break
            if scalars[OVERFLOW]:  # Python drains the buffer before the guest records more
                outcome = TRACE_FULL
                break
        R[st + ST_BUDGET] = saved_budget
        R[st + ST_TRAP_EXITS] = saved_mask
        scalars[STEPS] = steps
        return outcome

    return loop


def loop_for(core, drop_control_bit=None):
    """The compiled loop for ``core``'s spec (made once per spec and defect), or None where the
    core's kernels cannot be handed out (plain-Python build; see ``Core.kernels``)."""
    kernels = core.kernels()
    place = core.compiled_map().kernel()
    if kernels is None or place is None:
        return None
    return core.spec.memo(("hardware_loop", drop_control_bit),
                          lambda s: cached(s, "hw_loop", make_loop(s, core.layout, *kernels, place,
                                                                   drop_control_bit)))


class ExitLoop:
    """One placed guest's arrays for the compiled loop."""

    def __init__(self, placed, loop, held, ncodes: int):
        core = placed.core
        em = placed.emulator()  # its view array E carries the offset, budget 1 and every trap exiting
        self.loop = loop
        self.core = core
        self.causes = em.causes
        self.args = (core.R, core.MEM, core.DECF, em.E, placed.virtual.array, placed.DM, placed.CM,
                     placed.view_array(), placed.P, placed.map.sets,
                     np.zeros(len(placed.names), dtype=np.uint64), np.asarray(held, dtype=np.int64))
        self.ncodes = max(int(ncodes), 1)

    def run(self, budget: int, stop_on, raw_code: int, scalars: np.ndarray, exits: np.ndarray) -> int:
        """One call of the loop from ``scalars[STEPS]`` to ``budget``; counts one return to Python."""
        stop_mask = np.uint64(sum(1 << i for i, c in enumerate(self.causes) if c in stop_on))
        outcome = self.loop(*self.args, budget, stop_mask, raw_code, scalars, exits)
        self.core.returns += 1  # a return into Python, as the core's own entry points count it
        return int(outcome)


__all__ = ["ExitLoop", "RAW", "SCALARS", "TRACE_FULL", "loop_for", "make_loop"]
