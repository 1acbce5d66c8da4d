"""Several guests sharing one real machine: one core, disjoint storage, time slices.

Popek & Goldberg's allocator gives each virtual machine its own part of the
real resources.  Here that is one real core and its storage: guest *i* gets
the allocation ``[i * size, (i + 1) * size)`` of host storage, through the
map's placement parameters ``x`` (where the guest starts) and ``size`` (how
much it gets), and the scheduler runs the guests in turn, a quantum of guest
instructions each, switching the real registers between them as a VMM
switches VMCSs.  The map must be able to confine a guest to its allocation
(``size``): under hardware assist (``specs/pg74/pg74_vt.toml``) an access beyond
it is an EPT-violation exit, which the VMM refuses rather than emulates, so
no guest can reach another's storage.

The pre-decoded code stays valid across switches: it is keyed by host
address, and the allocations do not overlap.
"""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core


class SharedMachine:
    """Run ``guests`` (guest states) together on one core under ``technique``."""

    def __init__(self, spec, guests: list, technique=None, quantum: int = 1000, core: Core | None = None):
        from . import TECHNIQUES, HardwareAssisted

        vm = spec.virtualization
        if vm is None or not {"x", "size"} <= set(vm.params):
            raise ValueError(f"{spec.name}: its map cannot confine a guest to an allocation (no 'x' and 'size' "
                             "placement parameters), so guests cannot share the machine")
        cls = TECHNIQUES[technique] if technique else HardwareAssisted
        if not issubclass(cls, HardwareAssisted):
            raise ValueError(f"{cls.technique} cannot confine a guest's storage; use hardware-assisted")
        self.spec = spec
        self.quantum = quantum
        self.core = core or Core(spec)
        self.size = _allocation(spec.memory.size, len(guests))
        for i, g in enumerate(guests):
            beyond = [a for a in g.mem if a >= self.size]
            if beyond:
                raise ValueError(f"guest {i} has storage at {beyond[0]:#x}, beyond its {self.size:#x}-unit allocation")
        # Build each VMM on the shared core, keeping only its allocation of the storage it loads.
        self.vmms, self.contexts, parts = [], [], []
        for i, g in enumerate(guests):
            vmm = cls(spec, g, params={"x": i * self.size, "size": self.size}, core=self.core)
            vmm.confined = True
            self.vmms.append(vmm)
            self.contexts.append(self.core.save_context())
            parts.append(self.core.MEM[i * self.size:(i + 1) * self.size].copy())
        self.core.MEM.fill(0)
        for i, part in enumerate(parts):
            self.core.MEM[i * self.size:(i + 1) * self.size] = part
        self.core.flush_code_cache()
        self.switches = 0

    def run(self, budget: int, stop_on=frozenset()) -> list:
        """Round-robin until every guest has ended or run ``budget`` instructions; one Exit each."""
        n = len(self.vmms)
        steps = [0] * n
        ends: list = [None] * n
        while any(e is None for e in ends):
            for i, vmm in enumerate(self.vmms):
                if ends[i] is not None:
                    continue
                self.core.load_context(self.contexts[i])
                ex = vmm.run(min(self.quantum, budget - steps[i]), stop_on=stop_on)
                self.contexts[i] = self.core.save_context()
                self.switches += 1
                steps[i] += ex.steps
                if ex.reason != "budget" or steps[i] >= budget:
                    ends[i] = Exit(ex.reason, ex.cause, steps=steps[i], trace=ex.trace)
        return ends

    def memory(self, i: int):
        """Guest ``i``'s storage as it sees it: its allocation."""
        return self.core.MEM[i * self.size:(i + 1) * self.size]

    def registers(self, i: int):
        """Guest ``i``'s registers and files as it sees them."""
        saved = self.core.save_context()
        self.core.load_context(self.contexts[i])
        try:
            return self.vmms[i].guest_registers()
        finally:
            self.core.load_context(saved)


def _allocation(memory_size: int, n: int) -> int:
    """The largest power of two that gives each of ``n`` guests an equal share."""
    if n < 1:
        raise ValueError("no guests")
    size = 1
    while size * 2 * n <= memory_size:
        size *= 2
    return size
