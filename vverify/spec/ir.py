"""The typed intermediate representation of instruction semantics.

Every backend (the z3 model, the reference interpreter, the emulation core)
walks these nodes and nothing else, so an instruction's behaviour exists in
exactly one place: its spec.  The nodes are produced by
:mod:`vverify.spec.semantics`, which has already resolved every name,
inferred every width and rejected everything outside the language, so a
backend never needs to re-check types.

Conventions shared by all backends:

* A value is a bit-vector of ``width`` bits (``width >= 1``) or a boolean
  (``width == BOOL``).
* ``Reg("pc")`` always reads the address of the *current* instruction; a
  ``SetReg("pc", ...)`` sets the address of the *next* one.  When an
  instruction does not set ``pc``, the next pc is ``pc + ilen``.
* ``Trap`` and ``Halt`` end the instruction.  A trap is precise: the
  instruction's own effects are discarded and the spec's trap entry runs on
  the state as it was before the instruction.
* Statements after an ``If`` whose branch trapped never run on that path;
  backends track "still running" rather than relying on the lowering to
  restructure code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

BOOL = 0
"""Width marker for boolean-valued expressions."""


# --------------------------------------------------------------------------
# expressions


MMU_PREFIX = "mmu."
"""A body lowered for a virtualized MMU (``Instruction.mmu_body``) reads, inside the spec's translation,
register ``r`` as ``mmu.r``: the translation state the VMM presents (vverify.spec.semantics.MmuLowering)."""


@dataclass(frozen=True)
class Const:
    value: int
    width: int


@dataclass(frozen=True)
class Reg:
    """A state register (including ``pc`` and ``mode``)."""

    name: str
    width: int


@dataclass(frozen=True)
class Operand:
    """An instruction operand decoded from the encoding (or a trap-entry input)."""

    name: str
    width: int


@dataclass(frozen=True)
class Local:
    name: str
    width: int


@dataclass(frozen=True)
class FileRead:
    """``file[index]`` on a register file."""

    file: str
    index: "Expr"
    width: int


UNARY_OPS = ("neg", "not", "lnot")
ARITH_OPS = ("add", "sub", "mul", "and", "or", "xor", "shl", "lshr", "ashr")
COMPARE_OPS = ("eq", "ne", "ult", "ule", "ugt", "uge", "slt", "sle", "sgt", "sge")
LOGIC_OPS = ("land", "lor")


@dataclass(frozen=True)
class Unary:
    op: str
    a: "Expr"
    width: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic (both operands ``width`` bits), comparison or logic.

    For shifts the amount has the same width as the value (the lowering
    zero-extends it); a shift by ``width`` or more yields 0 (or the sign
    fill for ``ashr``), as in SMT-LIB.
    """

    op: str
    a: "Expr"
    b: "Expr"
    width: int


@dataclass(frozen=True)
class Ite:
    cond: "Expr"
    a: "Expr"
    b: "Expr"
    width: int


@dataclass(frozen=True)
class Extract:
    a: "Expr"
    hi: int
    lo: int
    width: int


@dataclass(frozen=True)
class Concat:
    """Concatenation, most significant part first."""

    parts: tuple
    width: int


@dataclass(frozen=True)
class Extend:
    a: "Expr"
    signed: bool
    width: int


Expr = Union[Const, Reg, Operand, Local, FileRead, Unary, Binary, Ite, Extract, Concat, Extend]


# --------------------------------------------------------------------------
# statements


@dataclass(frozen=True)
class SetLocal:
    name: str
    value: Expr
    line: int = 0


@dataclass(frozen=True)
class SetReg:
    name: str
    value: Expr
    line: int = 0


@dataclass(frozen=True)
class SetFile:
    file: str
    index: Expr
    value: Expr
    line: int = 0


@dataclass(frozen=True)
class Load:
    """``local = load(addr, units)``: little-endian, faults outside memory."""

    local: str
    addr: Expr
    units: int
    width: int
    line: int = 0


@dataclass(frozen=True)
class Store:
    addr: Expr
    units: int
    value: Expr
    line: int = 0


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple
    orelse: tuple
    line: int = 0


@dataclass(frozen=True)
class Trap:
    """Raise the named cause; ``tval`` is the trap value (0 when omitted)."""

    cause: str
    tval: Expr
    line: int = 0


@dataclass(frozen=True)
class Halt:
    line: int = 0


LEAVE_KINDS = ("hypercall", "vmexit")


@dataclass(frozen=True)
class Leave:
    """Leave the guest for the hypervisor: ``hypercall(n)`` or ``vmexit(reason)``.

    Precise, like a trap: the instruction's effects are discarded and pc
    still points at it; but no trap entry runs: control goes to whoever runs
    the machine (a VMM), with ``code`` as the hypercall number or exit reason.
    """

    kind: str
    code: Expr
    line: int = 0


@dataclass(frozen=True)
class Interrupt:
    """``interrupt(cause)``: deliver an asynchronous cause (kind ``interrupt``).

    Only the boundary program (``[interrupts] boundary``, run before each
    instruction) may hold one; the loader refuses it anywhere else.  Unlike a
    trap it is not precise: it ends the program and *keeps* what the program
    wrote before it (a cleared interrupt shadow, a disarmed deadline), then the
    spec's trap entry runs on that state with the cause's code and tval 0.
    """

    cause: str
    line: int = 0


Stmt = Union[SetLocal, SetReg, SetFile, Load, Store, If, Trap, Halt, Leave, Interrupt]


def walk_exprs(stmts):
    """Yield every expression node (recursively) under ``stmts``."""

    def expr_nodes(e):
        yield e
        for child in expr_children(e):
            yield from expr_nodes(child)

    for s in stmts:
        for e in stmt_exprs(s):
            yield from expr_nodes(e)
        if isinstance(s, If):
            yield from walk_exprs(s.then)
            yield from walk_exprs(s.orelse)


def expr_children(e):
    if isinstance(e, FileRead):
        return (e.index,)
    if isinstance(e, Unary):
        return (e.a,)
    if isinstance(e, Binary):
        return (e.a, e.b)
    if isinstance(e, Ite):
        return (e.cond, e.a, e.b)
    if isinstance(e, (Extract, Extend)):
        return (e.a,)
    if isinstance(e, Concat):
        return e.parts
    return ()


def stmt_exprs(s):
    if isinstance(s, (SetLocal, SetReg)):
        return (s.value,)
    if isinstance(s, SetFile):
        return (s.index, s.value)
    if isinstance(s, Load):
        return (s.addr,)
    if isinstance(s, Store):
        return (s.addr, s.value)
    if isinstance(s, If):
        return (s.cond,)
    if isinstance(s, Trap):
        return (s.tval,)
    if isinstance(s, Leave):
        return (s.code,)
    return ()


def walk_stmts(stmts):
    """Yield every statement (recursively) under ``stmts``."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk_stmts(s.then)
            yield from walk_stmts(s.orelse)


def mask(width: int) -> int:
    return (1 << width) - 1


def to_signed(value: int, width: int) -> int:
    value &= mask(width)
    return value - (1 << width) if value >> (width - 1) else value
