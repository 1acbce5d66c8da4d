"""The parts every VMM shares, after Popek & Goldberg's modules.

* the **allocator** places a guest on the real machine: it owns the real
  control state, chooses the placement parameters (where the guest's
  storage sits) and derives the real registers from the guest's virtual
  state through the spec's virtualization map;
* the **dispatcher** receives every exit of the real core and decides what
  to do with it;
* the **interpreter routines** (:mod:`vverify.vmm.emulation`) emulate an
  instruction on the guest's *virtual* state.  They are not written per
  instruction: they are the spec's own semantics as the core compiled them,
  so a VMM can never disagree with the spec about what an instruction does.

A guest is a :class:`~vverify.spec.state.MachineState` as the guest sees it.  A
VMM runs it for a budget of guest instructions and answers with the guest's
view afterwards, the traps delivered to the guest on the way, and
deterministic counters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..core import Core
from ..memo import BoundedMemo
from ..spec import ir
from ..spec.exits import Exit
from ..spec.ir import mask
from ..spec.state import MachineState
from ..core.protocol import ST_MEMORY_OFFSET
from .registers import VirtualRegisters, bank_table, compose_view, place_real, write_view_back
from .trace import TrapTrace, cause_names


@dataclass
class Counters:
    """Events counted exactly (they do not vary with machine noise).

    ``crossings`` counts the returns from compiled code into Python during
    the VMM's runs: every return of the core's run loop (``run_raw``,
    ``run_context``), of its trap entry and of ``predecode`` (``Core.returns``),
    the one that ends a run included.  The compiled fetch and map are left
    out: the VMMs remember their results per spec, so whether they run at
    all depends on what ran before in the process, and the count would not
    be exact.
    So a run that stays in compiled code until it ends counts 1, and in the
    steady state (a difference of runs) the count per operation is the
    Python round trips the technique makes per operation.  It is a cost of
    this emulator, not an event of the cost model (vverify.bench.costmodel).
    """

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
    crossings: int = 0  # returns from compiled code into Python during runs (see above)
    # shadow paging (vverify.vmm.shadow_paging); zero for every other technique and spec
    hidden_faults: int = 0  # real page faults the shadow lacked an entry for: filled, not delivered
    true_faults: int = 0  # real faults the guest's own walk takes too: delivered to the guest
    traced_writes: int = 0  # guest stores to its page tables, write-protected in the shadow: emulated
    inline_pte_writes: int = 0  # guest stores to its page tables the VMM emulated anyway (a translated or
    #   rewritten store): no fault; the shadow entries made from the word are dropped as for a traced write
    shadow_builds: int = 0  # shadow tables made for a view (a root, a privilege, SUM, MXR)
    shadow_flushes: int = 0  # every shadow dropped at once
    walk_refs: int = 0  # PTE reads of the VMM's walks of the guest's tables (one-dimensional)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("traps", "exits", "reflected"):
            d[k] = dict(sorted(d[k].items()))
        return d


class VMM:
    """Base class: a guest, a real machine, and the counters."""

    technique = "?"
    summary = ""
    requires: tuple = ()  # "theorem1", "theorem3", "virtualization map", "hardware assist", "paravirtual interface",
    #   "real MMU" (runs guest supervisor code directly on the real MMU: no paging in memory, or shadow/nested paging)
    mmu_kinds: tuple = ()  # the ways of virtualizing the MMU it implements ("shadow", "nested"): what lets it meet
    #   "real MMU" on a spec whose map declares [virtualization.mmu] of that kind

    @classmethod
    def mmu_unsupported(cls, spec) -> str | None:
        """Why it cannot virtualize this spec's MMU the way the map declares though it implements that
        kind (its pager knows other page tables), or None."""
        return None

    def __init__(self, spec, guest: MachineState, params: dict | None = None):
        self.spec = spec
        self.counters = Counters()
        self.trace = TrapTrace(cause_names(spec))  # traps delivered to the guest, in order
        self.stop_on = frozenset()  # set by run(); traps that end the run instead of reaching the guest
        self._returns0 = 0  # Core.returns when the current run started (_start)
        self.params = dict(params if params is not None else default_params(spec))

    # the interface
    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        """Run at most ``budget`` guest instructions.

        A trap whose cause is in ``stop_on`` ends the run just before it would be
        delivered to the guest (reason ``stop``): that is how a guest whose halt
        convention is a trap (riscv32's M-mode ecall) is recognised.
        """
        raise NotImplementedError

    def guest_state(self) -> MachineState:
        raise NotImplementedError

    def machine(self) -> Core:
        """The real core the guest runs on."""
        core = getattr(self, "core", None)
        return core if core is not None else self.g.core

    def _start(self):
        """Every ``run`` calls this first: where its crossings start (see Counters)."""
        self._returns0 = self.machine().returns

    def _take_delivered(self, core: Core):
        """Move the traps ``core`` recorded as delivered to the guest (Core.record_traps) into the
        trace and ``counters.reflected``, as if each had come back here one by one."""
        codes, pcs = core.take_trap_codes()
        if len(codes):
            start = len(self.trace)
            self.trace.extend_codes(codes, pcs)
            self.counters.reflected.update(self.trace.counts(start))

    def _exit(self, reason, steps, cause=None) -> Exit:
        self.counters.guest_instructions += steps
        self.counters.crossings += self.machine().returns - self._returns0
        return Exit(reason, cause, steps=steps, trace=self.trace.freeze())

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


class _RegisterTables:
    """What a placed guest needs to know of the spec's registers, made once per spec (every guest
    a fuzz run places needs the same).  Shared, so never written."""

    def __init__(self, spec, lay):
        self.control = [n for n, r in spec.registers.items() if r.control_mask]
        self.regs = [(n, lay.reg_index[n], r.data_mask, r.control_mask) for n, r in spec.registers.items()]
        self.names = list(spec.registers)
        self.reg_of = {r[0]: r for r in self.regs}
        # per register in layout order, as arrays: the bits the real machine holds, the bits `virtual` holds
        # (not marked read-only: the compiled loops take them as the plain arrays they were compiled for)
        self.DM = np.array([r.data_mask for r in spec.registers.values()], dtype=np.uint64)
        self.CM = np.array([r.control_mask for r in spec.registers.values()], dtype=np.uint64)
        self.data = np.nonzero(self.DM)[0]  # registers with data bits (the others live only in `virtual`)
        self.files = [(n, f.count) for n, f in spec.files.items()]


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
        lay = self.core.layout
        t = spec.memo("vmm_register_tables", lambda s: _RegisterTables(s, lay))  # the same for every guest
        self.control = t.control
        self.map = self.core.compiled_map()
        self.P = self.map.param_array(params)
        self.offset = self.map.offset(self.core.context_of(guest), self.P)
        self.amask = mask(spec.memory.address)
        self._scratch = np.zeros(lay.size, dtype=np.uint64)  # the guest's view, for the compiled map and fetch
        self._scratch[lay.st_base + ST_MEMORY_OFFSET] = self.offset
        self._pc = lay.reg_index["pc"]
        self.virtual = VirtualRegisters({n: lay.reg_index[n] for n in self.control}, len(spec.registers),
                                        {n: guest.regs[n] for n in self.control})
        self._regs, self.names, self._reg_of = t.regs, t.names, t.reg_of
        self.DM, self.CM, self._data, self._files = t.DM, t.CM, t.data, t.files
        self._banks = spec.memo("vmm_bank_table", lambda s: bank_table(s, lay))  # (vverify.spec.banks)
        # the map's results by input values, shared by every guest of this spec placed with these parameters
        self._placements = spec.memo(("vmm_placements", tuple(sorted(params.items()))),
                                     lambda s: BoundedMemo(1 << 12))  # a fuzz run meets many control states
        self._emulator = None
        self._load_memory(guest)
        for name, f in spec.files.items():
            self.core.F[name][:f.count] = np.asarray(guest.files[name], dtype=np.uint64)
        self.write_registers(guest.regs)
        self.place()

    def _load_memory(self, guest):
        self.core.load_image(self.core.image_of(guest.mem, guest.mem_default, self.offset))

    def write_registers(self, regs: dict):
        """Data bits go to the real core; control bits to the virtual copy."""
        for n in self.control:
            self.virtual[n] = regs[n]
        R, d = self.core.R, self._data
        vals = np.array([regs[n] for n in self.names], dtype=np.uint64)
        R[d] = (R[d] & self.CM[d]) | (vals[d] & self.DM[d])

    def view_registers(self) -> dict:
        """The guest's registers as it sees them: real data bits, virtual control bits."""
        real, virtual = self.core.R.tolist(), self.virtual.array.tolist()
        return {n: (real[i] & dm) | (virtual[i] & cm) for n, i, dm, cm in self._regs}

    def place(self):
        """Derive the real control state from the virtual one (the allocator's job).

        The map is evaluated once per distinct value of the registers it reads
        (see :func:`_map_inputs`): a VMM re-places the guest after every exit,
        and the guest's control state takes few distinct values.
        """
        sets, values = self._placement()
        place_real(self.core.R, self.virtual.array, sets, values, self.DM, self.CM, len(self.names), self._banks,
                   self.core.layout.bank_base)

    def _placement(self):
        """What the map sets for the guest as it is now, as arrays in register order: whether it
        sets each register (relocated, shadowed, the real mode), and the value it sets."""
        inputs = _map_inputs(self.spec)
        key = None if inputs is None else (self.virtual["mode"], *(self.reg_view(n) for n in inputs))
        if key is not None and key in self._placements:
            return self._placements[key]
        values = self.map.place(self.view_array(), self.P, np.zeros(len(self.names), dtype=np.uint64))
        if key is not None:
            self._placements.remember(key, (self.map.sets, values))
        return self.map.sets, values

    def view_array(self, pc: int | None = None) -> np.ndarray:
        """The guest's view (real data bits, virtual control bits, the files) in a register array
        laid out as the core's ``R``, its memory offset in the status slot: what the compiled map
        and fetch read.  One scratch array, overwritten by the next call."""
        g, lay = self.core, self.core.layout
        compose_view(self._scratch, g.R, self.virtual.array, self.DM, self.CM, len(self.names), lay.st_base)
        if pc is not None:
            self._scratch[self._pc] = pc
        return self._scratch

    def view(self) -> MachineState:
        """The guest's state as it sees it: real data, virtual control, storage moved back."""
        c = self.core
        regs = self.view_registers()
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

    def units(self, addr: int, n: int) -> list:
        """``n`` units of the guest's storage from guest address ``addr``."""
        mem, am = self.core.MEM, self.amask
        a = (addr + self.offset) & am
        if a + n <= len(mem):
            return mem[a:a + n].tolist()
        return [int(mem[(a + k) & am]) for k in range(n)]  # wraps around the address space

    def word_at(self, addr: int) -> int:
        """The instruction-sized word (``max_ilen`` units, first unit lowest) at guest address ``addr``."""
        u = self.spec.memory.unit
        return sum(v << (k * u) for k, v in enumerate(self.units(addr, self.spec.max_ilen_units)))

    def words_at(self, addrs) -> list:
        """The instruction-sized word (``max_ilen`` units) at each guest address of ``addrs``.

        A loader reads every instruction of a guest's code this way, so it is
        one array gather where the words fit in 64 bits.
        """
        spec = self.spec
        u, n = spec.memory.unit, spec.max_ilen_units
        if n * u > 64 or not len(addrs):
            return [self.word_at(a) for a in addrs]
        where = (np.asarray(addrs, dtype=np.int64)[:, None] + np.arange(n) + self.offset) & self.amask
        units = self.core.MEM[where].astype(np.uint64)  # an address past a smaller memory raises, as units() does
        return (units << (np.arange(n, dtype=np.uint64) * np.uint64(u))).sum(axis=1, dtype=np.uint64).tolist()

    def reg_view(self, name: str) -> int:
        """One register as the guest sees it (see :meth:`view_registers`)."""
        _, i, dm, cm = self._reg_of[name]
        return (int(self.core.R[i]) & dm) | (int(self.virtual.array[i]) & cm)

    def fetch_key(self, pc: int | None = None):
        """The values of the registers the spec's fetch reads, with ``pc`` for pc (the guest's
        own if None): where the guest fetches at ``pc`` is a function of them.  None where the
        fetch reads more than registers."""
        inputs = _fetch_inputs(self.spec)
        if inputs is None:
            return None
        return tuple(pc if (n == "pc" and pc is not None) else self.reg_view(n) for n in inputs)

    def fetch_state(self) -> tuple:
        """The values of the registers the spec's fetch reads besides pc (:func:`fetch_state_inputs`),
        in that order: with pc, they say where the guest fetches (what a pc means).  Binary
        translation asks on every lookup: one gather."""
        i = self._fetch_slots
        if i is None:
            i = self._fetch_slots = np.array([self.core.layout.reg_index[n] for n in fetch_state_inputs(self.spec)],
                                             dtype=np.int64)
        return tuple(((self.core.R[i] & self.DM[i]) | (self.virtual.array[i] & self.CM[i])).tolist())

    _fetch_slots = None

    def fetch_address(self, pc: int | None = None):
        """The guest address the guest fetches its next instruction from (or would at ``pc``), or
        None if fetching it faults.

        VMMs ask this after exits, so the spec's fetch (compiled: see
        :meth:`Core.fetch_address`) is remembered per value of the registers
        it reads (pc, and segment state on x86).
        """
        key = self.fetch_key(pc)
        if key is not None:
            memo = self.spec.memo("vmm_fetched", lambda s: BoundedMemo(1 << 16))
            if key in memo:
                return memo[key]
        addr = self.core.fetch_address(self.view_array(pc))
        if key is not None:
            memo.remember(key, addr)
        return addr

    def next_instruction(self, pc: int | None = None):
        """``(guest address, word)`` of the instruction the guest runs next (or would run at
        ``pc``), or None if fetching it faults (see :meth:`fetch_address`)."""
        addr = self.fetch_address(pc)
        return None if addr is None else (addr, self.word_at(addr))

    def emulator(self):
        """The interpreter routines for this guest (vverify.vmm.emulation), made on first use."""
        if self._emulator is None:
            from .emulation import Emulator

            self._emulator = Emulator(self)
        return self._emulator

    def write_back(self, view: np.ndarray):
        """Write back an emulated view held in an array laid out as the core's ``R``.

        What :meth:`commit` does for a state, for the interpreter routines'
        registers (vverify.vmm.emulation): files and data bits to the
        machine, control bits to the virtual copy, then the placement.
        Memory needs nothing: the routines stored into the guest's storage.
        """
        write_view_back(self.core.R, view, self.virtual.array, self.DM, self.CM, len(self.names),
                        self.core.layout.st_base)
        self.place()

    def memory(self):
        """The guest's memory in guest addresses (the real memory moved back by the map's offset)."""
        mem, off = self.core.MEM, self.offset % len(self.core.MEM)
        return np.concatenate((mem[off:], mem[:off])) if off else mem  # np.roll's result, in a quarter of its time

    def snapshot(self) -> MachineState:
        """The guest's whole state with its memory made explicit (for comparisons)."""
        st = self.view()
        guest_mem = self.memory()  # in guest addresses (a shadow pager's: guest RAM only)
        vals, counts = np.unique(guest_mem, return_counts=True)
        default = int(vals[np.argmax(counts)])
        nz = np.nonzero(guest_mem != default)[0]
        st.mem = {int(a): int(guest_mem[a]) for a in nz}
        st.mem_default = default
        st.backing = None
        return st


