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
more often.  User and kernel code also contain a self-modifying item, which
rewrites code that has already run and runs it again: the one event a
translation cache must notice, which random code almost never produces (see
:class:`_SelfModifying`).  Programs are kept as assembly text, so a shrunk
counterexample prints as a program a person can read and re-run.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from .. import guests as G
from ..asm import AsmError, assemble, disassemble
from ..asm.syntax import syntax_table
from ..context import context_of
from ..memo import BoundedMemo
from ..interp import MachineState, step, step_once
from ..spec import ir
from ..spec.decode import decode
from ..spec.ir import mask

EXTRA_SYSCALL = 3  # the guest library sends syscall numbers >= 3 to the kernel code below
PUTC = 1  # putc(arg): the kernel appends arg to its output buffer (pg74's builds a store to do it)
_EXIT_CALL = ("syscall", 0)  # ends every user program (the guest library's exit)
SMC = "smc"  # the self-modifying item: ("smc", "user") or ("smc", "kernel"), placed by _SelfModifying
# The kinds of items, by weight: in a user program, and in the kernel code system call 3 runs.  "smc" is the
# self-modifying item (see _SelfModifying), drawn only where the ISA can do it; one item in six (one in eleven
# of the kernel's) finds the planted stale translation cache of tests/fuzz/quality on every seed tried, and
# leaves kernel code mostly to the privileged instructions the other defects need.  "call" is one of the
# further system calls a guest library declares ([guest.calls]: riscv32_sv32's change the page tables the
# user program runs on), drawn only where it declares some.
USER_ITEMS = {"instr": 3, "kernel": 1, "putc": 1, SMC: 1, "call": 2}
KERNEL_ITEMS = {"instr": 10, SMC: 1}


@dataclass(frozen=True)
class FuzzProgram:
    """A guest program: user code, kernel code run by system call 3, and a budget.

    ``user`` and ``kernel`` are items: ``("instr", name, operands)``,
    ``("syscall", number)`` or ``("syscall", number, argument)`` (the
    argument register set first), or ``("smc", "user" | "kernel")``, the
    self-modifying item, laid out for wherever it lands.  The machine image
    is built from their encodings onto the guest library assembled once per
    spec (fast); :meth:`assembly` renders the same program as text, which
    assembles to the same image.
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
        """The machine image: the guest library with this program's user and kernel code placed."""
        return self.loaded(spec)[0]

    def code_map(self, spec) -> dict:
        """Where :meth:`boot_state` put instructions: ``{"supervisor"|"user": {address: units}}``
        (see :meth:`vverify.guests.GuestProgram.code_map`)."""
        return self.loaded(spec)[1]

    def loaded(self, spec) -> tuple:
        """``(boot_state, code_map)`` in one pass over the items: the fuzzer needs both for every
        program, and each item's units and code are looked up once (:meth:`_Image.item_at`)."""
        img = _image(spec)
        st = img.state.copy()
        mem = st.mem
        user, kernel = {}, dict(img.code["supervisor"])
        addr = img.user_start
        for item in self.user:
            addr = img.item_at(item, addr, mem, user)
        addr = img.item_at(_EXIT_CALL, addr, mem, user)
        kaddr = img.sys_extra
        for item in self.kernel:
            kaddr = img.item_at(item, kaddr, mem, kernel)
        jump = img.jump_at(kaddr)
        mem.update(jump)
        kernel.update(img.jump_code(kaddr))
        # items go up from user_main and sys_extra: only the last unit of each can be past the end
        if img.off_memory or max(addr - 1, kaddr - 1, *jump) >= spec.memory.size:
            raise AsmError("the program runs off memory")
        return st, {"supervisor": kernel, "user": user}


