"""The typed model of a loaded spec.

Plain data: the loader (:mod:`vverify.spec.loader`) builds it, the backends
read it.  Everything a backend needs to run an instruction is here, already
checked; nothing here knows about z3, numba or VMMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .encoding import Encoding
from . import ir
from .ir import mask


@dataclass
class Register:
    name: str
    width: int
    control_mask: int = 0
    """Bits that are control state (Popek & Goldberg's M and R, generalised)."""
    timing: bool = False
    """Whether this register is timing state (a counter or clock)."""
    reset: int = 0
    doc: str = ""

    def __post_init__(self):
        self.data_mask = mask(self.width) & ~self.control_mask  # read on every emulated instruction

    @property
    def control(self) -> bool:
        return self.control_mask != 0


@dataclass
class RegFile:
    name: str
    count: int
    width: int
    hardwired: dict = field(default_factory=dict)  # index -> constant value
    names: list = field(default_factory=list)  # assembly names by index
    aliases: dict = field(default_factory=dict)  # extra assembly names -> index
    doc: str = ""
    banked: dict = field(default_factory=dict)  # index -> the banked register that entry is (ARM's r13 -> sp)

    @property
    def index_width(self) -> int:
        return max(1, (self.count - 1).bit_length())


@dataclass
class Bank:
    """A banked register: one name in the semantics, one copy of storage per group of values of
    a control field (ARM's SP: SP_usr, SP_svc, SP_irq, chosen by the mode).

    Each copy is an ordinary data register of the state (``sp_usr``...); the banked name reads
    and writes the copy the field selects at that moment, so a mode change needs no swap.  The
    semantics compiler lowers every use of the name to the copies
    (vverify.spec.semantics), so every backend runs it as plain register reads and writes; a
    VMM's placement moves copies with the field (vverify.spec.banks, docs/theory.md).
    """

    name: str
    width: int
    by: str  # the register holding the selecting field
    hi: int  # the field's bits in it
    lo: int
    copies: dict  # copy name -> its register's name ("usr" -> "sp_usr"), in declaration order
    selects: dict  # field value -> the register of the copy it selects
    doc: str = ""

    @property
    def default(self) -> str:
        """The register of every field value no copy lists: the first copy's."""
        return next(iter(self.copies.values()))

    def selector(self, regs: dict) -> int:
        """The selecting field's value in concrete registers ``regs``."""
        return (regs[self.by] >> self.lo) & mask(self.hi - self.lo + 1)

    def register_for(self, value: int) -> str:
        """The register of the copy field value ``value`` selects."""
        return self.selects.get(value, self.default)


@dataclass
class Memory:
    unit: int  # bits per addressable unit
    address: int  # address width in bits
    size: int  # number of units
    fault: str | None = None  # cause raised by an access outside [0, size)
    doc: str = ""
    store_fault: str | None = None  # cause raised by a store outside memory, when not ``fault``

    def fault_of(self, store: bool) -> str | None:
        """The cause an access outside memory (and outside every device window) raises."""
        return self.store_fault if store and self.store_fault is not None else self.fault


@dataclass(frozen=True)
class Device:
    """A device window (``[state.devices.<name>]``): addresses ``[base, base + size)``, outside
    memory, whose offsets read and write registers (memory-mapped I/O, docs/interrupts.md).

    ``registers`` maps an offset to ``(register, units)``: the register's little-endian
    memory units from that offset on (``units`` of them, enough for its width).  An offset no
    register covers reads 0 and ignores writes.  An access from a mode outside ``modes`` raises
    the memory's fault (a store: its store fault), as an access outside memory does.
    """

    name: str
    base: int
    size: int
    modes: tuple  # mode values allowed
    registers: tuple  # ((offset, register, units), ...) in offset order
    line: int = 0

    def contains(self, addr: int, units: int) -> bool:
        return self.base <= addr and addr + units <= self.base + self.size

    def unit_at(self, offset: int):
        """``(register, k)``: the register whose unit ``k`` sits at ``offset``, or None."""
        for off, reg, n in self.registers:
            if off <= offset < off + n:
                return reg, offset - off
        return None


@dataclass(frozen=True)
class Deadline:
    """``[time.deadlines] <name>``: due when ``counter >= compare`` (and ``compare != disarmed``)."""

    name: str
    counter: str
    compare: str
    disarmed: int | None = None


@dataclass(frozen=True)
class Time:
    """``[time]``: registers that advance by themselves, one of the language's rules like "pc advances
    by the instruction's length".  ``retired`` ones advance by 1 per retired instruction (a step of
    kind ok or halt); ``steps`` ones by 1 per step (an instruction, a trap taken or an interrupt
    taken: the unit ``Exit.steps`` counts)."""

    retired: tuple = ()
    steps: tuple = ()
    deadlines: tuple = ()  # (Deadline, ...)


@dataclass
class Cause:
    name: str
    code: int
    kind: str  # privilege | memory | illegal | call | fault
    index: int
    doc: str = ""


@dataclass
class OperandDecl:
    name: str
    kind: str  # reg | imm | enum
    file: str | None = None
    enum: str | None = None
    signed: bool = False
    pcrel: bool = False
    doc: str = ""


@dataclass
class Instruction:
    name: str
    encoding: Encoding
    body: tuple
    operands: dict  # name -> width
    syntax: str = ""
    doc: str = ""
    variants: str | None = None  # an enum operand whose values are classified separately
    path: str = ""
    line: int = 0
    semantics_line: int = 0
    units: int = 1  # memory units the instruction occupies (pc advance)
    paravirtual: bool = False  # a hypercall instruction: only a paravirtualized guest uses it
    mmu_body: tuple | None = None  # ``body`` lowered for a virtualized MMU (``[virtualization.mmu]``), else None


@dataclass
class PureExpr:
    """A side-effect-free expression with the lowered bodies of the helpers it uses."""

    prelude: tuple
    expr: object
    text: str = ""
    line: int = 0


@dataclass
class VirtualizationMap:
    """How a VMM places a guest on the real machine (see docs/theory.md)."""

    modes: dict  # guest mode name -> real mode name
    params: dict = field(default_factory=dict)  # placement parameter -> width
    memory_offset: PureExpr | None = None
    assume: PureExpr | None = None
    relocate: dict = field(default_factory=dict)  # register -> PureExpr
    shadow: dict = field(default_factory=dict)  # register -> PureExpr
    summary: str = ""
    line: int = 0
    # Guests keep their own privilege (non-root operation).  The VMM owns only
    # the registers it relocates or shadows; every other control register is
    # the guest's own copy, held live in the real machine.
    hardware_assist: bool = False
    paravirt: "Paravirt | None" = None
    mmu: "MmuMap | None" = None

    def guest_held(self, registers) -> list:
        """Control registers the guest holds itself under this map (hardware assist only)."""
        if not self.hardware_assist:
            return []
        owned = set(self.relocate) | set(self.shadow)
        held = [n for n, r in registers.items() if r.control_mask and n not in owned and n != "mode"]
        if all(g == r for g, r in self.modes.items()):
            held.append("mode")
        return held


@dataclass(frozen=True)
class MmuMap:
    """How the VMM virtualizes address translation (``[virtualization.mmu]``, docs/theory.md).

    ``shadow``: the VMM owns the real root pointer and tables, built from the
    guest's for the guest's current mode.  ``nested``: the hardware walks the
    guest's own tables in the guest's own mode, then a second stage the VMM
    owns.  Either way each guest mode gets its own mode's translation, which
    is what the classifier's questions assume of accesses made at the
    instruction's own privilege.
    """

    kind: str  # "shadow" | "nested"
    helper: str  # the spec's translation helper: (address, ..., privilege, ...) -> physical address
    privilege: str  # its parameter that carries the privilege the access is checked at
    registers: tuple = ()  # the registers the translation reads: the state a shadow holds for the guest
    line: int = 0


@dataclass(frozen=True)
class Paravirt:
    """The paravirtual interface: what a load-time rewriter may turn an instruction into."""

    hypercall: str  # a paravirtual instruction whose semantics end in hypercall(...)
    count: str | None = None  # its operand carrying the number of instructions the call covers
    read: tuple | None = None  # (instruction, register operand, address operand): a shared-page load


@dataclass(frozen=True)
class GuestABI:
    """The spec's ``[guest]`` table: how vverify's guest library runs on this ISA (docs/guests.md).

    It is data of the ISA, like its encodings, so that a new ISA's guest
    programs need no Python: the boot stub, the assembly snippets the
    library writes (a system call, a jump, setting the call's argument),
    how the kernel halts the machine, and the benchmark workloads.
    """

    boot: str  # the boot stub's path
    word_units: int  # memory units per word of the info block and the output buffer
    halt_by: str  # "instruction" (the run ends with reason halt) or "trap" (a trap of halt_cause)
    halt_cause: str | None
    syscall: str  # assembly making system call {n}
    jump: str  # assembly jumping to {label}
    arg: str  # assembly setting the call's argument register to {v}
    bench: dict  # workload -> {"file": path, "note": str} or {"na": reason, "note": str}
    path: str = ""  # the file that declares the table
    line: int = 0
    calls: dict = field(default_factory=dict)  # name -> (number, args, doc): the boot stub's own further syscalls


@dataclass
class TheoremClaim:
    name: str
    holds: bool
    source: str = ""
    # the instructions expected to violate the theorem's condition, exactly (None: not stated)
    violators: frozenset | None = None
    note: str = ""
    path: str = ""
    line: int = 0


@dataclass
class InstructionClaim:
    name: str  # instruction name, or "instr.member" for a variant
    expect: dict  # property -> bool
    source: str = ""
    note: str = ""
    path: str = ""
    line: int = 0


@dataclass(repr=False)
class Spec:
    name: str
    title: str
    summary: str
    path: str
    paths: list  # this file, then the files it extends
    digest: str
    sources: dict  # resolved path -> the bytes loaded from it (this file and the files it extends)
    registers: dict  # name -> Register, including "pc" and "mode"
    files: dict  # name -> RegFile
    memory: Memory | None
    modes: dict  # name -> value
    supervisor: list
    user: list
    initial_mode: str
    constants: dict
    enums: dict
    causes: dict  # name -> Cause
    code_width: int
    tval_width: int
    entry: tuple
    operands: dict  # name -> OperandDecl
    instructions: dict  # name -> Instruction
    invariants: list  # [PureExpr]
    virtualization: VirtualizationMap | None
    theorem_claims: dict  # name -> TheoremClaim
    instruction_claims: dict  # name -> InstructionClaim
    references: dict
    namespace: object = None
    banks: dict = field(default_factory=dict)  # banked name -> Bank; its copies are in ``registers``
    fetch: str | None = None
    guest: GuestABI | None = None
    devices: tuple = ()  # (Device, ...) in address order
    time: Time | None = None
    boundary: str | None = None  # ``[interrupts] boundary``'s text
    boundary_body: tuple = ()
    """``[interrupts] boundary`` lowered once, like the fetch: run before every instruction."""
    boundary_inputs: frozenset = frozenset()
    """The registers the boundary program reads: with none of them written and no deadline
    crossed, a boundary that did nothing still does nothing (the loader forbids pc, files and
    memory in it)."""
    verdict_digest: str = ""
    """The digest of what verdicts depend on: every source's content less its claims and references
    (the proof cache's key: editing a claim, or its note, does not re-solve; see docs/ci.md)."""
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    """What other layers derive from this spec and keep (a decoder's memo, the guest library's
    layout, the composition object): kept here, it lives and dies with the spec, instead of
    in module-level caches keyed by its name and digest."""

    def memo(self, key, make):
        """``derived[key]``, made by ``make(self)`` the first time."""
        d = self.derived
        if key not in d:
            d[key] = make(self)
        return d[key]

    def __repr__(self):
        return f"<Spec {self.name} from {self.path}>"

    def _repr_pretty_(self, printer, cycle):
        """Pretty-printers (IPython's protocol; Hypothesis follows it when it writes out a strategy's
        arguments, which it does on every rejected draw) show the one-line repr, not every field:
        a large spec written out field by field is megabytes and takes seconds."""
        printer.text(repr(self))

    @property
    def mode_width(self) -> int:
        return self.registers["mode"].width

    @property
    def pc_width(self) -> int:
        return self.registers["pc"].width

    def cause_by_index(self, index: int) -> Cause:
        for c in self.causes.values():
            if c.index == index:
                return c
        raise KeyError(index)

    def mode_name(self, value: int) -> str:
        for n, v in self.modes.items():
            if v == value:
                return n
        return f"mode#{value}"

    @property
    def control_registers(self):
        return [r for r in self.registers.values() if r.control]

    @property
    def timing_registers(self):
        return [r for r in self.registers.values() if r.timing]


def _fetch_program(spec):
    """Lower ``[isa] fetch`` into a body that leaves the physical address in a local."""
    from . import semantics

    if not spec.fetch:
        return (), None
    local = "fetch_address_result"
    text = f"{local}: {spec.memory.address} = {spec.fetch}()"
    return semantics.compile_body(spec.namespace, text, spec.path, "isa.fetch", 0, {}), local


def helper_call(spec, name: str):
    """``(body, local, operands)``: a body that calls the spec's helper ``name`` with its own parameters
    as operands (``{parameter: width}``) and leaves what it returns in ``local``.  Lowered once per
    spec, the way the fetch is: a VMM that must run one of the spec's helpers by itself (a shadow
    pager walking the guest's tables with the spec's ``translate``) runs this body, so the helper's
    behaviour is still written once, in the spec."""
    from . import semantics

    def make(s):
        h = s.namespace.helpers[name]
        if h.returns is None:
            raise ValueError(f"helper '{name}' returns nothing")
        local = f"{name}_result"
        ret = "bool" if h.returns == ir.BOOL else h.returns
        text = f"{local}: {ret} = {name}({', '.join(p for p, _ in h.params)})"
        operands = dict(h.params)
        return semantics.compile_body(s.namespace, text, s.path, f"helper '{name}'", 0, operands), local, operands

    return spec.memo(("helper_call", name), make)


Spec.fetch_body = cached_property(lambda self: _fetch_program(self)[0])
Spec.fetch_body.__set_name__(Spec, "fetch_body")
Spec.fetch_local = cached_property(lambda self: _fetch_program(self)[1])
Spec.fetch_local.__set_name__(Spec, "fetch_local")
Spec.max_ilen_units = cached_property(lambda self: max(i.units for i in self.instructions.values()))
Spec.max_ilen_units.__set_name__(Spec, "max_ilen_units")
