"""Concrete machine state and a tree-walking evaluator of the IR."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spec import ir
from ..spec.decode import decode
from ..spec.exits import Exit
from ..spec.ir import mask, to_signed
from ..spec.state import MachineState, initial_state  # noqa: F401  (the interpreter's API)


@dataclass(frozen=True)
class Outcome:
    """How an instruction ended: ``kind`` is ``"ok"``, ``"trap"``, ``"halt"``, ``"hypercall"`` or ``"vmexit"``;
    how the boundary program ended (:func:`boundary`): ``"ok"``, ``"interrupt"`` or ``"vmexit"``."""

    kind: str
    cause: str | None = None
    tval: int = 0

    @property
    def trapped(self) -> bool:
        return self.kind == "trap"

    @property
    def exited(self) -> bool:
        return self.kind in ir.LEAVE_KINDS

    @property
    def stopped(self) -> bool:
        """Control did not stay with the guest: a trap, or an exit to the hypervisor."""
        return self.kind == "trap" or self.kind in ir.LEAVE_KINDS


class Trap(Exception):
    """An instruction (or a fetch) trapped: ``cause`` and ``tval``, before any trap entry runs."""

    def __init__(self, cause, tval):
        self.cause, self.tval = cause, tval


class _Halt(Exception):
    pass


class _Interrupt(Exception):
    """``interrupt(cause)`` in the boundary program: it ends the program, which keeps its writes."""

    def __init__(self, cause):
        self.cause = cause


class LeaveGuest(Exception):
    """``hypercall(n)`` / ``vmexit(reason)``: control leaves the guest."""

    def __init__(self, kind, code):
        self.kind, self.code = kind, code


class _Eval:
    def __init__(self, spec, state: MachineState, operands: dict, next_pc: int):
        self.spec = spec
        self.s = state
        self.pc = state.regs["pc"]
        self.next_pc = next_pc
        self.ops = operands
        self.locals: dict = {}

    # statements
    def run(self, stmts):
        for st in stmts:
            self.stmt(st)

    def stmt(self, st):
        t = type(st)
        if t is ir.SetLocal:
            self.locals[st.name] = self.expr(st.value)
        elif t is ir.SetReg:
            v = self.expr(st.value)
            if st.name == "pc":
                self.next_pc = v
            else:
                self.s.regs[st.name] = v
        elif t is ir.SetFile:
            i = self.expr(st.index)
            f = self.spec.files[st.file]
            if i not in f.hardwired:
                self.s.files[st.file][i] = self.expr(st.value)
        elif t is ir.Load:
            addr = self.expr(st.addr)
            dev = self.check_range(addr, st.units)
            m = self.spec.memory
            if dev is not None:
                self.locals[st.local] = self.device_read(dev, addr, st.units)
                return
            v = 0
            for k in range(st.units):
                v |= self.s.read_mem((addr + k) & mask(m.address)) << (k * m.unit)
            self.locals[st.local] = v
        elif t is ir.Store:
            addr = self.expr(st.addr)
            dev = self.check_range(addr, st.units, store=True)
            m = self.spec.memory
            v = self.expr(st.value)
            if dev is not None:
                self.device_write(dev, addr, st.units, v)
                return
            for k in range(st.units):
                self.s.mem[(addr + k) & mask(m.address)] = (v >> (k * m.unit)) & mask(m.unit)
        elif t is ir.If:
            self.run(st.then if self.expr(st.cond) else st.orelse)
        elif t is ir.Trap:
            raise Trap(st.cause, self.expr(st.tval))
        elif t is ir.Halt:
            raise _Halt()
        elif t is ir.Leave:
            raise LeaveGuest(st.kind, self.expr(st.code))
        elif t is ir.Interrupt:
            raise _Interrupt(st.cause)
        else:  # pragma: no cover - the IR is closed
            raise TypeError(t)

    def check_range(self, addr, units, store=False):
        """None for an access inside memory; the device window it falls in, if the mode may use it;
        else the memory's fault (a store's: its store fault), with the address as tval."""
        m = self.spec.memory
        if m.size < (1 << m.address) and addr + units > m.size:
            for dev in self.spec.devices:
                if dev.contains(addr, units):
                    if self.s.regs["mode"] in dev.modes:
                        return dev
                    break
            raise Trap(m.fault_of(store), addr & mask(self.spec.tval_width))
        return None

    def device_read(self, dev, addr, units):
        """The little-endian value of ``units`` memory units of window ``dev`` from ``addr``."""
        u = self.spec.memory.unit
        v = 0
        for k in range(units):
            hit = dev.unit_at(addr + k - dev.base)
            if hit is not None:
                reg, j = hit
                v |= ((self.s.regs[reg] >> (j * u)) & mask(u)) << (k * u)
        return v

    def device_write(self, dev, addr, units, v):
        """Write ``v`` to ``units`` memory units of window ``dev`` from ``addr``: into the registers there."""
        u = self.spec.memory.unit
        for k in range(units):
            hit = dev.unit_at(addr + k - dev.base)
            if hit is not None:
                reg, j = hit
                w = self.spec.registers[reg].width
                old = self.s.regs[reg] & ~(mask(u) << (j * u))
                self.s.regs[reg] = (old | (((v >> (k * u)) & mask(u)) << (j * u))) & mask(w)

    # expressions
    def expr(self, e):
        t = type(e)
        if t is ir.Const:
            return bool(e.value) if e.width == ir.BOOL else e.value
        if t is ir.Reg:
            return self.pc if e.name == "pc" else self.s.regs[e.name]
        if t is ir.Operand:
            return self.ops[e.name]
        if t is ir.Local:
            return self.locals[e.name]
        if t is ir.FileRead:
            i = self.expr(e.index)
            f = self.spec.files[e.file]
            return f.hardwired[i] if i in f.hardwired else self.s.files[e.file][i]
        if t is ir.Unary:
            a = self.expr(e.a)
            if e.op == "lnot":
                return not a
            if e.op == "neg":
                return (-a) & mask(e.width)
            return (~a) & mask(e.width)
        if t is ir.Binary:
            return self.binary(e)
        if t is ir.Ite:
            return self.expr(e.a) if self.expr(e.cond) else self.expr(e.b)
        if t is ir.Extract:
            return (self.expr(e.a) >> e.lo) & mask(e.width)
        if t is ir.Concat:
            v = 0
            for p in e.parts:
                v = (v << p.width) | self.expr(p)
            return v
        if t is ir.Extend:
            a = self.expr(e.a)
            return to_signed(a, e.a.width) & mask(e.width) if e.signed else a
        raise TypeError(t)  # pragma: no cover

    def binary(self, e):
        op = e.op
        if op == "land":
            return bool(self.expr(e.a)) and bool(self.expr(e.b))
        if op == "lor":
            return bool(self.expr(e.a)) or bool(self.expr(e.b))
        a, b = self.expr(e.a), self.expr(e.b)
        w = e.a.width
        if op == "add":
            return (a + b) & mask(w)
        if op == "sub":
            return (a - b) & mask(w)
        if op == "mul":
            return (a * b) & mask(w)
        if op == "and":
            return a & b
        if op == "or":
            return a | b
        if op == "xor":
            return a ^ b
        if op == "shl":
            return (a << b) & mask(w) if b < w else 0
        if op == "lshr":
            return a >> b if b < w else 0
        if op == "ashr":
            return (to_signed(a, w) >> min(b, w - 1)) & mask(w)
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if op == "ult":
            return a < b
        if op == "ule":
            return a <= b
        if op == "ugt":
            return a > b
        if op == "uge":
            return a >= b
        sa, sb = to_signed(a, w), to_signed(b, w)
        if op == "slt":
            return sa < sb
        if op == "sle":
            return sa <= sb
        if op == "sgt":
            return sa > sb
        if op == "sge":
            return sa >= sb
        raise ValueError(op)  # pragma: no cover


class _Traced(_Eval):
    """The evaluator, noting each part of the state it reads or writes in ``seen``: ``("reg", name)``,
    ``("file", name, index)``, ``("mem", address)``.  Only ``vverify explain`` asks for it (to show a
    witness's states by the fields its runs touched), so the plain evaluator pays nothing."""

    def __init__(self, spec, state, operands, next_pc, seen: set):
        super().__init__(spec, state, operands, next_pc)
        self.seen = seen

    def stmt(self, st):
        t = type(st)
        if t is ir.SetReg:
            self.seen.add(("reg", st.name))
        elif t is ir.SetFile:
            self.seen.add(("file", st.file, self.expr(st.index)))
        elif t is ir.Load or t is ir.Store:
            addr = self.expr(st.addr)
            m = self.spec.memory
            dev = next((d for d in self.spec.devices if d.contains(addr, st.units)), None)
            if dev is not None and addr + st.units > m.size:  # a window's units are registers
                hits = (dev.unit_at(addr + k - dev.base) for k in range(st.units))
                self.seen.update(("reg", h[0]) for h in hits if h is not None)
                self.seen.add(("reg", "mode"))
            else:
                self.seen.update(("mem", (addr + k) & mask(m.address)) for k in range(st.units))
        super().stmt(st)

    def expr(self, e):
        t = type(e)
        if t is ir.Reg:
            self.seen.add(("reg", e.name))
        elif t is ir.FileRead:
            self.seen.add(("file", e.file, super().expr(e.index)))
        return super().expr(e)


def _evaluator(spec, state, operands, next_pc, seen):
    return _Eval(spec, state, operands, next_pc) if seen is None else _Traced(spec, state, operands, next_pc, seen)


def step(spec, state: MachineState, instruction: str, operands: dict, seen: set | None = None,
         mmu: dict | None = None):
    """Execute one instruction on a copy of ``state``; return ``(state', Outcome)``.

    A trap is precise: the instruction's own effects are dropped and the
    spec's trap entry runs on the state as it was before the instruction.
    With a set ``seen``, every register, file entry and memory unit the
    instruction (and a trap entry it takes) reads or writes is added to it
    (see :class:`_Traced`; a read of the presented translation state counts
    as a read of its register).  With ``mmu`` the instruction runs on a
    virtualized MMU (see :func:`mmu_view`).
    """
    instr = spec.instructions[instruction]
    work = state.copy()
    pcw = spec.pc_width
    if mmu:
        work.regs.update(mmu)
        if seen is not None:  # what the translation reads is the presented state's
            seen.update(("reg", k[len(ir.MMU_PREFIX):]) for k in mmu)
    ev = _evaluator(spec, work, operands, (state.regs["pc"] + instr.units) & mask(pcw), seen)
    try:
        ev.run(instr.mmu_body if mmu else instr.body)
        outcome = Outcome("ok")
    except _Halt:
        outcome = Outcome("halt")
    except Trap as t:
        taken = take_trap(spec, state, t.cause, t.tval, seen)
        advance_time(spec, taken, False, seen)
        return taken, Outcome("trap", t.cause, t.tval)
    except LeaveGuest as x:  # precise: nothing the instruction did remains, pc still points at it
        return state, Outcome(x.kind, None, x.code)
    for k in mmu or ():
        del work.regs[k]
    work.regs["pc"] = ev.next_pc
    advance_time(spec, work, True, seen)
    return work, outcome


def advance_time(spec, state: MachineState, retired: bool, seen: set | None = None):
    """The ``[time]`` rule, in place on ``state`` after a step: ``steps`` counters advance by one, and
    ``retired`` ones too when the step retired an instruction (it ended ok or in a halt, not in a
    trap or an interrupt taken).  A rule of the language, like "pc advances by the instruction's
    length"; a spec without ``[time]`` has nothing to advance."""
    t = spec.time
    if t is None:
        return
    for name in t.steps + (t.retired if retired else ()):
        state.regs[name] = (state.regs[name] + 1) & mask(spec.registers[name].width)
        if seen is not None:
            seen.add(("reg", name))


def boundary(spec, state: MachineState, seen: set | None = None):
    """Run the boundary program (``[interrupts] boundary``) on a copy of ``state``: ``(state', Outcome)``.

    ``ok``: the state it wrote, the instruction comes next.  ``interrupt`` (cause in the outcome): the
    trap entry has run on the state it wrote, and the delivery counted as a step (``[time] steps``).
    ``vmexit``: precise, the state as it was.  A spec without a boundary gives ``(state, ok)``.
    The trap entry faulting while it delivers raises :class:`Trap`, as :func:`take_trap` does.
    """
    written, event = _run_boundary(spec, state, seen)
    if event is None:
        return written, Outcome("ok")
    if event.kind != "interrupt":
        return state, event
    taken = take_trap(spec, written, event.cause, 0, seen)
    advance_time(spec, taken, False, seen)
    return taken, event


def _run_boundary(spec, state, seen=None):
    """``(the state the boundary program wrote, None or the Outcome that ended it)``."""
    if not spec.boundary_body:
        return state, None
    work = state.copy()
    ev = _evaluator(spec, work, {}, state.regs["pc"], seen)
    try:
        ev.run(spec.boundary_body)
    except _Interrupt as i:
        return work, Outcome("interrupt", i.cause, 0)
    except LeaveGuest as x:
        return state, Outcome(x.kind, None, x.code)
    return work, None


def mmu_view(spec, presented: MachineState, mode: int) -> dict:
    """What a virtualized MMU presents to an instruction (``[virtualization.mmu]``): the translation
    state of ``presented`` (the registers the spec's translation reads) and the mode ``mode``."""
    out = {ir.MMU_PREFIX + r: presented.regs[r] for r in spec.virtualization.mmu.registers}
    out[ir.MMU_PREFIX + "mode"] = mode
    return out


def take_trap(spec, state: MachineState, cause: str, tval: int, seen: set | None = None) -> MachineState:
    """Run the spec's trap entry for ``cause`` on a copy of ``state`` (``seen``: as for :func:`step`)."""
    work = state.copy()
    ev = _evaluator(spec, work, {"cause": spec.causes[cause].code, "tval": tval & mask(spec.tval_width)},
                    state.regs["pc"], seen)
    ev.run(spec.entry)
    work.regs["pc"] = ev.next_pc
    return work


def eval_pure(spec, state: MachineState, pure, params: dict | None = None):
    """Evaluate a side-effect-free spec expression on ``state``."""
    ev = _Eval(spec, state.copy(), dict(params or {}), state.regs["pc"])
    ev.run(pure.prelude)
    return ev.expr(pure.expr)


# ------------------------------------------------------------------ programs


def fetch(spec, state: MachineState):
    """``(physical address, word)`` of the instruction at pc; raises :class:`Trap` if fetching faults
    (and ``Leave`` when the fetch exits to a hypervisor: an EPT violation)."""
    addr = state.regs["pc"]
    if spec.fetch_body:
        ev = _Eval(spec, state.copy(), {}, state.regs["pc"])
        ev.run(spec.fetch_body)
        addr = ev.locals[spec.fetch_local]
    m = spec.memory
    n = spec.max_ilen_units
    if m.size < (1 << m.address) and addr + n > m.size:
        raise Trap(m.fault, addr & mask(spec.tval_width))
    word = 0
    for k in range(n):
        word |= state.read_mem((addr + k) & mask(m.address)) << (k * m.unit)
    return addr, word


@dataclass(frozen=True)
class Step:
    """What one program step did (see :func:`step_once`)."""

    kind: str  # ok | halt | trap (delivered to the guest) | exit (a trap left to the caller) | illegal
    #            | double_fault | hypercall | vmexit (tval holds the number or reason)
    instruction: str | None = None
    operands: dict = field(default_factory=dict)
    cause: str | None = None
    tval: int = 0


def step_once(spec, state: MachineState, trap_exits=frozenset()):
    """Run the boundary program, then fetch, decode and execute one instruction; return ``(state', Step)``.

    A trap whose cause is in ``trap_exits`` is not taken: the state is left as
    it was and the step's kind is ``exit``.  Other traps are taken by the
    spec's trap entry (kind ``trap``).  An undecodable word leaves the state
    as it was (kind ``illegal``).

    The boundary program (``[interrupts] boundary``) runs first.  An interrupt it raises is one step:
    delivered like a trap (kind ``trap``, no instruction) on the state it wrote, or, when its cause
    is in ``trap_exits``, an ``exit`` with the state as before the boundary (precise, as its
    ``vmexit`` is).  Otherwise what it wrote stays, and the instruction runs on it: an instruction
    that traps, exits or is illegal keeps the boundary's writes, since they belong to the boundary
    before it, which has happened (x86's interrupt shadow, once cleared, stays cleared).
    """
    if spec.boundary_body:
        written, event = _run_boundary(spec, state)
        if event is not None:
            if event.kind != "interrupt":  # vmexit: precise
                return state, Step(event.kind, tval=event.tval)
            if event.cause in trap_exits:
                return state, Step("exit", None, {}, event.cause, 0)
            try:
                taken = take_trap(spec, written, event.cause, 0)
            except Trap:
                return state, Step("double_fault", None, {}, event.cause, 0)
            advance_time(spec, taken, False)
            return taken, Step("trap", None, {}, event.cause, 0)
        state = written
    try:
        _, word = fetch(spec, state)
    except Trap as t:
        return _deliver(spec, state, None, {}, t.cause, t.tval, trap_exits)
    except LeaveGuest as e:  # the fetch itself left for the hypervisor (an EPT violation on fetch)
        return state, Step(e.kind, tval=e.code)
    d = decode(spec, word)
    if d is None:
        return state, Step("illegal", tval=word)
    s2, out = step(spec, state, d[0], d[1])
    if out.kind == "trap":
        return _deliver(spec, state, d[0], d[1], out.cause, out.tval, trap_exits, s2)
    return s2, Step(out.kind, d[0], d[1], tval=out.tval)


def _deliver(spec, state, instr, ops, cause, tval, trap_exits, taken=None):
    if cause in trap_exits:
        return state, Step("exit", instr, ops, cause, tval)
    try:
        if taken is None:  # a fetch fault: step() took an instruction's trap and advanced time already
            taken = take_trap(spec, state, cause, tval)
            advance_time(spec, taken, False)
    except Trap:
        return state, Step("double_fault", instr, ops, cause, tval)
    return taken, Step("trap", instr, ops, cause, tval)


def run(spec, state: MachineState, budget: int, trap_exits=frozenset()):
    """Run a program from ``state.regs['pc']`` for at most ``budget`` instructions.

    Traps whose cause is in ``trap_exits`` return to the caller *before* the
    trap entry runs (the state is as it was at the faulting instruction);
    other traps are taken by the spec's trap entry and execution goes on.
    Returns ``(state, Exit)``, the same protocol as the emulation core.
    """
    s = state
    for n in range(budget):
        s, st = step_once(spec, s, trap_exits)
        if st.kind == "exit":
            return s, Exit("trap", st.cause, st.tval, n)
        if st.kind == "illegal":
            return s, Exit("illegal", None, st.tval, n)
        if st.kind == "double_fault":
            return s, Exit("double_fault", st.cause, st.tval, n)
        if st.kind == "halt":
            return s, Exit("halt", None, 0, n + 1)
        if st.kind in ir.LEAVE_KINDS:
            return s, Exit(st.kind, None, st.tval, n)
    return s, Exit("budget", None, 0, budget)