class _Image:
    """The guest library assembled once per spec, with an empty user program and kernel hook."""

    def __init__(self, spec):
        from ..asm import assemble

        self.spec = spec
        prog = G.build(spec, "user_main:\n", "sys_extra:\n")
        self.state = G.boot_state(spec, prog)
        self.off_memory = any(a >= spec.memory.size for a in self.state.mem)
        self.code = prog.code_map()
        self.sys_extra = prog.symbols["sys_extra"]
        self.k_return = prog.symbols["k_return"]
        self._assemble = assemble
        lay = G.layout(spec)
        self.user_start = lay.user_base + lay.user_origin
        self.syscalls: dict = {}
        self.jumps: dict = {}
        # an instruction item's units, by name and operand values: a search draws the same few
        # instructions again and again, and encoding one costs more than looking it up
        self.instr_units = BoundedMemo(1 << 14)

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

    def item_at(self, item, addr, mem: dict, code: dict) -> int:
        """Place ``item`` at ``addr``: its units into ``mem``, where its instructions are into
        ``code`` (address -> units); the next address."""
        kind = item[0]
        if kind == "instr":
            key = (item[1], tuple(item[2].items()))
            units = self.instr_units.get(key)
            if units is None:
                units = self.instr_units.remember(key, _units_of(self.spec, item[1], item[2]))
            code[addr] = len(units)
        else:
            if kind == "syscall":
                units, offsets = self._syscall(*item[1:])
            elif kind == SMC:
                plan = _smc_plan(self.spec, item[1], addr)
                units, offsets = plan.units, plan.code
            else:
                raise ValueError(f"not a program item: {item!r}")
            code.update({addr + a: n for a, n in offsets.items()})
        for k, v in enumerate(units):
            mem[addr + k] = v
        return addr + len(units)


def _image(spec) -> _Image:
    return context_of(spec).memo("fuzz_image", _Image)


def _spec_path(name):
    from ..spec.bundled import find_bundled

    return find_bundled(name)


def _item_text(spec, item, addr) -> tuple:
    if item[0] == "syscall":
        call = G.syscall_text(spec, *item[1:])
        # its exact size: an item after it may name absolute addresses (the self-modifying one does)
        return "\n".join(f"        {c}" for c in call.splitlines()), len(_image(spec).syscall_units(*item[1:]))
    if item[0] == SMC:
        plan = _smc_plan(spec, item[1], _smc(spec, item[1]).physical(addr))  # text addresses are virtual
        return plan.text, len(plan.units)
    return _text(spec, item[1], item[2], addr), spec.instructions[item[1]].units


# ---------------------------------------------------------------- self-modifying code
#
# A translation cache is only as right as its invalidation, and random code
# almost never rewrites code that has already run and then runs it again (the
# planted stale cache of tests/fuzz/quality showed in 2-3% of programs).  So
# one item kind does exactly that.  Placed at address P of code that began at
# T (user_main, or sys_extra for kernel code: code that has run, from the
# start of a translated block), it is
#
#     [set a base register]        only where the ISA's loads and stores need one
#     load R, D+k / store R, T+k   for each memory word of V (k = 0, w, 2w ...)
#     jump T                       the guest library's jump
# D:  .word V                      V: that same jump, assembled at T, to OUT
# OUT:
#
# On the machine, T now jumps straight to OUT and the program goes on.  A
# translator that runs its old translation of T runs the code from the top
# again, comes back here, and loops until the budget ends.  Nothing in it is
# written per ISA: the semantics say which instructions copy a register to or
# from memory and which of their operands form the address, the reference
# interpreter says where an operand value reaches (run on the state the
# item's code starts from), and the spec's assembler assembles the jump.

_ENTRY_STEPS = 10_000  # enough for any bundled stub to boot and reach its user program
_SALTS = (0x2545F491, 0x9E3779B9)  # two register files that differ everywhere: what the item must not depend on


@dataclass(frozen=True)
class _Access:
    """An instruction that copies register ``reg`` (of ``file``) to memory (``store``) or from it,
    ``units`` units at an address its immediate operand ``free`` selects, relative to register
    ``base`` where the address has one."""

    store: bool
    name: str
    units: int
    file: str
    reg: str
    base: str | None
    free: str


@dataclass(frozen=True)
class _Plan:
    """The self-modifying item laid out at one address: its units, where its instructions are
    (offset -> units; the data word is not code) and its assembly text."""

    units: tuple
    code: dict
    text: str


def _depends(expr, defs) -> tuple:
    """The operands and locals ``expr`` reads, through the locals it reads (``defs``: name -> values)."""
    ops, locs, todo = set(), set(), [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, ir.Operand):
            ops.add(e.name)
        elif isinstance(e, ir.Local) and e.name not in locs:
            locs.add(e.name)
            todo.extend(defs.get(e.name, ()))
        todo.extend(ir.expr_children(e))
    return ops, locs


