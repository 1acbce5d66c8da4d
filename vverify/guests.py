"""The guest library: a boot stub per spec, and programs built on it.

Each bundled spec has a minimal kernel written in its own assembly language
(``guests/<stub>/boot.s``): it boots in the spec's initial (supervisor) mode,
installs the trap vector, gives the user program its own region where the
ISA relocates or bounds, and enters user mode at ``user_main``.  User code
asks for services with the ISA's call instruction (``exit``, ``putc``,
``yield``); any other trap ends the program with its cause recorded in
kernel memory.  Fuzzers and benchmarks build on this::

    prog = build(spec, user_text)              # boot stub + user code, one image
    state = boot_state(spec, prog)             # reset state, image loaded
    state, ex = run(spec, state, 10_000)       # the same with a Core
    HALT_CONVENTION[spec.name].ended(ex)       # the kernel halted
    exit_status(spec, state), read_output(spec, state)

Addresses, syscall numbers and every other per-spec detail live in the
stubs (their ``.equ`` constants and ``guest_*`` labels, read back from the
assembled stub) and in the small table :data:`GUESTS`; docs/guests.md has
the memory maps and the ABI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .asm import AsmError, Program, assemble, load_into
from .interp import MachineState, initial_state
from .interp import run as _interp_run

GUESTS_DIR = Path(__file__).resolve().parent.parent / "guests"

STATUS_NAMES = {0: "running", 1: "exit", 2: "trap"}
"""The values of the info block's status word (STATUS_RUNNING/EXIT/TRAP in the stubs)."""


@dataclass(frozen=True)
class HaltConvention:
    """How a runner recognises that the kernel ended the machine.

    Pass ``trap_exits`` to ``Core.run`` / ``vverify.interp.run``; the run has
    ended when the exit's ``reason`` (and ``cause``) are these.
    """

    trap_exits: frozenset
    reason: str
    cause: str | None = None

    def ended(self, ex) -> bool:
        """True when ``ex`` (an interpreter ``Exit`` or a ``CoreExit``) is the kernel's halt."""
        return ex.reason == self.reason and ex.cause == self.cause


@dataclass(frozen=True)
class GuestTarget:
    """One row of the per-spec table: what the Python side needs beyond the stub."""

    stub: str  # the directory under guests/ holding boot.s
    word_units: int  # memory units per word of the info block and the output buffer
    halt: HaltConvention
    syscall: str = ""  # assembly making system call {n} (the argument register is set separately)
    jump: str = ""  # assembly jumping to {label}
    arg: str = ""  # assembly setting the system call's argument register to the small value {v}


_HALT_INSTRUCTION = HaltConvention(frozenset(), "halt")

_PG74 = GuestTarget("pg74", 1, _HALT_INSTRUCTION, "svc {n}", "jmp {label}", "li r0, {v}")
# the 386: int 0x80 with the number in eax; rel32 is a raw displacement from the next instruction
_X86 = GuestTarget("x86_32", 4, _HALT_INSTRUCTION, "movi eax, {n}\nint 0x80",
                   "jmp ({label} - . - 5) & 0xFFFFFFFF", "movi ebx, {v}")

GUESTS = {
    "pg74": _PG74,
    "pg74_rdbase": _PG74,  # pg74 plus rdbase: the same stub
    "pg74_vt": _PG74,  # pg74 with hardware assist: the same ISA as the guest sees it
    "pdp10": GuestTarget("pdp10", 1, _HALT_INSTRUCTION, "muuo 7, 0, {n}(0)", "jrst {label}(0)", "movei 1, {v}(0)"),
    # no halt instruction: the kernel executes ecall in M-mode, a cause U-mode cannot raise
    "riscv32": GuestTarget("riscv32", 4, HaltConvention(frozenset({"ecall_from_m"}), "trap", "ecall_from_m"),
                           "addi a7, zero, {n}\necall", "jal zero, {label}", "addi a0, zero, {v}"),
    "x86_32": _X86,
    "x86_32_cpl1": _X86,  # the same machine under ring compression (another virtualization map)
    "x86_32_vtx": _X86,  # the 386 with VT-x: the guest sees the same machine
}

HALT_CONVENTION = {name: g.halt for name, g in GUESTS.items()}
"""spec name -> :class:`HaltConvention`."""

_INFO_FIELDS = ("status", "code", "cause", "tval", "pc", "count")


@dataclass(frozen=True)
class GuestLayout:
    """A stub's memory map and constants, read from the assembled stub."""

    spec_name: str
    stub: str
    user_base: int  # physical address of user virtual 0 (the relocation base)
    user_origin: int  # virtual address the user program is assembled at
    user_size: int  # user virtual addresses are below this
    out_cap: int  # output buffer capacity, in words
    word_units: int
    info: dict  # field -> physical address: status, code, cause, tval, pc, count
    out: int  # physical address of the output buffer
    constants: dict = field(repr=False)
    symbols: dict = field(repr=False)


