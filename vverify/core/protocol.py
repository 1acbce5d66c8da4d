"""The core's exit protocol: the status slots of ``R`` and the reasons a run returns.

The generated run loop writes these slots and returns a reason code; the
``Core`` object, the VMMs' dispatchers and their interpreter routines read
them.  They are a contract between the code generator and its callers, so
they live here, apart from both (docs/core.md documents them).
"""

# status slots, after the registers and register files in R (see codegen.Layout)
ST_REASON, ST_CAUSE, ST_TVAL, ST_STEPS, ST_BUDGET, ST_TRAP_EXITS, ST_TOTAL, ST_MEMORY_OFFSET = range(8)
ST_SIZE = 8

# why run() returned: the reason code is an index into REASONS
REASONS = ("budget", "halt", "trap", "illegal", "double_fault", "hypercall", "vmexit", "patch")
R_BUDGET, R_HALT, R_TRAP, R_ILLEGAL, R_DOUBLE_FAULT, R_HYPERCALL, R_VMEXIT, R_PATCH = range(8)

EXIT_BASE = 64
"""An instruction's exception value from here on is an exit to the hypervisor (hypercall, vmexit),
not a trap cause: ``EXIT_BASE + index in vverify.spec.ir.LEAVE_KINDS``."""
