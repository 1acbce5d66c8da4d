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
from ..context import context_of
from ..asm import disassemble
from ..spec.ir import mask

EXTRA_SYSCALL = 3  # the guest library sends syscall numbers >= 3 to the kernel code below
PUTC = 1  # putc(arg): the kernel appends arg to its output buffer (pg74's builds a store to do it)
PUTC_VALUES = st.integers(0, 15)  # small, and often nonzero, so that the output shows what was written
ITEM_KINDS = st.sampled_from(["instr", "instr", "instr", "kernel", "putc"])  # of a user program's items


@dataclass(frozen=True)
class FuzzProgram:
    """A guest program: user code, kernel code run by system call 3, and a budget.

    ``user`` and ``kernel`` are items: ``("instr", name, operands)``,
    ``("syscall", number)`` or ``("syscall", number, argument)`` (the
    argument register set first).  The machine image is built from their encodings
    onto the guest library assembled once per spec (fast); :meth:`assembly`
    renders the same program as text, which assembles to the same image.
    """

    spec_name: str
    user: tuple
    kernel: tuple
    budget: int
    flagged: int = 0  # how many drawn instructions the classifier flagged

    def user_text(self, spec) -> str:
        lay = G.layout(spec)
        lines, addr = ["user_main:"], lay.user_origin
        for item in self.user:
            text, units = _item_text(spec, item, addr)
            lines.append(text)
            addr += units
        lines += [f"        {c}" for c in G.syscall_text(spec, 0).splitlines()]
        return "\n".join(lines)

    def kernel_text(self, spec) -> str:
        lines, addr = ["sys_extra:"], _image(spec).sys_extra
        for item in self.kernel:
            text, units = _item_text(spec, item, addr)
            lines.append(text)
            addr += units
        lines.append(f"        {G.jump_text(spec, 'k_return')}")
        return "\n".join(lines)

    def assembly(self, spec=None) -> str:
        from ..spec.loader import load_spec

        spec = spec or load_spec(_spec_path(self.spec_name))
        return (f"# user program ({self.spec_name})\n{self.user_text(spec)}\n"
                f"# kernel code, reached by system call {EXTRA_SYSCALL}\n{self.kernel_text(spec)}")

    def build(self, spec):
        """The program assembled from its text (slow; the reference for :meth:`boot_state`)."""
        return G.build(spec, self.user_text(spec), self.kernel_text(spec))

    def boot_state(self, spec):
        img = _image(spec)
        st = img.state.copy()
        m = spec.memory
        lay = G.layout(spec)
        addr = lay.user_base + lay.user_origin
        for item in self.user + (("syscall", 0),):
            addr = _place(spec, st, img, item, addr)
        kaddr = img.sys_extra
        for item in self.kernel:
            kaddr = _place(spec, st, img, item, kaddr)
        for a, v in img.jump_at(kaddr).items():
            st.mem[a] = v
        if any(a >= m.size for a in st.mem):
            from ..asm import AsmError

            raise AsmError("the program runs off memory")
        return st

    def code_map(self, spec) -> dict:
        """Where :meth:`boot_state` put instructions: ``{"supervisor"|"user": {address: units}}``
        (see :meth:`vverify.guests.GuestProgram.code_map`)."""
        img = _image(spec)
        lay = G.layout(spec)
        out = {"supervisor": dict(img.code["supervisor"]), "user": {}}
        addr = lay.user_base + lay.user_origin
        for item in self.user + (("syscall", 0),):
            addr = img.code_of(item, addr, out["user"])
        kaddr = img.sys_extra
        for item in self.kernel:
            kaddr = img.code_of(item, kaddr, out["supervisor"])
        out["supervisor"].update(img.jump_code(kaddr))
        return out


class _Image:
    """The guest library assembled once per spec, with an empty user program and kernel hook."""

    def __init__(self, spec):
        from ..asm import assemble

        self.spec = spec
        prog = G.build(spec, "user_main:\n", "sys_extra:\n")
        self.state = G.boot_state(spec, prog)
        self.code = prog.code_map()
        self.sys_extra = prog.symbols["sys_extra"]
        self.k_return = prog.symbols["k_return"]
        self._assemble = assemble
        self.syscalls: dict = {}
        self.jumps: dict = {}

    def _syscall(self, n, arg=None):
        if (n, arg) not in self.syscalls:
            p = self._assemble(self.spec, G.syscall_text(self.spec, n, arg))
            self.syscalls[n, arg] = ([p.memory[a] for a in sorted(p.memory)], dict(p.code))
        return self.syscalls[n, arg]

    def syscall_units(self, n, arg=None) -> list:
        return self._syscall(n, arg)[0]

    def _jump(self, addr):
        if addr not in self.jumps:
            text = f".equ k_return, {self.k_return}\n.org {addr}\n{G.jump_text(self.spec, 'k_return')}"
            p = self._assemble(self.spec, text)
            self.jumps[addr] = (dict(p.memory), dict(p.code))
        return self.jumps[addr]

    def jump_at(self, addr) -> dict:
        return self._jump(addr)[0]

    def jump_code(self, addr) -> dict:
        return self._jump(addr)[1]

    def code_of(self, item, addr, out: dict) -> int:
        """Record the instructions of ``item`` placed at ``addr`` in ``out``; the next address."""
        if item[0] == "syscall":
            units, code = self._syscall(*item[1:])
            out.update({addr + a: n for a, n in code.items()})
            return addr + len(units)
        n = self.spec.instructions[item[1]].units
        out[addr] = n
        return addr + n


