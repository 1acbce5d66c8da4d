"""The parts every VMM shares, after Popek & Goldberg's modules.

* the **allocator** places a guest on the real machine: it owns the real
  control state, chooses the placement parameters (where the guest's
  storage sits) and derives the real registers from the guest's virtual
  state through the spec's virtualization map;
* the **dispatcher** receives every exit of the real core and decides what
  to do with it;
* the **interpreter routines** emulate an instruction on the guest's
  *virtual* state.  They are not written per instruction: they are the
  spec's own semantics run by the reference interpreter, so a VMM can never
  disagree with the spec about what an instruction does.

A guest is a :class:`~vverify.interp.MachineState` as the guest sees it.  A
VMM runs it for a budget of guest instructions and answers with the guest's
view afterwards, the traps delivered to the guest on the way, and
deterministic counters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..core import Core
from ..interp import MachineState
from ..interp.placement import memory_offset, placed_regs
from ..spec.ir import mask


@dataclass
class Counters:
    """Events counted exactly (they do not vary with machine noise)."""

    guest_instructions: int = 0
    direct: int = 0  # instructions run directly on the real core
    emulated: int = 0  # instructions run by the VMM's interpreter routines
    traps: Counter = field(default_factory=Counter)  # real traps to the VMM, by cause
    exits: Counter = field(default_factory=Counter)  # returns from the real core, by reason
    reflected: Counter = field(default_factory=Counter)  # traps delivered to the guest, by cause
    hypercalls: int = 0
    translations: int = 0
    tc_hits: int = 0
    tc_misses: int = 0
    tc_invalidations: int = 0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("traps", "exits", "reflected"):
            d[k] = dict(sorted(d[k].items()))
        return d


@dataclass(frozen=True)
class GuestExit:
    """How a guest's run ended, from the guest's point of view."""

    reason: str  # budget | halt | illegal | double_fault | stop (a trap in stop_on reached the guest)
    #              | allocation (a guest sharing the machine reached beyond its storage)
    steps: int
    trace: tuple = ()  # (cause, pc) of every trap delivered to the guest, in order
    cause: str | None = None  # for "stop": the trap that ended the run


class VMM:
    """Base class: a guest, a real machine, and the counters."""

    technique = "?"
    summary = ""
    requires: tuple = ()  # "theorem1", "theorem3", "virtualization map", "hardware assist", "paravirtual interface"

    def __init__(self, spec, guest: MachineState, params: dict | None = None):
        self.spec = spec
        self.counters = Counters()
        self.trace: list = []
        self.stop_on = frozenset()  # set by run(); traps that end the run instead of reaching the guest
        self.params = dict(params if params is not None else default_params(spec))

    # the interface
    def run(self, budget: int, stop_on=frozenset()) -> GuestExit:
        """Run at most ``budget`` guest instructions.

        A trap whose cause is in ``stop_on`` ends the run just before it would be
        delivered to the guest (reason ``stop``): that is how a guest whose halt
        convention is a trap (riscv32's M-mode ecall) is recognised.
        """
        raise NotImplementedError

    def guest_state(self) -> MachineState:
        raise NotImplementedError

    def _exit(self, reason, steps, cause=None) -> GuestExit:
        self.counters.guest_instructions += steps
        return GuestExit(reason, steps, tuple(self.trace), cause)

    def guest_memory(self):
        """The guest's memory as it sees it, as a numpy array (for comparisons)."""
        raise NotImplementedError

    def guest_registers(self):
        """``(registers, files)`` as the guest sees them (cheaper than a whole state)."""
        g = getattr(self, "g", None)
        st = g.view() if g is not None else self.guest_state()
        return st.regs, st.files


def default_params(spec) -> dict:
    """Placement parameters for one guest: storage a quarter of the way up memory."""
    vm = spec.virtualization
    if vm is None:
        return {}
    return {name: (1 << width) // 4 for name, width in vm.params.items()}


class PlacedGuest:
    """A guest whose data lives in a real core, placed by the spec's map.

    The real core holds the guest's data state (registers' data bits,
    register files, memory moved up by the placement's offset) and the real
    control state derived from the virtual one.  ``virtual`` holds the
    control state as the guest believes it is: the VMM's copy.
    """

    def __init__(self, spec, guest: MachineState, params: dict, core: Core | None = None):
        if spec.virtualization is None:
            raise ValueError(f"spec {spec.name} has no virtualization map, so a VMM cannot place a guest on it")
        self.spec = spec
        self.params = params
        self.core = core or Core(spec)
        self.control = [n for n, r in spec.registers.items() if r.control_mask]
        self.offset = memory_offset(spec, guest, params)
        self.amask = mask(spec.memory.address)
        self.virtual = {n: guest.regs[n] for n in self.control}
        lay = self.core.layout
        self._regs = [(n, lay.reg_index[n], r.data_mask, r.control_mask) for n, r in spec.registers.items()]
        self._files = [(n, f.count) for n, f in spec.files.items()]
        self._load_memory(guest)
        for name, f in spec.files.items():
            self.core.F[name][:f.count] = np.asarray(guest.files[name], dtype=np.uint64)
        self.write_registers(guest.regs)
        self.place()

    def _load_memory(self, guest):
        c, m = self.core, self.spec.memory
        c.MEM.fill(guest.mem_default & mask(m.unit))
        for a, v in guest.mem.items():
            c.MEM[(a + self.offset) & self.amask] = v
        c.flush_code_cache()

    def write_registers(self, regs: dict):
        """Data bits go to the real core; control bits to the virtual copy."""
        for n, r in self.spec.registers.items():
            v = regs[n]
            if r.control_mask:
                self.virtual[n] = v
            if r.data_mask:
                old = self.core.reg(n)
                self.core.set_reg(n, (old & r.control_mask) | (v & r.data_mask))

    def place(self):
        """Derive the real control state from the virtual one (the allocator's job)."""
        st = self.view()
        real = placed_regs(self.spec, st, self.params, self.spec.mode_name(self.virtual["mode"]))
        for n, r in self.spec.registers.items():
            if r.control_mask:
                old = self.core.reg(n)
                self.core.set_reg(n, (old & r.data_mask) | (real[n] & r.control_mask))
            elif real[n] != st.regs[n]:  # a relocated or shadowed data register
                self.core.set_reg(n, real[n])

    def view(self) -> MachineState:
        """The guest's state as it sees it: real data, virtual control, storage moved back."""
        c = self.core
        real = c.R.tolist()
        virtual = self.virtual
        regs = {n: (real[i] & dm) | (virtual.get(n, 0) & cm) for n, i, dm, cm in self._regs}
        files = {n: c.F[n][:count].tolist() for n, count in self._files}
        mem, off, am = c.MEM, self.offset, self.amask
        return MachineState(regs, files, {}, 0, backing=lambda a: int(mem[(a + off) & am]))

    def commit(self, st: MachineState):
        """Write an emulated guest state back: registers, files, and the memory it wrote."""
        c = self.core
        for n, f in self.spec.files.items():
            c.F[n][:f.count] = np.asarray(st.files[n], dtype=np.uint64)
        if st.mem:
            n_units = self.spec.max_ilen_units
            for a, v in st.mem.items():
                ra = (a + self.offset) & self.amask
                c.MEM[ra] = v
                c.invalidate(ra - n_units + 1, ra + 1)  # pre-decoded instructions covering it are stale
        self.write_registers(st.regs)
        self.place()

    def memory(self):
        return np.roll(self.core.MEM, -self.offset) if self.offset else self.core.MEM

    def snapshot(self) -> MachineState:
        """The guest's whole state with its memory made explicit (for comparisons)."""
        st = self.view()
        c = self.core
        guest_mem = np.roll(c.MEM, -self.offset) if self.offset else c.MEM
        vals, counts = np.unique(guest_mem, return_counts=True)
        default = int(vals[np.argmax(counts)])
        nz = np.nonzero(guest_mem != default)[0]
        st.mem = {int(a): int(guest_mem[a]) for a in nz}
        st.mem_default = default
        st.backing = None
        return st


def guest_mode_is_user(spec, virtual_mode: int) -> bool:
    return spec.mode_name(virtual_mode) in spec.user


__all__ = ["Counters", "GuestExit", "PlacedGuest", "VMM", "default_params", "guest_mode_is_user"]