def _plain(spec, instr) -> list | None:
    """The statements of ``instr``, or None if it is not for an unmodified guest or may jump."""
    stmts = list(ir.walk_stmts(instr.body))
    if instr.paravirtual or any(isinstance(s, ir.SetReg) and s.name == "pc" for s in stmts):
        return None
    return stmts


def _accesses(spec) -> list:
    """Every instruction whose semantics copy one register to or from memory and nothing else
    there, with the operands' roles read off the semantics; wider copies first."""
    out = []
    for name, instr in spec.instructions.items():
        stmts = _plain(spec, instr)
        if stmts is None:
            continue
        defs: dict = {}
        for s in stmts:
            if isinstance(s, ir.SetLocal):
                defs.setdefault(s.name, []).append(s.value)
        stores = [s for s in stmts if isinstance(s, ir.Store)]
        loads = [s for s in stmts if isinstance(s, ir.Load)]
        if len(stores) + len(loads) != 1:
            continue
        if stores:
            addr = _depends(stores[0].addr, defs)[0]
            moved = _depends(stores[0].value, defs)[0] - addr
        else:
            addr = _depends(loads[0].addr, defs)[0]
            moved = {s.index.name for s in stmts if isinstance(s, ir.SetFile) and isinstance(s.index, ir.Operand)
                     and loads[0].local in _depends(s.value, defs)[1]}
        regs = [o for o in moved if spec.operands[o].kind == "reg"]
        bases = [o for o in addr if spec.operands[o].kind == "reg"]
        if len(regs) != 1 or len(bases) > 1:
            continue
        units = (stores or loads)[0].units
        for free in sorted(o for o in addr if spec.operands[o].kind == "imm" and not spec.operands[o].pcrel):
            out.append(_Access(bool(stores), name, units, spec.operands[regs[0]].file, regs[0],
                               bases[0] if bases else None, free))
    return sorted(out, key=lambda a: -a.units)


def _fits(spec, name, op, value) -> bool:
    """Whether ``value`` is one that operand ``op`` of ``name`` can hold (two's complement if signed)."""
    w = spec.instructions[name].operands[op]
    lo, hi = (-(1 << (w - 1)), 1 << (w - 1)) if spec.operands[op].signed else (0, 1 << w)
    return lo <= value < hi


def _encodes(spec, name, ops) -> bool:
    """Whether ``ops`` survive encoding (no bits dropped) and the word decodes back to ``name``."""
    return decode(spec, spec.instructions[name].encoding.encode(ops)) == (name, ops)


def _units_of(spec, name, ops) -> list:
    word = spec.instructions[name].encoding.encode(ops)
    u = spec.memory.unit
    return [(word >> (k * u)) & mask(u) for k in range(spec.instructions[name].units)]


def _word(read, addr, n, unit) -> int:
    return sum(read(addr + k) << (k * unit) for k in range(n))


