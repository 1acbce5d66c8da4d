"""One emulated instruction, compiled: the cycle every compiled VMM loop runs when it takes over.

Trap-and-emulate's dispatcher, binary translation's callouts, the
paravirtual loop's emulation and the hardware-assisted VMM's exit handler
all do the same thing when they take an instruction from the real core:

1. compose the guest's view of its registers (real and virtual parts);
2. run the interpreter routines on that view, one instruction, every trap
   exiting (``Emulator.run`` with budget 1); a trap the guest takes there is
   entered through the spec's trap entry (reflected to the guest's handler),
   unless it is one that ends the run (``stop_mask``);
3. write the view back, evaluate the compiled virtualization map on the
   result and place the real registers again.

:func:`make_emulate_one` builds that cycle once for a spec, as a function the
loops inline.  What differs between the loops stays with them: where a
reflected trap is recorded (a trace array, or the core's trace buffer) and
which counters move.  So the function only *returns* what happened, and the
caller records it.

``drop_control_bit`` plants a defect (the view loses one bit of a register
before it is written back) for the fuzzer's quality tests
(tests/fuzz/quality/test_planted_defects.py).  Leave it None.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import njit
from ..core.protocol import R_BUDGET, R_DOUBLE_FAULT, R_HALT, R_TRAP, REASONS, ST_CAUSE, ST_STEPS, ST_TVAL
from ..spec.ir import mask
from .registers import bank_table, compose_view, place_real, write_view_back

STOP = len(REASONS)  # a trap in stop_mask ended the run: not a core reason code, one past them


def make_emulate_one(spec, layout, run, trap_entry, map_place, drop_control_bit=None):
    """The compiled cycle (see the module docstring) for a spec's core.

    ``run`` and ``trap_entry`` are ``Core.kernels()``, ``map_place`` is ``CompiledMap.kernel()``.
    The function returns ``(steps, end, cause, pc)``: the guest steps it took (1, or 0 when the
    instruction did not complete), ``end`` either ``R_BUDGET`` (the guest goes on) or how the run ends
    (``R_HALT``, ``STOP``, ``R_DOUBLE_FAULT`` or the core's exit code for an instruction the routines
    do not serve: illegal, hypercall, vmexit, patch), and ``cause`` the trap's cause index with the
    pc it was taken at, when a trap was reflected to the guest or ended the run (``cause`` -1
    otherwise).  It counts nothing: the caller does.
    """
    U = np.uint64
    n = len(spec.registers)
    st = layout.st_base
    BT, bb = bank_table(spec, layout), layout.bank_base  # banked registers (vverify.spec.banks)
    cc = layout.cc_base
    pci = layout.reg_index["pc"]
    tval_mask = U(mask(spec.tval_width))
    drop_slot, drop_keep = -1, U(0)
    if drop_control_bit is not None:
        reg, bit = drop_control_bit
        drop_slot, drop_keep = layout.reg_index[reg], U(mask(spec.registers[reg].width) & ~(1 << bit))

    @njit(inline="always")
    def emulate_one(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask):
        """The instruction at pc on the guest's view, then the write-back and the placement:
        ``(steps, end, cause, pc)`` (see make_emulate_one)."""
        compose_view(E, R, V, DM, CM, n, st)
        done = np.int64(0)
        end = np.int64(R_BUDGET)
        cause = np.int64(-1)
        at = U(0)
        while done < 1:
            code = run(E, MEM, DECF)
            done += np.int64(E[st + ST_STEPS])
            if code == R_BUDGET:
                continue
            if code == R_HALT:
                end = np.int64(R_HALT)
                break
            if code != R_TRAP:  # illegal, hypercall, vmexit, patch: precise
                end = np.int64(code)
                break
            exc = E[st + ST_CAUSE]
            if (stop_mask >> exc) & U(1):
                end = np.int64(STOP)
                cause = np.int64(exc)
                break
            pc = E[pci]
            next_pc, ok = trap_entry(E, MEM, DECF, pc, E[cc + exc], E[st + ST_TVAL] & tval_mask)
            if not ok:
                end = np.int64(R_DOUBLE_FAULT)
                break
            E[pci] = next_pc
            done += 1
            cause = np.int64(exc)  # reflected to the guest's handler: the caller records it
            at = pc
        # the allocator: write the view back, then place the guest again through the map
        if drop_slot >= 0:
            E[drop_slot] &= drop_keep
        write_view_back(R, E, V, DM, CM, n, st)
        compose_view(S, R, V, DM, CM, n, st)
        map_place(S, MEM, DECF, P, PV)
        place_real(R, V, PM, PV, DM, CM, n, BT, bb)
        return done, end, cause, at

    return emulate_one


def make_emulate_recorded(emulate_one, emulated: int, cause: int, traced: int):
    """``emulate_one`` with its outcome recorded the way the trap-and-emulate, binary-translation and
    paravirtual loops record it: ``scalars[emulated]`` counts the steps, ``scalars[cause]`` takes the
    cause of a trap that ended the run, and a reflected trap goes to the trace arrays ``TC``/``TP`` at
    ``scalars[traced]`` and to its count in ``reflected``.  The arguments are the loop's slots in its
    scalar array.  The function returns ``(steps, end)``; the caller sees that ``TC`` has room."""

    @njit(inline="always")
    def emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP):
        done, end, exc, at = emulate_one(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask)
        scalars[emulated] += done
        if end == STOP:
            scalars[cause] = exc
        elif exc >= 0:  # reflected to the guest's handler: recorded
            nt = scalars[traced]
            TC[nt] = exc
            TP[nt] = at
            scalars[traced] = nt + 1
            reflected[exc] += 1
        return done, end

    return emulate
