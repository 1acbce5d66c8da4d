"""Trap-and-emulate's dispatcher, compiled: the common exits served without returning to Python.

KVM handles the exits it sees most (a page-table write, a control-register
access) in the kernel and goes back out to user space only for what it
cannot serve there.  This is that split for trap-and-emulate.  Every piece of
an exit's cycle is already compiled code: the real core's run loop, the
composition of the guest's view (:func:`~vverify.vmm.registers.compose_view`),
the interpreter routines (the same run loop on the view, one instruction,
every trap exiting), the spec's trap entry, the write-back and the compiled
virtualization map.  Driven from Python, an exit cost a dozen calls across
the boundary; :func:`make_loop` builds one compiled function that runs the
whole cycle, over and over, and returns only when the run ends (budget, halt,
hypercall, vmexit, illegal, patch, double fault, a trap in ``stop_on``) or
the buffer it records reflected traps in is full (Python drains it and calls
again).  Counts come back in arrays; :mod:`vverify.vmm.trap_emulate` adds
them into the VMM's ``Counters`` and ``trace``.

It does exactly what ``TrapAndEmulate.dispatch`` and ``Emulator.run`` do,
in the same order, so the Python path (``TrapAndEmulate(compiled=False)``)
is its reference (tests/vmm/test_trap_emulate_loop.py).  One difference in
means, none in results: the Python allocator remembers placements per value
of the map's inputs, where this loop evaluates the compiled map every time
(it is a few nanoseconds here, and a function of those inputs).

``drop_control_bit`` plants a defect (the emulated view loses one bit of a
register before it is written back) so that the fuzzer's quality tests can
require finding a defect in the compiled path
(tests/fuzz/quality/test_planted_defects.py).  Leave it None.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.jit import njit
from ..core.protocol import (R_BUDGET, R_HALT, R_HYPERCALL, R_TRAP, R_VMEXIT, REASONS, ST_BUDGET, ST_CAUSE, ST_STEPS,
                             ST_TRAP_EXITS)
from .emulate_one import STOP, make_emulate_one, make_emulate_recorded

RAN_OUT = -1  # the budget ended
TRACE_FULL = -2  # the trace buffer is full: drain it and call again
# STOP (vverify.vmm.emulate_one): a trap in stop_on ended the run (its cause index in scalars[CAUSE])

# the slots of the loop's scalar array
DIRECT, EMULATED, STEPS, CAUSE, TRACED = range(5)


def make_loop(spec, layout, run, trap_entry, map_place, drop_control_bit=None):
    """The compiled dispatcher loop for a spec's core (see the module docstring).

    ``run`` and ``trap_entry`` are the core's compiled kernels (``Core.kernels()``), ``map_place``
    the compiled map's (``CompiledMap.kernel()``); numba calls them directly, as constants of the
    closure.  ``drop_control_bit``, a ``(register, bit)``, plants a defect (see the module docstring).
    """
    U = np.uint64
    st = layout.st_base
    all_traps = U((1 << len(spec.causes)) - 1)
    emulate = make_emulate_recorded(make_emulate_one(spec, layout, run, trap_entry, map_place, drop_control_bit),
                                    EMULATED, CAUSE, TRACED)

    @njit
    def loop(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, budget, stop_mask, scalars, exits, traps, reflected, TC, TP):
        """Run the guest until its run ends or TC/TP fill; returns the outcome (RAN_OUT, TRACE_FULL,
        STOP or a reason code) and leaves the counts in the arrays, ``scalars[STEPS]`` the run's guest
        steps so far (it starts from there), ``scalars[TRACED]`` the entries of TC/TP in use."""
        steps = scalars[STEPS]
        cap = TC.shape[0]
        saved_budget = R[st + ST_BUDGET]  # Core.run_raw remembers what it last wrote there
        saved_mask = R[st + ST_TRAP_EXITS]
        outcome = RAN_OUT
        while steps < budget:
            if scalars[TRACED] >= cap:  # a cycle records at most one reflected trap
                outcome = TRACE_FULL
                break
            # the real core, every trap exiting (TrapAndEmulate.direct)
            R[st + ST_BUDGET] = U(budget - steps)
            R[st + ST_TRAP_EXITS] = all_traps
            reason = run(R, MEM, DECF)
            ran = np.int64(R[st + ST_STEPS])
            scalars[DIRECT] += ran
            exits[reason] += 1
            steps += ran
            if reason == R_BUDGET:
                continue
            if reason == R_HALT or reason == R_HYPERCALL or reason == R_VMEXIT:  # no service here: the run ends
                outcome = reason
                break
            if reason == R_TRAP:
                traps[R[st + ST_CAUSE]] += 1
            # the interpreter routines on the guest's view, then the allocator (vverify.vmm.emulate_one)
            done, end = emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)
            steps += done
            if end != R_BUDGET:
                outcome = end
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
    spec = core.spec
    return spec.memo(("trap_emulate_loop", drop_control_bit),
                     lambda s: cached(s, "te_loop", make_loop(s, core.layout, *kernels, place, drop_control_bit)))


class CompiledDispatcher:
    """One placed guest's arrays for the compiled loop, and the Python side of a run: draining the
    trace buffer and returning the counts."""

    def __init__(self, placed, loop, causes, trace_capacity: int):
        core = placed.core
        em = placed.emulator()  # its view array E carries the offset, budget 1 and every trap exiting
        self.loop = loop
        self.core = core
        self.causes = causes
        self.args = (core.R, core.MEM, core.DECF, em.E, placed.virtual.array, placed.DM, placed.CM,
                     placed.view_array(), placed.P, placed.map.sets,
                     np.zeros(len(placed.names), dtype=np.uint64))
        self.TC = np.zeros(max(int(trace_capacity), 1), dtype=np.int64)
        self.TP = np.zeros(len(self.TC), dtype=np.uint64)

    def run(self, budget: int, stop_on, trace):
        """Run for ``budget`` guest instructions; appends reflected traps to ``trace``.

        Returns ``(reason, cause, steps, counts)``: the run's end as an Exit's reason and cause,
        and ``counts`` = ``(direct, emulated, exits by reason, traps by cause, reflected by cause)``,
        the two last as arrays by cause index, exits by reason code.
        """
        causes = self.causes
        stop_mask = np.uint64(sum(1 << i for i, c in enumerate(causes) if c in stop_on))
        scalars = np.zeros(5, dtype=np.int64)
        exits = np.zeros(len(REASONS), dtype=np.int64)
        traps = np.zeros(len(causes), dtype=np.int64)
        reflected = np.zeros(len(causes), dtype=np.int64)
        TC, TP = self.TC, self.TP
        if budget <= 0:  # nothing to run: as the Python dispatcher, never enter compiled code
            return "budget", None, 0, (0, 0, exits, traps, reflected)
        while True:
            outcome = self.loop(*self.args, budget, stop_mask, scalars, exits, traps, reflected, TC, TP)
            self.core.returns += 1  # a return into Python, as the core's own entry points count it
            k = int(scalars[TRACED])
            if k:
                trace.extend_codes(TC[:k], TP[:k])
                scalars[TRACED] = 0
            if outcome != TRACE_FULL:
                break
        counts = (int(scalars[DIRECT]), int(scalars[EMULATED]), exits, traps, reflected)
        steps = int(scalars[STEPS])
        if outcome == RAN_OUT:
            return "budget", None, steps, counts
        if outcome == STOP:
            return "stop", causes[int(scalars[CAUSE])], steps, counts
        return REASONS[outcome], None, steps, counts


__all__ = ["CompiledDispatcher", "loop_for", "make_loop"]