class _SelfModifying:
    """The self-modifying item of one spec, in user or kernel code, laid out wherever it lands.

    Derived once per spec (:func:`_smc`): the state the item's code starts
    from, a load and a store that copy the same register, and whether they
    need a base register.  :meth:`plan` lays it out at one address (each
    address once), and every layout is run on the reference interpreter
    before it is used, so an item in a program always does what it says.
    ``pair`` is None where the ISA cannot do it (no such load and store, or
    the code cannot be written from where it runs): the item is then never drawn.
    """

    def __init__(self, spec, img, where: str):
        lay = G.layout(spec)
        self.spec, self.img, self.where = spec, img, where
        if where == "user":
            self.label, self.entry, self.offset = "user_main", lay.user_origin, lay.user_base
        else:
            self.label, self.entry, self.offset = "sys_extra", img.sys_extra, 0
        self._models, self._setters, self._jumps, self._plans = {}, {}, {}, {}
        self.pair = None
        self.state = self._entry_state()
        if self.state is not None:
            self.pair = self._choose()

    def physical(self, addr: int) -> int:
        return (addr + self.offset) % self.spec.memory.size

    def virtual(self, addr: int) -> int:
        return (addr - self.offset) % self.spec.memory.size

    def plan(self, at: int) -> _Plan | None:
        """The item laid out at (virtual) address ``at``, or None if it cannot reach from there."""
        if at not in self._plans:
            self._plans[at] = self._plan(at) if self.pair else None
        return self._plans[at]

    # ---------------------------------------------------------------- where the item's code starts

    def _entry_state(self):
        """The machine as the guest library leaves it at T: user_main in user mode, or sys_extra in
        supervisor mode after a user program's system call 3.  None if it never gets there."""
        spec, img = self.spec, self.img
        s = img.state.copy()
        modes = spec.user if self.where == "user" else spec.supervisor
        if self.where == "kernel":
            lay = G.layout(spec)
            for k, u in enumerate(img.syscall_units(EXTRA_SYSCALL)):
                s.mem[lay.user_base + lay.user_origin + k] = u
        for _ in range(_ENTRY_STEPS):
            if s.regs["pc"] == self.entry and spec.mode_name(s.regs["mode"]) in modes:
                return s
            s, done = step_once(spec, s)
            if done.kind not in ("ok", "trap"):
                return None
        return None

    def _registers(self, file: str, avoid=()) -> list:
        """The registers of ``file`` the item may use, highest first (hardwired ones hold no value)."""
        f = self.spec.files[file]
        return [i for i in range(f.count - 1, -1, -1) if i not in f.hardwired and (file, i) not in avoid]

    def _moved(self, acc):
        return acc.file, self._registers(acc.file)[0]

    def _base_register(self, acc):
        bfile = self.spec.operands[acc.base].file
        return bfile, self._registers(bfile, avoid={self._moved(acc)})[0]

    # ---------------------------------------------------------------- probing one instruction

    def _probe_states(self, fixed: dict, backing=None) -> list:
        """Two copies of the entry state whose register files differ everywhere but in ``fixed``
        ({(file, index): value}), on empty memory (or memory read from ``backing``)."""
        out = []
        for salt in _SALTS:
            files = {}
            for f, vals in self.state.files.items():
                d = self.spec.files[f]
                files[f] = [v if i in d.hardwired else (salt * (i + 7)) & mask(d.width) for i, v in enumerate(vals)]
            for (f, i), v in fixed.items():
                files[f][i] = v
            out.append(MachineState(dict(self.state.regs), files, {}, 0, backing))
        return out

    def _tag(self, units: int):
        """Memory where each aligned ``units``-unit word holds its own address: what a load shows it read."""
        u = self.spec.memory.unit
        return lambda a: ((a - a % units) >> ((a % units) * u)) & mask(u)

    def _marker(self, units: int) -> int:
        u = self.spec.memory.unit
        return sum((((0x5A + 0x33 * k) | 1) & mask(u)) << (k * u) for k in range(units))

    def _operands(self, acc, imm: int, base) -> dict:
        ops = {o: 0 for o in self.spec.instructions[acc.name].operands}
        ops[acc.reg] = self._moved(acc)[1]
        ops[acc.free] = imm
        if acc.base is not None and base is not None:
            ops[acc.base] = self._base_register(acc)[1]
        return ops

    def _address(self, acc, ops, base) -> int | None:
        """The physical address ``acc`` with ``ops`` reaches, the same whatever the other registers
        hold (the base register holding ``base``), or None (a trap, or not a plain copy)."""
        spec, u = self.spec, self.spec.memory.unit
        fixed = {self._base_register(acc): base} if acc.base is not None and base is not None else {}
        file, reg = self._moved(acc)
        if acc.store:
            marker = self._marker(acc.units)
            states = self._probe_states({**fixed, (file, reg): marker})
        else:
            tag = self._tag(acc.units)
            states = self._probe_states(fixed, tag)
        seen = set()
        for s in states:
            after, out = step(spec, s, acc.name, ops)
            if out.kind != "ok":
                return None
            if acc.store:
                changed = sorted(a for a, v in after.mem.items() if v != s.read_mem(a))
                if not changed or changed != list(range(changed[0], changed[0] + acc.units)) \
                        or _word(after.read_mem, changed[0], acc.units, u) != marker:
                    return None
                seen.add(changed[0])
            else:
                got = after.files[file][reg] & mask(acc.units * u)
                if got >= spec.memory.size or _word(tag, got, acc.units, u) != got:
                    return None
                seen.add(got)
        return seen.pop() if len(seen) == 1 else None

    def _model(self, acc, base):
        """``(address at immediate 0, address step per unit of immediate)``: addresses are affine in
        the immediate (relocation and bases only add), so two probes tell them all."""
        key = (acc, base)
        if key not in self._models:
            self._models[key] = None
            a0 = self._address(acc, self._operands(acc, 0, base), base)
            a1 = self._address(acc, self._operands(acc, acc.units, base), base)
            if a0 is not None and a1 is not None:
                step_ = (a1 - a0) % (1 << self.spec.memory.address)
                if step_ and step_ % acc.units == 0:
                    self._models[key] = (a0, step_ // acc.units)
        return self._models[key]

    def _reaching(self, acc, target: int, base) -> dict | None:
        """Operands with which ``acc`` copies at physical address ``target``, or None."""
        model = self._model(acc, base)
        if model is None:
            return None
        a0, scale = model
        span = 1 << self.spec.memory.address
        w = self.spec.instructions[acc.name].operands[acc.free]
        for off in ((target - a0) % span, (target - a0) % span - span):
            if off % scale == 0 and _fits(self.spec, acc.name, acc.free, off // scale):
                ops = self._operands(acc, (off // scale) & mask(w), base)
                if _encodes(self.spec, acc.name, ops):
                    return ops
        return None

    def _setter(self, file: str, index: int, value: int):
        """An instruction that sets register ``index`` of ``file`` to ``value`` whatever the others hold."""
        key = (file, index, value)
        if key not in self._setters:
            self._setters[key] = self._find_setter(file, index, value)
        return self._setters[key]

    def _find_setter(self, file, index, value):
        spec = self.spec
        for name, instr in spec.instructions.items():
            stmts = _plain(spec, instr)
            if stmts is None or any(isinstance(s, (ir.Load, ir.Store)) for s in stmts):
                continue
            sets = [s for s in stmts
                    if isinstance(s, ir.SetFile) and s.file == file and isinstance(s.index, ir.Operand)]
            if len(sets) != 1:
                continue
            for free, w in instr.operands.items():
                if spec.operands[free].kind != "imm" or spec.operands[free].pcrel:
                    continue
                ops = {o: 0 for o in instr.operands}
                ops[sets[0].index.name] = index
                ops[free] = value & mask(w)
                if not _fits(spec, name, free, value) or not _encodes(spec, name, ops):
                    continue
                if all(out.kind == "ok" and after.files[file][index] == value and not after.mem
                       for after, out in (step(spec, s, name, ops) for s in self._probe_states({}))):
                    return name, ops
        return None

    # ---------------------------------------------------------------- laying the item out

    def _jump(self, at: int, target: int) -> list:
        """The units of the guest library's jump, assembled at ``at`` to ``target``."""
        key = (at, target)
        if key not in self._jumps:
            p = assemble(self.spec, f".equ smc_to, {target}\n.org {at}\n{G.jump_text(self.spec, 'smc_to')}")
            self._jumps[key] = [p.memory.get(a, 0) for a in range(at, max(p.memory) + 1)]
        return self._jumps[key]

    def _bases(self) -> list:
        """Values for the base register, when the pair needs one: T rounded down, then up, to ever
        finer boundaries (what an ISA's immediates can load, lui-style, and its offsets reach)."""
        load, store, based = self.pair
        if not based:
            return [None]
        acc = store if store.base is not None else load
        width = self.spec.files[self._base_register(acc)[0]].width
        t = self.entry
        down = [t & ~mask(k) for k in range(width, -1, -1)]
        up = [(t + mask(k)) & ~mask(k) & mask(width) for k in range(1, width + 1)]
        return list(dict.fromkeys(down + up))

    def _choose(self):
        """The first load and store of the same register (with a base register only if need be)
        whose item, laid out at T, runs as it should."""
        accs = _accesses(self.spec)
        for store in (a for a in accs if a.store):
            for load in (a for a in accs if not a.store and (a.file, a.units) == (store.file, store.units)):
                for based in ((False, True) if store.base or load.base else (False,)):
                    self.pair = (load, store, based)
                    if self._plan(self.entry) is not None:
                        return self.pair
        return None

    def _plan(self, at: int) -> _Plan | None:
        for base in self._bases():
            plan = self._lay_out(at, base)
            if plan is not None:
                return plan
        return None

    def _lay_out(self, at: int, base) -> _Plan | None:
        spec = self.spec
        load, store, _ = self.pair
        w = store.units
        setter = None
        if base is not None:
            setter = self._setter(*self._base_register(store if store.base else load), base)
            if setter is None:
                return None
        first = at + (spec.instructions[setter[0]].units if setter else 0)
        pair_units = spec.instructions[load.name].units + spec.instructions[store.name].units
        words = -(-len(self._jump(self.entry, self.entry)) // w)
        for pairs in (words, words + 1):  # in case the jump's length depends on how far it goes
            back_at = first + pairs * pair_units
            data = back_at + len(self._jump(back_at, self.entry))
            out = data + pairs * w
            v = self._jump(self.entry, out)
            if len(v) <= pairs * w:
                return self._assemble(at, base, setter, pairs, back_at, data, out, v + [0] * (pairs * w - len(v)))
        return None

    def _assemble(self, at, base, setter, pairs, back_at, data, out, value) -> _Plan | None:
        spec = self.spec
        load, store, _ = self.pair
        w = store.units
        instrs = [setter] if setter else []
        for k in range(pairs):
            lops = self._reaching(load, self.physical(data + k * w), base)
            sops = self._reaching(store, self.physical(self.entry + k * w), base)
            if lops is None or sops is None:
                return None
            instrs += [(load.name, lops), (store.name, sops)]
        units, code, lines, addr = [], {}, [], at
        for name, ops in instrs:
            code[addr - at] = spec.instructions[name].units
            units += _units_of(spec, name, ops)
            lines.append(_text(spec, name, ops, addr))
            addr += spec.instructions[name].units
        back = self._jump(back_at, self.entry)
        code[back_at - at] = len(back)
        units += back + value
        cc = syntax_table(spec).comment_chars[:1]
        jump = disassemble(spec, value, origin=self.entry)[0].text
        lines.append(f"        {G.jump_text(spec, self.label)}")
        lines.append(f"        .word {', '.join(f'{u:#x}' for u in value)}   {cc} written over {self.label}: {jump}")
        plan = _Plan(tuple(units), code, "\n".join(lines))
        return plan if self._runs(at, plan, out, value) else None

    def _runs(self, at, plan, out, value) -> bool:
        """Whether the item, placed at ``at`` on the entry state, rewrites T and comes out at OUT
        through the new code there: the reference interpreter's word on the layout."""
        spec = self.spec
        s = self.state.copy()
        for k, u in enumerate(plan.units):
            s.mem[self.physical(at + k)] = u
        s.regs["pc"] = at
        mode = s.regs["mode"]
        for _ in range(len(plan.code) + 1):  # the item's instructions, then the new code at T
            s, done = step_once(spec, s)
            if done.kind != "ok" or s.regs["mode"] != mode:
                return False
        return s.regs["pc"] == out and [s.read_mem(self.physical(self.entry + k)) for k in range(len(value))] == value


def _smc(spec, where: str) -> _SelfModifying:
    """The spec's self-modifying item for ``where`` (user or kernel code), derived once per spec."""
    return context_of(spec).memo(("fuzz_smc", where), lambda s: _SelfModifying(s, _image(s), where))


def _smc_plan(spec, where: str, addr: int) -> _Plan:
    """The item at physical address ``addr``; an AsmError (the search rejects the program) if it cannot be there."""
    smc = _smc(spec, where)
    plan = smc.plan(smc.virtual(addr))
    if plan is None:
        raise AsmError(f"the self-modifying item cannot rewrite {smc.label} from {smc.virtual(addr):#x}")
    return plan


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


def _nbytes(n: int) -> int:
    """Bytes enough to pick one of ``n`` choices evenly (:func:`_pick`): the bits to count them,
    and a byte more where ``n`` is not a power of two, so that no choice is favoured by more
    than one part in 256."""
    bits = max((n - 1).bit_length(), 1) + (0 if n & (n - 1) == 0 else 8)
    return -(-bits // 8)


def _pick(n: int, value: int, nbytes: int) -> int:
    """One of ``n`` choices from a value of ``nbytes`` bytes: 0 picks the first, as a shrunk draw does."""
    return value * n >> (8 * nbytes)


def _zigzag(lo: int, hi: int) -> list:
    """``lo .. hi`` in the order a shrinker prefers them: 0 first, then 1, -1, 2, -2 ..."""
    return sorted(range(lo, hi + 1), key=lambda v: (abs(v), v < 0))


SMALL = {True: _zigzag(-8, 8), False: list(range(17))}  # an immediate's small values, signed or not
SHORT_BRANCHES = _zigzag(-4, 6)  # pc-relative offsets, in instructions: short branches, either way
PUTC_VALUES = 16  # putc's argument: small, and often nonzero, so that the output shows what was written


class _Draws:
    """How one spec's instructions are drawn, built once per spec and weights.

    An instruction is one Hypothesis choice: ``size`` bytes, which
    :meth:`instruction_of` reads as the name (by weight) and each operand
    in turn.  Hypothesis pays for every draw (a span, a choice, its record
    in the tree of tried programs), far more than for the size of one, and
    drawing the name and each operand apart made four to six draws of every
    instruction and most of a fuzz run's time.  One draw per instruction
    keeps what the separate draws gave the search: the shrinker lowers each
    byte towards 0, which reads as the first name and each operand's
    simplest value (register 0, an immediate 0, the first enumeration
    member, a pc-relative offset 0), and an instruction is still
    one span, which the mutator copies between places in a program.
    """

    def __init__(self, spec, weights: dict):
        names = sorted(n for n, i in spec.instructions.items() if not i.paravirtual)  # an unmodified guest's ISA
        self.names = [n for n in names for _ in range(weights.get(n, 1))]
        self.name_bytes = _nbytes(len(self.names))
        self.flagged = frozenset(n for n in names if weights.get(n, 1) > 1)
        self.fields = {}  # name -> [(operand, how, choices, bytes, pc-relative scale or 0, mask)]
        for name in names:
            instr = spec.instructions[name]
            ilen = instr.units * (spec.memory.unit // 8 if spec.memory.unit >= 8 else 1)
            fields = []
            for op, width in instr.operands.items():
                decl, m = spec.operands[op], mask(width)
                wide = -(-width // 8)  # bytes for any value of the operand
                if decl.kind == "reg":
                    count = spec.files[decl.file].count
                    fields.append((op, "pick", tuple(range(count)), _nbytes(count), 0, m))
                elif decl.kind == "enum":  # a member, or any value (1 byte says which)
                    members = tuple(sorted(spec.enums[decl.enum].values()))
                    fields.append((op, "enum", members, 1 + max(_nbytes(len(members)), wide), 0, m))
                elif decl.pcrel:
                    fields.append((op, "pick", tuple(SHORT_BRANCHES), _nbytes(len(SHORT_BRANCHES)), ilen, m))
                else:  # small, boundary or any value (1 byte says which)
                    fields.append((op, "imm", (tuple(SMALL[decl.signed]), (0, 1, m, m >> 1)), 1 + wide, 0, m))
            self.fields[name] = fields
        self.size = self.name_bytes + max(sum(f[3] for f in fs) for fs in self.fields.values())
        self.excluded = {n: spec.instructions[n].encoding.excluded for n in names
                         if spec.instructions[n].encoding.excluded}
        self.instruction = st.binary(min_size=self.size, max_size=self.size).map(self.instruction_of)

    def instruction_of(self, data: bytes, at: int = 0):
        """The instruction ``data[at:at + size]`` stands for: ``(name, operand values)``, never a
        value its encoding excludes."""
        nb = self.name_bytes
        name = self.names[_pick(len(self.names), int.from_bytes(data[at:at + nb], "little"), nb)]
        at += nb
        ops = {}
        excluded = self.excluded.get(name, {})
        for op, how, choices, nbytes, scale, m in self.fields[name]:
            if how == "pick":
                v = choices[_pick(len(choices), int.from_bytes(data[at:at + nbytes], "little"), nbytes)]
            else:
                value = int.from_bytes(data[at + 1:at + nbytes], "little")
                if how == "enum":
                    v = choices[_pick(len(choices), value, nbytes - 1)] if data[at] < 128 else value
                else:
                    branch = _pick(3, data[at], 1)
                    v = value if branch == 2 else choices[branch][_pick(len(choices[branch]), value, nbytes - 1)]
            at += nbytes
            v = (v * (scale or 1)) & m
            while v in excluded.get(op, ()):  # the next allowed value (there is one: the loader saw to it)
                v = (v + 1) & m
            ops[op] = v
        return name, ops


class _Items:
    """How the items of one kind of code (user or kernel) are drawn: each is one draw of bytes, the
    first of which picks the item's kind by its weight (:data:`USER_ITEMS`, :data:`KERNEL_ITEMS`;
    0 picks an instruction), the rest the instruction (:class:`_Draws`), putc's argument, or which
    of the guest library's further calls and its argument."""

    def __init__(self, spec, weights: dict, where: str, kinds: dict):
        self.where = where
        self.draws = _Draws(spec, weights)
        self.calls = [(n, args) for n, args, _ in spec.guest.calls.values()] if spec.guest else []
        self.kinds = [k for k, n in kinds.items() for _ in range(n)
                      if (k != SMC or _smc(spec, where).pair) and (k != "call" or self.calls)]
        self.strategy = _unwrapped(st.binary(min_size=1 + self.draws.size, max_size=1 + self.draws.size))

    def item(self, data: bytes) -> tuple:
        kind = self.kinds[_pick(len(self.kinds), data[0], 1)]
        if kind == "instr":
            return ("instr", *self.draws.instruction_of(data, 1))
        if kind == SMC:
            return (SMC, self.where)
        if kind == "kernel":
            return ("syscall", EXTRA_SYSCALL)
        if kind == "call":
            n, args = self.calls[_pick(len(self.calls), data[1], 1)]
            return ("syscall", n, _pick(args, data[2], 1))
        return ("syscall", PUTC, _pick(PUTC_VALUES, data[1], 1))


def _items(spec, weights: dict, where: str) -> _Items:
    kinds = USER_ITEMS if where == "user" else KERNEL_ITEMS
    key = ("fuzz_items", where, tuple(sorted(weights.items())))
    return context_of(spec).memo(key, lambda s: _Items(s, weights, where, kinds))


_strategy_cache: dict = {}


def _integers(lo, hi):
    if (lo, hi) not in _strategy_cache:
        _strategy_cache[lo, hi] = _unwrapped(st.integers(lo, hi))
    return _strategy_cache[lo, hi]


def _unwrapped(strategy):
    """The strategy a Hypothesis strategy function made, without the lazy wrapper it hands out.

    Hypothesis unwraps that wrapper on every draw, a tenth of what drawing a
    program cost; the strategy inside draws the same values.  Where a
    version of Hypothesis has no such wrapper, the strategy as it is."""
    return getattr(strategy, "wrapped_strategy", strategy)


def _text(spec, name, ops, addr) -> str:
    """The instruction as assembly, disassembled at the address it will occupy."""
    instr = spec.instructions[name]
    word = instr.encoding.encode(ops)
    m = spec.memory
    units = [(word >> (k * m.unit)) & mask(m.unit) for k in range(instr.units)]
    lines = disassemble(spec, units, origin=addr)
    return "\n".join(f"        {ln.text}" for ln in lines)


def fuzz_programs(spec, weights, max_user=12, max_kernel=6, budget=400) -> st.SearchStrategy:
    """A strategy of :class:`FuzzProgram` for ``spec``: a count of user items, the items, a count of
    kernel items, the items; each item one draw (see :class:`_Draws`).

    Made once per spec and arguments: a search asks for it every time, and making a composite
    strategy reads its function's source (milliseconds, a few percent of a short search)."""
    key = ("fuzz_programs", tuple(sorted(weights.user.items())), tuple(sorted(weights.kernel.items())),
           max_user, max_kernel, budget)
    return context_of(spec).memo(key, lambda s: _programs(s, weights, max_user, max_kernel, budget))


def _programs(spec, weights, max_user, max_kernel, budget) -> st.SearchStrategy:
    user, kernel = _items(spec, weights.user, "user"), _items(spec, weights.kernel, "kernel")
    # The two counts are drawn from strategies of different kinds, so that Hypothesis' mutator, which
    # copies a span over another of the same label, never copies one count over the other: a user
    # count put where the kernel's was read past the end of the program's choices, and such
    # mutations were one run in six, each paid for in full and thrown away.
    n_user, n_kernel = _integers(1, max_user), _unwrapped(st.sampled_from(range(max_kernel + 1)))

    @st.composite
    def programs(draw):
        u = tuple(user.item(draw(user.strategy)) for _ in range(draw(n_user)))
        k = tuple(kernel.item(draw(kernel.strategy)) for _ in range(draw(n_kernel)))
        flagged = sum(1 for it in u if it[0] == "instr" and it[1] in user.draws.flagged) + \
            sum(1 for it in k if it[0] == "instr" and it[1] in kernel.draws.flagged)
        return FuzzProgram(spec.name, u, k, budget, flagged)

    return programs()
