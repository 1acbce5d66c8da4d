"""The interpreter routine in compiled code: one guest instruction on the virtual state, then the allocator.

Every technique's compiled loop (trap-and-emulate, binary translation,
paravirtualization) serves an exit the same way ``TrapAndEmulate.emulate``
does through ``Emulator.run`` with a budget of one: compose the guest's view
(real data bits, virtual control bits), run the instruction at pc on it with
every trap exiting, deliver a trap to the guest's own handler through the
spec's trap entry (recording it, unless its cause is in ``stop_on``), then
write the view back and place the guest again through the compiled map.
:func:`make_emulate` builds that routine once, for the loops to call, so the
cycle the Python path is checked against lives in one place.  (Hardware
assist's loop, vverify/vmm/hardware_loop.py, keeps a variant of its own: it
syncs the guest-held registers first and parks a trap reflected into a full
trace buffer in an overflow slot, since the core's own buffer is shared
with the traps the hardware delivered.)

The loops that call it keep their counts in an int64 array whose first slots
are :data:`DIRECT`, :data:`EMULATED`, :data:`STEPS`, :data:`CAUSE` and
:data:`TRACED` (each loop adds its own after them).
"""

from __future__ import annotations

import numpy as np

from ..core.jit import njit
from ..core.protocol import R_BUDGET, R_DOUBLE_FAULT, R_HALT, R_TRAP, REASONS, ST_CAUSE, ST_STEPS, ST_TVAL
from ..spec.ir import mask
from .registers import apply_placement, compose_view, write_view_back

STOP = len(REASONS)  # a trap in stop_on ended the run (its cause index in scalars[CAUSE])

# the first slots of every compiled loop's scalar array
DIRECT, EMULATED, STEPS, CAUSE, TRACED = range(5)


def make_emulate(spec, layout, run, trap_entry, map_place, drop_control_bit=None):
    """``emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)``
    -> ``(guest steps, R_BUDGET or how the run ends)``.

    ``run`` and ``trap_entry`` are ``Core.kernels()``, ``map_place`` is
    ``CompiledMap.kernel()``; ``E`` is the emulator's view array, ``S`` a
    scratch view for the map.  A trap delivered to the guest is recorded in
    ``TC``/``TP`` at ``scalars[TRACED]`` (the caller makes room for one) and
    counted in ``reflected``; one in ``stop_mask`` ends with :data:`STOP`, its
    cause in ``scalars[CAUSE]``, undelivered.  ``drop_control_bit``, a
    ``(register, bit)``, plants a defect for tests/fuzz/quality (the view
    loses that bit just before it is written back); leave it None.
    """
    U = np.uint64
    n = len(spec.registers)
    st = layout.st_base
    cc = layout.cc_base
    pci = layout.reg_index["pc"]
    tval_mask = U(mask(spec.tval_width))
    drop_slot, drop_keep = -1, U(0)
    if drop_control_bit is not None:
        reg, bit = drop_control_bit
        drop_slot, drop_keep = layout.reg_index[reg], U(mask(spec.registers[reg].width) & ~(1 << bit))

    @njit
    def emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP):
        compose_view(E, R, V, DM, CM, n, st)
        done = 0
        end = R_BUDGET
        while done < 1:
            code = run(E, MEM, DECF)
            done += np.int64(E[st + ST_STEPS])
            if code == R_BUDGET:
                continue
            if code == R_HALT:
                end = R_HALT
                break
            if code != R_TRAP:  # illegal, hypercall, vmexit, patch: precise, pc still at the instruction
                end = code
                break
            exc = E[st + ST_CAUSE]
            if (stop_mask >> exc) & U(1):
                end = STOP
                scalars[CAUSE] = np.int64(exc)
                break
            pc = E[pci]
            next_pc, ok = trap_entry(E, MEM, DECF, pc, E[cc + exc], E[st + ST_TVAL] & tval_mask)
            if not ok:
                end = R_DOUBLE_FAULT
                break
            E[pci] = next_pc
            done += 1
            nt = scalars[TRACED]
            TC[nt] = np.int64(exc)  # delivered to the guest's handler: recorded
            TP[nt] = pc
            scalars[TRACED] = nt + 1
            reflected[exc] += 1
        scalars[EMULATED] += done
        if drop_slot >= 0:  # the planted defect; never in use otherwise
            E[drop_slot] &= drop_keep
        # the allocator: write the view back, then place the guest again through the map
        write_view_back(R, E, V, DM, CM, n, st)
        compose_view(S, R, V, DM, CM, n, st)
        map_place(S, MEM, DECF, P, PV)
        apply_placement(R, V, PM, PV, DM, CM, n)
        return done, np.int64(end)

    return emulate


__all__ = ["CAUSE", "DIRECT", "EMULATED", "STEPS", "STOP", "TRACED", "make_emulate"]