@dataclass(frozen=True)
class GuestExit:
    """What the kernel recorded in its info block.

    ``status`` is ``running`` (the kernel has not ended the program),
    ``exit`` (the exit syscall: ``code`` is its argument, ``pc`` the call's
    address) or ``trap`` (a reflected trap: ``cause_code``, ``causes`` (the
    spec's cause names with that code: riscv32's code 2 is both
    illegal_instruction and illegal_privilege), ``tval`` and ``pc``, the
    trapping instruction's virtual address).
    """

    status: str
    code: int = 0
    cause_code: int | None = None
    causes: tuple = ()
    tval: int = 0
    pc: int = 0


@dataclass
class GuestProgram(Program):
    """A built guest: ``memory`` is the physical image (kernel and user).

    ``symbols`` holds the kernel's labels and the user's, all at physical
    addresses (a user label wins a clash); ``user.symbols`` has the user's
    labels at their virtual addresses, ``kernel`` the assembled stub.
    ``entry`` is ``_start``.
    """

    kernel: Program | None = None
    user: Program | None = None
    user_base: int = 0
    user_main: int = 0
    memory_size: int = 0

    def code_map(self) -> dict:
        """Physical address -> length of every instruction, per kind of code: ``supervisor`` (the
        kernel) and ``user``.  What a load-time rewriter (paravirtualization) may patch."""
        size = self.memory_size
        return {"supervisor": dict(self.kernel.code) if self.kernel else {},
                "user": {(a + self.user_base) % size: n
                         for a, n in (self.user.code.items() if self.user else ())}}


# ------------------------------------------------------------------ lookup


def _spec_name(spec_or_name) -> str:
    return spec_or_name if isinstance(spec_or_name, str) else spec_or_name.name


def _target(spec_or_name) -> GuestTarget:
    name = _spec_name(spec_or_name)
    try:
        return GUESTS[name]
    except KeyError:
        raise KeyError(f"no guest library for spec '{name}' (have: {', '.join(sorted(GUESTS))})") from None


_specs: dict = {}


def _spec(spec_or_name):
    """A loaded spec, or the bundled spec of that name (loaded once)."""
    if not isinstance(spec_or_name, str):
        return spec_or_name
    if spec_or_name not in _specs:
        from .spec.loader import load_spec

        _specs[spec_or_name] = load_spec(GUESTS_DIR.parent / "specs" / f"{spec_or_name}.toml")
    return _specs[spec_or_name]


def stub_path(spec_or_name) -> Path:
    return GUESTS_DIR / _target(spec_or_name).stub / "boot.s"


def guest_source(spec_or_name) -> str:
    """The boot stub's assembly text for a spec (a name or a loaded spec)."""
    return stub_path(spec_or_name).read_text()


def _defines(text: str, name: str) -> bool:
    """Whether assembly ``text`` defines ``name``, as a label or with ``.equ``."""
    return re.search(rf"(^|\s){name}\s*:|\.(?i:equ)\s+{name}\s*,", text, re.M) is not None


def _kernel_text(spec_or_name, kernel_extra: str, user_main: int) -> str:
    text = guest_source(spec_or_name).rstrip("\n") + "\n"
    if kernel_extra:
        text += kernel_extra.rstrip("\n") + "\n"
    if not _defines(kernel_extra, "sys_extra"):
        text += ".equ sys_extra, k_return\n"  # syscall numbers >= 3 act as yield
    return text + f".equ user_main, {user_main}\n"


_layouts: dict = {}


def layout(spec) -> GuestLayout:
    """The memory map of ``spec``'s stub (cached per spec)."""
    spec = _spec(spec)
    key = (spec.name, spec.digest)
    if key in _layouts:
        return _layouts[key]
    g = _target(spec)
    k = assemble(spec, _kernel_text(spec, "", 0), origin=0, file=str(stub_path(spec)))
    c = k.constants
    origin = c["USER_ORIGIN"]
    lay = GuestLayout(spec.name, g.stub, c["USER_BASE"], origin, c["USER_SIZE"], c["GUEST_OUT_CAP"], g.word_units,
                      {f: k.symbols[f"guest_{f}"] for f in _INFO_FIELDS}, k.symbols["guest_out"], dict(c),
                      dict(k.symbols))
    _layouts[key] = lay
    return lay


# ------------------------------------------------------------------ building