def _register_inputs(stmts) -> tuple | None:
    """The registers ``stmts`` read, sorted, or None when they also read a register file or
    memory, or can leave for a hypervisor: then their result is not a function of registers."""
    names = set()
    for node in ir.walk_exprs(stmts):
        if isinstance(node, ir.Reg):
            names.add(node.name)
        elif isinstance(node, ir.FileRead):
            return None
    if any(isinstance(st, (ir.Load, ir.Leave)) for st in ir.walk_stmts(stmts)):
        return None
    return tuple(sorted(names))


def _map_inputs(spec):
    """The registers the virtualization map reads, in a fixed order, or None if it reads more.

    Placement is a function of these (and of the guest's fixed parameters)
    as long as no map expression reads a register file or memory; then a
    VMM may remember it per value.  ``mode`` is always one: the real mode
    comes from the guest's.
    """
    return spec.memo("vmm_map_inputs", _make_map_inputs)


def _make_map_inputs(spec):
    vm = spec.virtualization
    stmts = [st for pe in (*vm.relocate.values(), *vm.shadow.values()) for st in (*pe.prelude, ir.SetLocal("%", pe.expr))]
    names = _register_inputs(stmts)
    return None if names is None else tuple(sorted({"mode", *names}))


def _fetch_inputs(spec):
    """The registers the spec's fetch reads (always pc), or None if it reads more (see _register_inputs)."""
    return spec.memo("vmm_fetch_inputs", _make_fetch_inputs)


def _make_fetch_inputs(spec):
    names = _register_inputs(spec.fetch_body)
    return None if names is None else tuple(sorted({"pc", *names}))


def fetch_state_inputs(spec) -> tuple:
    """The registers the spec's fetch reads besides pc, sorted (empty where it reads pc alone).

    Where the fetch reads only registers, where a pc is fetched from is a function of pc and
    these.  Where it also reads memory or a register file (riscv32_sv32's page tables), it depends
    on those too, which these values do not show."""
    return spec.memo("vmm_fetch_state_inputs", lambda s: tuple(sorted(
        {node.name for node in ir.walk_exprs(s.fetch_body) if isinstance(node, ir.Reg)} - {"pc"})))


def guest_mode_is_user(spec, virtual_mode: int) -> bool:
    return spec.mode_name(virtual_mode) in spec.user


__all__ = ["Counters", "PlacedGuest", "VMM", "default_params", "fetch_state_inputs", "guest_mode_is_user"]
