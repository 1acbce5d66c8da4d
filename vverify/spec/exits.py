"""The one exit type: why a run returned, whoever ran it.

The reference interpreter, the emulation core and every VMM answer a run
with an :class:`Exit`, in the KVM_RUN manner: run until something needs the
caller, then say what.  One type, so that a VMM's answer can be compared
with native execution's field by field, and code that drives one engine
drives them all.
"""

from __future__ import annotations

from dataclasses import dataclass

REASONS = {
    "budget": "the instruction budget ran out",
    "halt": "the machine halted (a halt instruction)",
    "trap": "a trap the caller asked to see (cause, tval); the state is as at the faulting instruction",
    "illegal": "an undecodable word (tval); pc points at it",
    "double_fault": "the trap entry itself faulted",
    "hypercall": "a hypercall (tval: its number); the state is as before the instruction",
    "vmexit": "a VM exit (tval: its reason); the state is as before the instruction",
    "patch": "a store made the core's code cache forget a paravirtual rewrite; pc points at it",
    "trace_full": "(the core, recording delivered traps) the trace buffer is full; pc points at the trap to record",
    "stop": "(a VMM) a trap in the caller's stop set reached the guest (cause)",
    "allocation": "(a VMM) a guest sharing the machine reached beyond its storage",
}


@dataclass(frozen=True)
class Exit:
    """Why a run returned (``reason``, one of :data:`REASONS`).

    ``steps`` counts the guest instructions the run completed.  A VMM also
    gives ``trace``: the ``(cause, pc)`` of every trap delivered to the
    guest during its run, which equivalence with native execution compares
    (a frozen ``vverify.vmm.trace.TrapTrace``, which reads as that sequence;
    ``()`` from an engine that keeps none).
    """

    reason: str
    cause: str | None = None
    tval: int = 0
    steps: int = 0
    trace: tuple = ()