def build(spec, user_text: str, kernel_extra: str = "", *, file: str = "<user>") -> GuestProgram:
    """Assemble the boot stub and ``user_text`` into one physical image.

    The user program is assembled at the stub's ``USER_ORIGIN`` in its own
    virtual address space (so its labels are the addresses it uses under
    the stub's relocation) and placed at physical ``USER_BASE + address``.
    It starts at its label ``user_main``, else at its first instruction (or
    ``.entry``).  ``kernel_extra`` is kernel assembly appended to the stub
    (at its ``kernel_extra`` label); if it defines ``sys_extra``, syscall
    numbers from 3 up go there (see docs/guests.md).
    """
    spec = _spec(spec)
    lay = layout(spec)
    user = assemble(spec, user_text, origin=lay.user_origin, file=file)
    for a in sorted(user.memory):
        if not lay.user_origin <= a < lay.user_size:
            src = user.source_of(a)
            raise AsmError(f"the user program writes virtual address {a:#x}, outside the user region "
                           f"{lay.user_origin:#x}..{lay.user_size - 1:#x}", src.line if src else 0, 0, file)
    main = user.symbols.get("user_main", user.entry)
    kernel = assemble(spec, _kernel_text(spec, kernel_extra, main), origin=0, file=str(stub_path(spec)))
    memory = dict(kernel.memory)
    lines = dict(kernel.lines)
    size = spec.memory.size
    for a, v in user.memory.items():
        p = (a + lay.user_base) % size
        if p in memory:
            raise AsmError(f"user address {a:#x} (physical {p:#x}) overlaps the kernel", 0, 0, file)
        memory[p] = v
    for a, sl in user.lines.items():
        lines[(a + lay.user_base) % size] = sl
    symbols = dict(kernel.symbols)
    symbols.update({n: (a + lay.user_base) % size for n, a in user.symbols.items()})
    return GuestProgram(spec.name, kernel.unit, memory=memory, symbols=symbols, constants=dict(kernel.constants),
                        lines=lines, entry=kernel.symbols["_start"], origin=0, file=file, kernel=kernel, user=user,
                        user_base=lay.user_base, user_main=main, memory_size=size)


def boot_state(spec, program: Program) -> MachineState:
    """The reset state with ``program`` loaded and pc at its entry (``_start``), in the initial mode.

    pg74 resets with its bound register b = 0, so the first step is the
    reset trap that loads the boot PSW from E[4..7] (see guests/pg74/boot.s).
    """
    spec = _spec(spec)
    s = initial_state(spec)
    load_into(s, program)
    s.regs["pc"] = program.entry
    return s


def run(spec, target, budget: int):
    """Run a booted guest under the spec's halt convention.

    ``target`` is an interpreter :class:`MachineState` (returns
    ``(new_state, Exit)``) or a :class:`vverify.core.Core` (returns
    ``(core, CoreExit)``).  ``HALT_CONVENTION[name].ended(exit)`` tells a
    kernel halt from a budget or ``illegal`` exit (an undecodable word exits
    to the runner in every spec; the kernel never sees it).
    """
    conv = _target(spec).halt
    if isinstance(target, MachineState):
        return _interp_run(_spec(spec), target, budget, trap_exits=conv.trap_exits)
    return target, target.run(budget, trap_exits=conv.trap_exits)


# ------------------------------------------------------------------ results


def _reader(target):
    mem = getattr(target, "MEM", None)
    if mem is not None:  # a Core
        return lambda a: int(mem[a])
    if isinstance(target, MachineState):
        return target.read_mem
    if hasattr(target, "get"):
        return lambda a: target.get(a, 0)
    return lambda a: int(target[a])


def _word(spec, read, addr: int, n: int) -> int:
    u = spec.memory.unit
    return sum(read(addr + k) << (k * u) for k in range(n))


def read_info(spec, target) -> dict:
    """The raw words of the info block: status, code, cause, tval, pc, count."""
    spec = _spec(spec)
    lay = layout(spec)
    read = _reader(target)
    return {f: _word(spec, read, a, lay.word_units) for f, a in lay.info.items()}


def read_output(spec, target) -> list:
    """The words the program appended with putc, in order (``target``: a MachineState, a Core or a memory)."""
    spec = _spec(spec)
    lay = layout(spec)
    read = _reader(target)
    n = min(_word(spec, read, lay.info["count"], lay.word_units), lay.out_cap)
    w = lay.word_units
    return [_word(spec, read, lay.out + i * w, w) for i in range(n)]


def exit_status(spec, target) -> GuestExit:
    """What the kernel recorded about how the program ended (see :class:`GuestExit`)."""
    spec = _spec(spec)
    info = read_info(spec, target)
    status = STATUS_NAMES.get(info["status"], f"unknown({info['status']})")
    if status == "exit":
        return GuestExit("exit", code=info["code"], pc=info["pc"])
    if status == "trap":
        code = info["cause"]
        names = tuple(sorted(c.name for c in spec.causes.values() if c.code == code))
        return GuestExit("trap", cause_code=code, causes=names, tval=info["tval"], pc=info["pc"])
    return GuestExit(status)


__all__ = ["GUESTS", "HALT_CONVENTION", "GuestExit", "GuestLayout", "GuestProgram", "GuestTarget",
           "HaltConvention", "boot_state", "build", "exit_status", "guest_source", "layout", "read_info",
           "read_output", "run"]


def syscall_text(spec_or_name, number: int, arg: int | None = None) -> str:
    """Assembly for system call ``number`` in the spec's syscall ABI (see docs/guests.md),
    with its argument register set to ``arg`` first when one is given (a small value)."""
    t = _target(spec_or_name)
    call = t.syscall.format(n=number)
    return call if arg is None else f"{t.arg.format(v=arg)}\n{call}"


def jump_text(spec_or_name, label: str) -> str:
    """Assembly for an unconditional jump to ``label``."""
    return _target(spec_or_name).jump.format(label=label)