def _image(spec) -> _Image:
    return context_of(spec).memo("fuzz_image", _Image)


def _spec_path(name):
    from ..spec.bundled import find_bundled

    return find_bundled(name)


def _place(spec, st, img, item, addr) -> int:
    m = spec.memory
    if item[0] == "syscall":
        units = img.syscall_units(*item[1:])
    else:
        instr = spec.instructions[item[1]]
        word = instr.encoding.encode(item[2])
        units = [(word >> (k * m.unit)) & mask(m.unit) for k in range(instr.units)]
    for k, v in enumerate(units):
        st.mem[addr + k] = v
    return addr + len(units)


def _item_text(spec, item, addr) -> tuple:
    if item[0] == "syscall":
        call = G.syscall_text(spec, *item[1:])
        return "\n".join(f"        {c}" for c in call.splitlines()), spec.max_ilen_units * len(call.splitlines())
    return _text(spec, item[1], item[2], addr), spec.instructions[item[1]].units


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


class _Draws:
    """The strategies one spec's programs are drawn from, built once per spec and weights.

    Building a strategy costs Hypothesis a validation pass on first use, so
    strategies made afresh inside every draw cost more than the draws
    themselves; here each is made once and reused by every program.
    """

    def __init__(self, spec, weights: dict):
        names = sorted(n for n, i in spec.instructions.items() if not i.paravirtual)  # an unmodified guest's ISA
        self.names = st.sampled_from([n for n in names for _ in range(weights.get(n, 1))])
        self.flagged = frozenset(n for n in names if weights.get(n, 1) > 1)
        self.operands = {}  # name -> [(operand, strategy, pc-relative scale or 0, mask)]
        for name in names:
            instr = spec.instructions[name]
            ilen = instr.units * (spec.memory.unit // 8 if spec.memory.unit >= 8 else 1)
            ops = []
            for op, width in instr.operands.items():
                decl = spec.operands[op]
                if decl.kind == "reg":
                    ops.append((op, _integers(0, spec.files[decl.file].count - 1), 0, mask(width)))
                elif decl.kind == "enum":
                    members = sorted(spec.enums[decl.enum].values())
                    ops.append((op, st.one_of(st.sampled_from(members), _integers(0, mask(width))), 0, mask(width)))
                elif decl.pcrel:
                    ops.append((op, _integers(-4, 6), ilen, mask(width)))  # short branches, either way
                else:
                    ops.append((op, _immediate(width, decl.signed), 0, mask(width)))
            self.operands[name] = ops
        # One strategy object per instruction draw: Hypothesis marks each draw of it as a span,
        # and its mutator copies and swaps such spans between programs, which is how it reaches
        # programs that repeat an instruction (a store over code that then runs again, say).
        self.instruction = _instruction(self)

    def draw_instruction(self, draw):
        """One instruction: (name, operand values)."""
        name = draw(self.names)
        ops = {}
        for op, strategy, scale, m in self.operands[name]:
            v = draw(strategy)
            ops[op] = (v * scale if scale else v) & m
        return name, ops


@st.composite
def _instruction(draw, draws: _Draws):
    return draws.draw_instruction(draw)


_strategy_cache: dict = {}


def _integers(lo, hi):
    if (lo, hi) not in _strategy_cache:
        _strategy_cache[lo, hi] = st.integers(lo, hi)
    return _strategy_cache[lo, hi]


def _immediate(width, signed):
    """Small, boundary or any values of ``width`` bits (negative ones as two's complement)."""
    key = ("imm", width, signed)
    if key not in _strategy_cache:
        m = mask(width)
        small = st.integers(-8, 8) if signed else st.integers(0, 16)
        _strategy_cache[key] = st.one_of(small, st.sampled_from([0, 1, m, m >> 1]), st.integers(0, m))
    return _strategy_cache[key]


def _draws_for(spec, weights: dict) -> _Draws:
    return context_of(spec).memo(("fuzz_draws", tuple(sorted(weights.items()))), lambda s: _Draws(s, weights))


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
    flagged: list = []
    user_draws, kernel_draws = _draws_for(spec, weights.user), _draws_for(spec, weights.kernel)
    user = []
    for _ in range(draw(_integers(1, max_user))):
        kind = draw(ITEM_KINDS)
        if kind == "instr":
            name, ops = draw(user_draws.instruction)
            user.append(("instr", name, ops))
            if name in user_draws.flagged:
                flagged.append(name)
        else:
            user.append(("syscall", EXTRA_SYSCALL) if kind == "kernel" else ("syscall", PUTC, draw(PUTC_VALUES)))
    kernel = []
    for _ in range(draw(_integers(0, max_kernel))):
        name, ops = draw(kernel_draws.instruction)
        kernel.append(("instr", name, ops))
        if name in kernel_draws.flagged:
            flagged.append(name)
    return FuzzProgram(spec.name, tuple(user), tuple(kernel), budget, len(flagged))
