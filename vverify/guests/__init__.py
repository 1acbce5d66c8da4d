"""The guest library: a boot stub per ISA, and programs built on it.

Each bundled ISA has a minimal kernel written in its own assembly language
(``specs/<isa>/boot.s``, named by the spec's ``[guest]`` table): it boots
in the spec's initial (supervisor) mode, installs the trap vector, gives
the user program its own region where the ISA relocates or bounds, and
enters user mode at ``user_main``.  User code asks for services with the
ISA's call instruction (``exit``, ``putc``, ``yield``); any other trap ends
the program with its cause recorded in kernel memory.  Fuzzers and
benchmarks build on this::

    prog = build(spec, user_text)              # boot stub + user code, one image
    state = boot_state(spec, prog)             # reset state, image loaded
    state, ex = run(spec, state, 10_000)       # the same with a Core
    halt_convention(spec).ended(ex)            # the kernel halted
    exit_status(spec, state), read_output(spec, state)

Everything per ISA is data: the stub and the spec's ``[guest]`` table (the
system-call, jump and argument snippets, the halt convention, the word
size).  The library's own ABI (system-call numbers, status words, the
output buffer's size) is ``abi.s`` beside this module, which every stub
includes and which is read back from the assembled stub; docs/guests.md has
the memory maps and the ABI.  A new ISA needs no Python.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..asm import AsmError, Program, assemble, load_into
from ..errors import UsageError
from ..interp import MachineState, initial_state
from ..interp import run as _interp_run

LIBRARY_DIR = Path(str(resources.files("vverify.guests")))
"""Where ``abi.s`` lives: the include directory of every boot stub."""


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
        """True when ``ex`` (a :class:`vverify.spec.exits.Exit`) is the kernel's halt."""
        return ex.reason == self.reason and ex.cause == self.cause


def _abi(spec):
    """The spec's ``[guest]`` table, or a usage error saying what a guest library needs."""
    g = spec.guest
    if g is None:
        raise UsageError(f"{spec.name}: the spec has no guest library (a [guest] table naming a boot stub "
                         "and its ABI; see docs/guests.md)")
    if not Path(g.boot).is_file():
        raise UsageError(f"{g.path}:{g.line}: guest: the boot stub '{g.boot}' does not exist")
    return g


def has_guest_library(spec) -> bool:
    return spec.guest is not None


def halt_convention(spec) -> HaltConvention:
    """The spec's halt convention (its ``[guest] halt``)."""
    g = _abi(spec)
    if g.halt_by == "trap":
        return HaltConvention(frozenset({g.halt_cause}), "trap", g.halt_cause)
    return HaltConvention(frozenset(), "halt")


_INFO_FIELDS = ("status", "code", "cause", "tval", "pc", "count")


@dataclass(frozen=True)
class GuestLayout:
    """A stub's memory map and constants, read from the assembled stub."""

    spec_name: str
    stub: str  # the boot stub's path
    user_base: int  # physical address of user virtual 0 (the relocation base)
    user_origin: int  # virtual address the user program is assembled at
    user_size: int  # user virtual addresses are below this
    out_cap: int  # output buffer capacity, in words
    word_units: int
    info: dict  # field -> physical address: status, code, cause, tval, pc, count
    out: int  # physical address of the output buffer
    status: dict  # the info block's status word -> running | exit | trap (STATUS_* of abi.s)
    constants: dict = field(repr=False)
    symbols: dict = field(repr=False)


@dataclass(frozen=True)
class ProgramOutcome:
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


def spec_of(spec_or_name):
    """``spec_or_name`` if it is a loaded spec, else the bundled spec of that name (loaded once per process)."""
    if not isinstance(spec_or_name, str):
        return spec_or_name
    from ..spec.bundled import find_bundled
    from ..spec.loader import load_spec

    if spec_or_name not in _bundled:
        path = find_bundled(spec_or_name)
        if path is None:
            raise UsageError(f"no bundled spec '{spec_or_name}'")
        _bundled[spec_or_name] = load_spec(path)
    return _bundled[spec_or_name]


_bundled: dict = {}  # bundled spec name -> loaded spec: the name is all a caller gave


def stub_path(spec_or_name) -> Path:
    return Path(_abi(spec_of(spec_or_name)).boot)


def guest_source(spec_or_name) -> str:
    """The boot stub's assembly text for a spec (a name or a loaded spec)."""
    return stub_path(spec_or_name).read_text()


def _defines(text: str, name: str) -> bool:
    """Whether assembly ``text`` defines ``name``, as a label or with ``.equ``."""
    return re.search(rf"(^|\s){name}\s*:|\.(?i:equ)\s+{name}\s*,", text, re.M) is not None


def _kernel_text(spec, kernel_extra: str, user_main: int) -> str:
    text = guest_source(spec).rstrip("\n") + "\n"
    if kernel_extra:
        text += kernel_extra.rstrip("\n") + "\n"
    if not _defines(kernel_extra, "sys_extra"):
        text += ".equ sys_extra, k_return\n"  # syscall numbers >= 3 act as yield
    return text + f".equ user_main, {user_main}\n"


_KERNELS_KEPT = 64  # assembled kernels kept per spec: a benchmark run needs one or two per workload


