"""The core's exit protocol: the status slots of ``R`` and the reasons a run returns.

The generated run loop writes these slots and returns a reason code; the
``Core`` object, the VMMs' dispatchers and their interpreter routines read
them.  They are a contract between the code generator and its callers, so
they live here, apart from both (docs/core.md documents them).
"""

# status slots, after the registers and register files in R (see codegen.Layout)
ST_REASON, ST_CAUSE, ST_TVAL, ST_STEPS, ST_BUDGET, ST_TRAP_EXITS, ST_TOTAL, ST_MEMORY_OFFSET = range(8)
# the trace of delivered traps (opt-in, see TRACE_ENTRIES): entries recorded, and the capacity (0 = off)
ST_TRACE_COUNT, ST_TRACE_CAP = 8, 9
# how an out-of-line instruction ended when not normally: 0 normally (it returns only its next pc,
# see codegen), 1 halted, 2 + exc a trap or exit, whose tval is in ST_OOL_TVAL; the loop resets it
ST_OOL, ST_OOL_TVAL = 10, 11
ST_SIZE = 12

# why run() returned: the reason code is an index into REASONS
REASONS = ("budget", "halt", "trap", "illegal", "double_fault", "hypercall", "vmexit", "patch", "trace_full")
R_BUDGET, R_HALT, R_TRAP, R_ILLEGAL, R_DOUBLE_FAULT, R_HYPERCALL, R_VMEXIT, R_PATCH, R_TRACE_FULL = range(9)

TRACE_ENTRIES = 4096
"""Room for this many delivered traps in the trace region at the end of ``DECF``.

With ``R[ST_TRACE_CAP]`` nonzero the run loop records every trap it delivers
to the guest's own handler (one not in the trap-exit mask) as two words,
the cause index and the pc of the trapping instruction, at
``DECF[Layout.trace_base + 2 * k]``, ``k = R[ST_TRACE_COUNT]``, and counts it.
A trap to deliver when ``min(cap, TRACE_ENTRIES)`` entries are already there
exits with ``trace_full`` instead, precise as a trap exit (pc at the
instruction, the entry not run), so the caller drains the buffer, sets the
count to 0 and runs again: the instruction traps again and is recorded.
With the capacity 0 (every ``Core`` starts so) nothing is recorded and the
loop behaves as it always did."""

EXIT_BASE = 64
"""An instruction's exception value from here on is an exit to the hypervisor (hypercall, vmexit),
not a trap cause: ``EXIT_BASE + index in vverify.spec.ir.LEAVE_KINDS``."""
