"""Hypothesis strategies for guest programs, derived from a spec.

Nothing here is written per ISA.  A program is a user program and a piece
of kernel code, both drawn from the spec's own encodings, built on the
guest library (docs/guests.md): the boot stub installs the trap vectors and
enters user mode; the user program mixes random instructions with system
calls; system call 3 runs the random kernel code in supervisor mode, where
privileged and sensitive instructions do their work.  Operands are chosen
to mean something: register numbers, enumeration members (CSRs by name),
small and boundary immediates, short pc-relative offsets.  Instructions the
classifier flagged (privileged, sensitive, unsafe under the map) are drawn
more often.  Programs are kept as assembly text, so a shrunk counterexample
prints as a program a person can read and re-run.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from .. import guests as G
from ..asm import disassemble
from ..spec.ir import mask

EXTRA_SYSCALL = 3  # the guest library sends syscall numbers >= 3 to the kernel code below


@dataclass(frozen=True)
class FuzzProgram:
    """A guest program: user code, kernel code run by system call 3, and a budget."""

    spec_name: str
    user: str
    kernel: str
    budget: int
    flagged: int = 0  # how many drawn instructions the classifier flagged

    def assembly(self) -> str:
        return (f"# user program ({self.spec_name})\n{self.user}\n"
                f"# kernel code, reached by system call {EXTRA_SYSCALL}\n{self.kernel}")

    def build(self, spec):
        return G.build(spec, self.user, self.kernel)

    def boot_state(self, spec):
        return G.boot_state(spec, self.build(spec))


@dataclass(frozen=True)
class Weights:
    """Draw weights per instruction name, for user code and for kernel code."""

    user: dict
    kernel: dict


def flagged_weights(spec, report=None) -> Weights:
    """Weights that steer towards what the classifier flagged.

    In user code: unprivileged instructions that are sensitive or unsafe from
    user mode (a privileged one just ends the program).  In kernel code:
    privileged and sensitive instructions and those unsafe from supervisor mode.
    """
    user = {name: 1 for name in spec.instructions}
    kernel = dict(user)
    if report is not None:
        for u in report.units:
            p = u.props
            if p["privileged"] != "yes" and ("yes" in (p["sensitive"], p["user_sensitive"]) or p["safe_user"] == "no"):
                user[u.instruction] = 8
            if "yes" in (p["privileged"], p["sensitive"]) or p["safe_supervisor"] == "no":
                kernel[u.instruction] = 6
    return Weights(user, kernel)


def _immediate(draw, width, signed):
    m = mask(width)
    small = st.integers(-8, 8) if signed else st.integers(0, 16)
    v = draw(st.one_of(small, st.sampled_from([0, 1, m, m >> 1]), st.integers(0, m)))
    return v & m


@st.composite
def instruction(draw, spec, weights, flagged=None):
    """One instruction: (name, operand values)."""
    names = sorted(spec.instructions)
    pool = [n for n in names for _ in range(weights.get(n, 1))]
    name = draw(st.sampled_from(pool))
    instr = spec.instructions[name]
    ilen = instr.units * (spec.memory.unit // 8 if spec.memory.unit >= 8 else 1)
    ops = {}
    for op, width in instr.operands.items():
        decl = spec.operands[op]
        if decl.kind == "reg":
            ops[op] = draw(st.integers(0, spec.files[decl.file].count - 1))
        elif decl.kind == "enum":
            members = sorted(spec.enums[decl.enum].values())
            ops[op] = draw(st.one_of(st.sampled_from(members), st.integers(0, mask(width))))
        elif decl.pcrel:
            ops[op] = (draw(st.integers(-4, 6)) * ilen) & mask(width)
        else:
            ops[op] = _immediate(draw, width, decl.signed)
    if flagged is not None and weights.get(name, 1) > 1:
        flagged.append(name)
    return name, ops


def _text(spec, name, ops, addr) -> str:
    """The instruction as assembly, disassembled at the address it will occupy."""
    instr = spec.instructions[name]
    word = instr.encoding.encode(ops)
    m = spec.memory
    units = [(word >> (k * m.unit)) & mask(m.unit) for k in range(instr.units)]
    lines = disassemble(spec, units, origin=addr)
    return "\n".join(f"        {ln.text}" for ln in lines)


@st.composite
def fuzz_programs(draw, spec, weights, max_user=12, max_kernel=6, budget=400):
    """A :class:`FuzzProgram` for ``spec``."""
    lay = G.layout(spec)
    ilen = spec.max_ilen_units
    flagged: list = []
    user_lines = ["user_main:"]
    addr = lay.user_origin
    n_user = draw(st.integers(1, max_user))
    for _ in range(n_user):
        kind = draw(st.sampled_from(["instr", "instr", "instr", "kernel", "putc"]))
        if kind == "instr":
            name, ops = draw(instruction(spec, weights.user, flagged))
            user_lines.append(_text(spec, name, ops, addr))
            addr += spec.instructions[name].units
        else:
            call = G.syscall_text(spec, EXTRA_SYSCALL if kind == "kernel" else 1)
            user_lines.append("\n".join(f"        {c}" for c in call.splitlines()))
            addr += ilen * len(call.splitlines())
    user_lines += [f"        {c}" for c in G.syscall_text(spec, 0).splitlines()]  # exit
    kernel_at = lay.symbols.get("kernel_extra", 0)
    kernel_lines = ["sys_extra:"]
    kaddr = kernel_at
    for _ in range(draw(st.integers(0, max_kernel))):
        name, ops = draw(instruction(spec, weights.kernel, flagged))
        kernel_lines.append(_text(spec, name, ops, kaddr))
        kaddr += spec.instructions[name].units
    kernel_lines.append(f"        {G.jump_text(spec, 'k_return')}")
    return FuzzProgram(spec.name, "\n".join(user_lines), "\n".join(kernel_lines), budget, len(flagged))