def _assemble_kernel(spec, kernel_extra: str, user_main: int) -> Program:
    """The boot stub with ``kernel_extra`` appended, assembled once per spec and input.

    A benchmark builds each workload's guest for several operation counts
    (its pilot, its calibration, its measured run), and where the kernel
    code does not use the count it is the same in all of them.  Assembling
    the stub is most of the time a build takes (about 30 ms for riscv32),
    so it is kept.  The program is shared: :func:`build` copies what it
    takes from it and never changes it.
    """
    kept = spec.memo("assembled_kernels", lambda _: OrderedDict())
    key = (kernel_extra, user_main)
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    path = stub_path(spec)
    prog = assemble(spec, _kernel_text(spec, kernel_extra, user_main), origin=0, file=str(path),
                    include_dirs=(str(LIBRARY_DIR),))
    kept[key] = prog
    if len(kept) > _KERNELS_KEPT:
        kept.popitem(last=False)
    return prog


def layout(spec) -> GuestLayout:
    """The memory map of ``spec``'s stub (made once per spec)."""
    return spec_of(spec).memo("guest_layout", _make_layout)


def _make_layout(spec) -> GuestLayout:
    g = _abi(spec)
    k = _assemble_kernel(spec, "", 0)
    c = k.constants
    missing = [n for n in ("USER_BASE", "USER_ORIGIN", "USER_SIZE", "GUEST_OUT_CAP", "STATUS_RUNNING")
               if n not in c] + [f"guest_{f}" for f in _INFO_FIELDS if f"guest_{f}" not in k.symbols]
    if missing:
        raise AsmError(f"the boot stub does not define {', '.join(missing)} (see docs/guests.md)", 0, 0,
                       str(stub_path(spec)))
    status = {c[f"STATUS_{n.upper()}"]: n for n in ("running", "exit", "trap")}
    return GuestLayout(spec.name, str(stub_path(spec)), c["USER_BASE"], c["USER_ORIGIN"], c["USER_SIZE"],
                       c["GUEST_OUT_CAP"], g.word_units, {f: k.symbols[f"guest_{f}"] for f in _INFO_FIELDS},
                       k.symbols["guest_out"], status, dict(c), dict(k.symbols))


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
    spec = spec_of(spec)
    lay = layout(spec)
    user = assemble(spec, user_text, origin=lay.user_origin, file=file)
    for a in sorted(user.memory):
        if not lay.user_origin <= a < lay.user_size:
            src = user.source_of(a)
            raise AsmError(f"the user program writes virtual address {a:#x}, outside the user region "
                           f"{lay.user_origin:#x}..{lay.user_size - 1:#x}", src.line if src else 0, 0, file)
    main = user.symbols.get("user_main", user.entry)
    kernel = _assemble_kernel(spec, kernel_extra, main)
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
    reset trap that loads the boot PSW from E[4..7] (see specs/pg74/boot.s).
    """
    spec = spec_of(spec)
    s = initial_state(spec)
    load_into(s, program)
    s.regs["pc"] = program.entry
    return s


def run(spec, target, budget: int):
    """Run a booted guest under the spec's halt convention.

    ``target`` is an interpreter :class:`MachineState` (returns
    ``(new_state, Exit)``) or a :class:`vverify.core.Core` (returns
    ``(core, Exit)``).  ``halt_convention(spec).ended(exit)`` tells a
    kernel halt from a budget or ``illegal`` exit (an undecodable word exits
    to the runner in every spec; the kernel never sees it).
    """
    conv = halt_convention(spec_of(spec))
    if isinstance(target, MachineState):
        return _interp_run(spec_of(spec), target, budget, trap_exits=conv.trap_exits)
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
    spec = spec_of(spec)
    lay = layout(spec)
    read = _reader(target)
    return {f: _word(spec, read, a, lay.word_units) for f, a in lay.info.items()}


def read_output(spec, target) -> list:
    """The words the program appended with putc, in order (``target``: a MachineState, a Core or a memory)."""
    spec = spec_of(spec)
    lay = layout(spec)
    read = _reader(target)
    n = min(_word(spec, read, lay.info["count"], lay.word_units), lay.out_cap)
    w = lay.word_units
    return [_word(spec, read, lay.out + i * w, w) for i in range(n)]


def exit_status(spec, target) -> ProgramOutcome:
    """What the kernel recorded about how the program ended (see :class:`ProgramOutcome`)."""
    spec = spec_of(spec)
    info = read_info(spec, target)
    status = layout(spec).status.get(info["status"], f"unknown({info['status']})")
    if status == "exit":
        return ProgramOutcome("exit", code=info["code"], pc=info["pc"])
    if status == "trap":
        code = info["cause"]
        names = tuple(sorted(c.name for c in spec.causes.values() if c.code == code))
        return ProgramOutcome("trap", cause_code=code, causes=names, tval=info["tval"], pc=info["pc"])
    return ProgramOutcome(status)


__all__ = ["GuestLayout", "GuestProgram", "HaltConvention", "LIBRARY_DIR", "ProgramOutcome", "boot_state", "build",
           "exit_status", "guest_source", "halt_convention", "has_guest_library", "jump_text", "layout",
           "read_info", "read_output", "run", "spec_of", "stub_path", "syscall_text"]


def syscall_text(spec_or_name, number: int, arg: int | None = None) -> str:
    """Assembly for system call ``number`` in the spec's syscall ABI (see docs/guests.md),
    with its argument register set to ``arg`` first when one is given (a small value)."""
    t = _abi(spec_of(spec_or_name))
    call = t.syscall.format(n=number)
    return call if arg is None else f"{t.arg.format(v=arg)}\n{call}"


def jump_text(spec_or_name, label: str) -> str:
    """Assembly for an unconditional jump to ``label``."""
    return _abi(spec_of(spec_or_name)).jump.format(label=label)
