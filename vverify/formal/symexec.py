"""IR -> z3: symbolic execution of one instruction.

Values are either Python ints/bools (known) or z3 terms (symbolic).  Known
values are folded as they go, so fixing the mode or an operand (as the
classifier does for every query) prunes whole branches before z3 sees them.

Control flow is merged, not forked: every write is guarded by its path
condition, so one pass yields one term per state field with no path
explosion.

Traps and exits are precise (the interpreter drops the instruction's own
effects and, for a trap, runs the entry on the state before it), so a write
is *not* guarded by "no trap yet": the body's state is only ever read where
the instruction neither traps nor exits, and there every earlier check
passed.  The outcome is chosen once, at the end (:func:`step`).  Where a
spec writes its checks, before or after the accesses they guard, thus gives
the same terms, and a native run and its placement, whose checks differ,
still store the same cells under the same guards (docs/theory.md, "Traps
and writes").  A halt is not precise, so writes stay guarded by "not halted
yet"; a trap's cause, its value and the halt itself stay guarded by
"nothing ended the instruction yet", since the first event wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3
from z3 import z3core

from ..spec import ir
from ..spec.ir import BOOL, MMU_PREFIX, mask, to_signed


# ---------------------------------------------------------------- values


def const(v, width):
    """A z3 term for ``v`` (known or not)."""
    if isinstance(v, bool) or width == BOOL:
        return z3.BoolVal(bool(v)) if isinstance(v, (bool, int)) else v
    return z3.BitVecVal(v, width) if isinstance(v, int) else v


def known(v) -> bool:
    return isinstance(v, (int, bool))


def AND(a, b):
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return z3.And(a, b)


def OR(a, b):
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return z3.Or(a, b)


def NOT(a):
    if known(a):
        return not a
    return z3.Not(a)


def ITE(c, a, b, width):
    if known(c):
        return a if c else b
    if known(a) and known(b) and a == b:
        return a
    if a is b:
        return a
    return z3.If(c, const(a, width), const(b, width))


def ITE_ARRAY(c, a, b):
    if known(c):
        return a if c else b
    if a is b:
        return a
    return z3.If(c, a, b)


def EQ(a, b, width):
    if known(a) and known(b):
        return a == b
    return const(a, width) == const(b, width)


def simplify_value(v):
    if known(v):
        return v
    s = z3.simplify(v)
    if z3.is_bv_value(s):
        return s.as_long()
    if z3.is_true(s):
        return True
    if z3.is_false(s):
        return False
    return s


# ----------------------------------------------------------------- state


@dataclass
class ZState:
    """A (partly) symbolic machine state.

    ``mem`` holds memory in *guest* coordinates: physical address ``p`` is
    ``mem[p - offset]``.  A placement that moves the guest's storage by x
    therefore keeps the same array and sets ``offset = x``, which makes
    "seen back through the map" the identity on memory and keeps every
    query free of quantifiers.

    ``root`` is the array ``mem`` started from, and ``writes`` the stores
    made since, oldest first, as ``(guard, index, value)`` cells in guest
    coordinates.  The symbolic executor reads memory through this log: a
    read over a store whose index provably differs (``a+4`` and ``a+8``)
    skips it before z3 sees it, where ``Select`` over a ``Store`` chain would
    leave every such pair to the array solver.  Two states with the same
    root can only differ at logged indices, so queries compare memories cell
    by cell (:func:`mem_differs`).  ``mem`` is kept as the equivalent array
    term for whoever wants one.

    ``banks`` are the exchanges of banked registers' copies that placed this
    state (vverify.spec.banks), as the classifier made them: like the memory
    offset, they travel with the state through a step, and the guest's view
    of a result exchanges them back.
    """

    regs: dict
    files: dict
    mem: object = None
    offset: object = 0
    root: object = None
    writes: tuple = ()
    banks: tuple = ()

    def copy(self):
        return ZState(dict(self.regs), dict(self.files), self.mem, self.offset, self.root, self.writes, self.banks)

    def read(self, idx, path=True):
        """The memory cell at guest index ``idx`` (a z3 term), as a read on path ``path`` sees it.

        A logged store whose guard contradicts ``path`` (one holds a condition the other negates:
        the two arms of an ``if``) never happened where the read's value is used, so it is left
        out.  Without that, a read after an ``if`` whose arms both store (the same delivery
        written for two causes, a push on the inner stack or on the current one) would carry
        every store of the arm it is not on, and its address into every later read: the terms
        grow with each dependent access (docs/paging.md, x86_32_pg)."""
        if self.root is None:
            return z3.Select(self.mem, idx)
        v = z3.Select(self.root, idx)
        key, c = _linear(idx)
        lits = _literals(path) if self.writes and path is not True else None
        for g, i, val in self.writes:
            if lits is not None and _excludes(g, lits):
                continue
            ki, ci = _linear(i)
            if ki == key:  # the same sum of terms: equal exactly when the constants are
                if ci != c:
                    continue
                v = ITE(g, val, v, 0)
            else:
                v = _select_ite(g, i, idx, val, v)
        return v


def _select_ite(g, i, idx, val, v):
    """``If(g and i == idx, val, v)``, built through the C API: reads over a
    long store log make many of these, and the Python wrappers' coercions
    dominate the cost."""
    ctx = idx.ctx
    ref = ctx.ref()
    c = z3core.Z3_mk_eq(ref, i.as_ast(), idx.as_ast())
    if g is not True:
        args = (z3.Ast * 2)(const(g, BOOL).as_ast(), c)
        c = z3core.Z3_mk_and(ref, 2, args)
    return z3.BitVecRef(z3core.Z3_mk_ite(ref, z3.BoolRef(c, ctx).as_ast(), val.as_ast(), v.as_ast()), ctx)


_LINEAR: dict = {}


def _linear(e):
    """``(key, constant)`` of an address term ``t1 + ... + tn + constant``.

    Two addresses with the same key differ by the difference of their
    constants (modulo 2^width), so they are provably equal or provably not.
    """
    k = e.get_id()
    hit = _LINEAR.get(k)
    if hit is not None and hit[0].eq(e):
        return hit[1]
    if z3.is_bv_value(e):
        out = ((), e.as_long())
    elif e.decl().kind() == z3.Z3_OP_BADD:
        c, ids = 0, []
        for ch in e.children():
            if z3.is_bv_value(ch):
                c += ch.as_long()
            else:
                ids.append(ch.get_id())
        out = (tuple(sorted(ids)), c & mask(e.size()))
    else:
        out = ((k,), 0)
    if len(_LINEAR) > 200000:
        _LINEAR.clear()
    _LINEAR[k] = (e, out)  # keeping e alive keeps its id from being reused
    return out


_LITERALS: dict = {}
_SIMPLIFIED: dict = {}  # id of a store's logged (simplified) guard -> (that guard, the guard as built)


def _literal(e):
    """``(atom, polarity)`` of a formula: ``Not(a)`` is ``a`` with polarity False."""
    pol = True
    while z3.is_not(e):
        e, pol = e.arg(0), not pol
    return e, pol


def _literals(cond):
    """The conjuncts of ``cond`` as ``({atom id: polarity}, clauses)``: a conjunct that is itself a
    disjunction (``Or(...)``, or ``Not(And(...))``, how the ``else`` of an ``if`` on ``p and q``
    reads) is a clause, a tuple of ``(atom id, polarity)`` one of which holds.

    The conditions are taken as the executor built them, not as z3's rewriter leaves them: an
    ``if`` puts the very term ``c`` on one arm's path and ``Not(c)`` on the other's, while the
    rewriter, run on a whole guard, may rewrite ``c`` differently in each.  A store's guard is
    logged simplified (:meth:`_Exec.stmt`), so its built form is looked up in ``_SIMPLIFIED``."""
    if known(cond):
        return {}, ()
    k = cond.get_id()
    hit = _LITERALS.get(k)
    if hit is not None and hit[0].eq(cond):
        return hit[1]
    lits: dict = {}
    clauses = []
    todo = [cond]
    while todo:
        e = todo.pop()
        built = _SIMPLIFIED.get(e.get_id())
        if built is not None and built[0].eq(e):
            e = built[1]
        if z3.is_and(e):
            todo.extend(e.children())
            continue
        atom, pol = _literal(e)
        if z3.is_true(atom) or z3.is_false(atom):
            continue
        lits[atom.get_id()] = pol
        if (pol and z3.is_or(atom)) or (not pol and z3.is_and(atom)):
            clause = []
            for ch in atom.children():
                a, p = _literal(ch)
                clause.append((a.get_id(), p if pol else not p))
            clauses.append(tuple(clause))
    out = (lits, tuple(clauses))
    if len(_LITERALS) > 50000:
        _LITERALS.clear()
    _LITERALS[k] = (cond, out)  # keeping cond alive keeps its id from being reused
    return out


def _remember_simplified(simplified, built):
    """Record that a logged guard ``simplified`` was built as ``built`` (see :func:`_literals`)."""
    if known(simplified) or known(built) or simplified.eq(built):
        return
    if len(_SIMPLIFIED) > 50000:
        _SIMPLIFIED.clear()
    _SIMPLIFIED[simplified.get_id()] = (simplified, built)


def _refutes(lits: dict, other) -> bool:
    """Whether the literals ``lits`` of one condition contradict the other condition ``other``
    (its literals and clauses): an atom with both polarities, or a clause all of whose literals
    ``lits`` negate."""
    olits, oclauses = other
    for k, pol in olits.items():
        mine = lits.get(k)
        if mine is not None and mine != pol:
            return True
    for clause in oclauses:
        if all(lits.get(k, pol) != pol for k, pol in clause):
            return True
    return False


def _excludes(guard, path) -> bool:
    """Whether ``guard`` and the path whose :func:`_literals` are ``path`` contradict each other
    syntactically (see :func:`_literals`): then no state satisfies both, and a store under ``guard``
    is invisible to a read on that path.  Sound, not complete: a miss only keeps a store."""
    if known(guard):
        return guard is False
    g = _literals(guard)
    return _refutes(g[0], path) or _refutes(path[0], g)


def _guarded(writes, g):
    return tuple((AND(w, g), i, v) for w, i, v in writes)


def mem_differs(a: ZState, b: ZState):
    """Whether the memories of two states differ, as a condition."""
    if a.mem is b.mem:
        return False
    if a.root is None or b.root is None or not a.root.eq(b.root):
        return a.mem != b.mem
    seen, out = set(), False
    for _, i, _ in a.writes + b.writes:
        if i.get_id() not in seen:
            seen.add(i.get_id())
            out = OR(out, a.read(i) != b.read(i))
    return out


class ZResult:
    """The outcome of one symbolic step.

    ``state`` is the state after the step, the trap entry's included; it is
    built on first use, since most queries assert that the step neither
    traps nor exits and compare ``body``, the state the instruction's own
    body leaves (equal to ``state`` whenever it neither traps nor exits, and
    free of the trap entry's terms).  Where the step traps or exits, ``body``
    holds writes that the trap discards (they are not guarded by "no trap
    yet"): read it only under "does not stop".
    """

    def __init__(self, state, trapped, cause, tval, halted, exited=False, exit_kind=0, body=None, make_state=None):
        self._state = state
        self._make_state = make_state
        self.trapped = trapped  # bool or z3 Bool
        self.cause = cause  # cause index (int or BV)
        self.tval = tval
        self.halted = halted  # halted (and did not trap)
        self.exited = exited  # hypercall or vmexit: control left the guest (state as before)
        self.exit_kind = exit_kind  # index into ir.LEAVE_KINDS
        self.body = body if body is not None else state

    @property
    def state(self) -> ZState:
        if self._state is None:
            self._state = self._make_state()
            self._make_state = None
        return self._state

    @property
    def stopped(self):
        """Control did not stay with the guest: a trap or an exit to the hypervisor."""
        return OR(self.trapped, self.exited)


def fresh_state(spec, tag: str, fixed: dict | None = None) -> ZState:
    """A fully symbolic state named ``tag``; ``fixed`` pins some registers."""
    fixed = fixed or {}
    regs = {}
    for name, r in spec.registers.items():
        regs[name] = fixed[name] if name in fixed else z3.BitVec(f"{tag}.{name}", r.width)
    files = {name: z3.Array(f"{tag}.{name}", z3.BitVecSort(f.index_width), z3.BitVecSort(f.width))
             for name, f in spec.files.items()}
    mem = None
    if spec.memory:
        mem = z3.Array(f"{tag}.mem", z3.BitVecSort(spec.memory.address), z3.BitVecSort(spec.memory.unit))
    return ZState(regs, files, mem, 0, mem)


# -------------------------------------------------------------- executor


class _Exec:
    def __init__(self, spec, state: ZState, operands: dict, next_pc):
        self.spec = spec
        self.s = state
        self.pc = state.regs["pc"]
        self.next_pc = next_pc
        self.ops = operands
        self.locals: dict = {}
        self.alive = True  # nothing ended the instruction yet: guards the events (trap, halt, exit)
        self.going = True  # not halted yet: guards the writes (a trap or an exit discards them anyway)
        self.trapped = False
        self.cause = 0
        self.tval = 0
        self.halted = False
        self.exited = False
        self.exit_kind = 0
        self.cause_w = cause_index_width(spec)

    def run(self, stmts, guard=True):
        for st in stmts:
            g = AND(guard, self.alive)
            if g is False:  # the instruction has certainly ended: nothing after counts
                return
            self.stmt(st, guard, g, AND(guard, self.going))

    def stmt(self, st, guard, g, w):
        """Run ``st`` on the path ``guard``: events under ``g`` (no earlier event), writes under ``w``
        (no earlier halt).  See the module docstring for why writes ignore earlier traps."""
        t = type(st)
        if t is ir.SetLocal:
            v = self.expr(st.value)
            self.set_local(st.name, w, v, st.value.width)
        elif t is ir.SetReg:
            v = self.expr(st.value)
            if st.name == "pc":
                self.next_pc = ITE(w, v, self.next_pc, st.value.width)
            else:
                self.s.regs[st.name] = ITE(w, v, self.s.regs[st.name], st.value.width)
        elif t is ir.SetFile:
            f = self.spec.files[st.file]
            idx = self.expr(st.index)
            v = self.expr(st.value)
            writable = w
            for hi in f.hardwired:
                writable = AND(writable, NOT(EQ(idx, hi, f.index_width)))
            if writable is not False:
                arr = self.s.files[st.file]
                new = z3.Store(arr, const(idx, f.index_width), const(v, f.width))
                self.s.files[st.file] = ITE_ARRAY(writable, new, arr)
        elif t is ir.Load:
            addr = self.expr(st.addr)
            in_mem, windows = self.access(addr, st.units, g, False)
            if in_mem is False and not windows:
                return  # it certainly faults: the value is never read
            m = self.spec.memory
            v = 0
            if in_mem is not False:
                parts = [self.read_mem(addr, k, guard) for k in range(st.units)]
                v = parts[0] if len(parts) == 1 else z3.Concat(*reversed([const(p, m.unit) for p in parts]))
                v = simplify_value(v) if all(known(p) for p in parts) else v
            for dev, inside in windows:
                v = ITE(inside, self.device_read(dev, addr, st.units), v, st.width)
            self.set_local(st.local, w, v, st.width)  # an access outside memory faults: no guard for it either
        elif t is ir.Store:
            addr = self.expr(st.addr)
            in_mem, windows = self.access(addr, st.units, g, True)
            if (in_mem is False and not windows) or w is False:
                return
            if windows:
                value = self.expr(st.value)
                for dev, inside in windows:
                    self.device_write(dev, addr, st.units, value, AND(w, inside))
                if in_mem is False:
                    return
                w = AND(w, in_mem)  # a store that lands in a window writes no memory
            m = self.spec.memory
            v = const(self.expr(st.value), st.units * m.unit)
            arr = self.s.mem
            new = arr
            written = []
            # The log keeps its guards and values normalised, so that two runs that store the same
            # thing (a guest run and its relocation, say) log syntactically equal cells.
            wn = simplify_value(w)
            _remember_simplified(wn, w)
            for k in range(st.units):
                part = z3.Extract((k + 1) * m.unit - 1, k * m.unit, v) if st.units > 1 else v
                idx = self.mem_index(addr, k)
                written.append((wn, idx, z3.simplify(part)))
                new = z3.Store(new, idx, part)
            self.s.mem = ITE_ARRAY(w, new, arr)
            self.s.writes = self.s.writes + tuple(written)
        elif t is ir.If:
            c = self.expr(st.cond)
            if known(c):
                self.run(st.then if c else st.orelse, guard)
            else:
                self.run(st.then, AND(guard, c))
                self.run(st.orelse, AND(guard, NOT(c)))
        elif t is ir.Trap:
            self.raise_trap(g, self.spec.causes[st.cause].index, self.expr(st.tval))
        elif t is ir.Halt:
            self.halted = OR(self.halted, g)
            self.alive = AND(self.alive, NOT(g))
            self.going = AND(self.going, NOT(g))
        elif t is ir.Leave:
            self.exited = OR(self.exited, g)
            self.exit_kind = ITE(g, ir.LEAVE_KINDS.index(st.kind), self.exit_kind, 1)
            self.tval = ITE(g, self.expr(st.code), self.tval, self.spec.tval_width)
            self.alive = AND(self.alive, NOT(g))
        elif t is ir.Interrupt:
            # recorded like a trap (the boundary program has none of its own); but its writes are kept,
            # so what would come after it on its path must not be written: it stops the writes as a halt does
            self.raise_trap(g, self.spec.causes[st.cause].index, 0)
            self.going = AND(self.going, NOT(g))
        else:  # pragma: no cover
            raise TypeError(t)

    def set_local(self, name, g, v, width):
        # The semantics compiler only lets a local be read on paths that assign
        # it, so its first assignment needs no guard: on the other paths the
        # value is never read.  (Guarding it would put an if-then-else around
        # every address computed on a conditional path, which hides equal
        # addresses from z3.)
        if name not in self.locals:
            self.locals[name] = v
        else:
            self.locals[name] = ITE(g, v, self.locals[name], width)

    def raise_trap(self, g, cause_index, tval):
        self.trapped = OR(self.trapped, g)
        self.cause = ITE(g, cause_index, self.cause, self.cause_w)
        self.tval = ITE(g, tval, self.tval, self.spec.tval_width)
        self.alive = AND(self.alive, NOT(g))

    def mem_index(self, addr, k):
        aw = self.spec.memory.address
        off = self.s.offset
        if known(addr) and known(off):
            return z3.BitVecVal((addr + k - off) & mask(aw), aw)
        # normalised, so that a relocated address that names the same guest cell is the same term
        return z3.simplify(const(addr, aw) + k - const(off, aw))

    def read_mem(self, addr, k, path=True):
        return self.s.read(self.mem_index(addr, k), path)

    def access(self, addr, units, g, store):
        """``(in memory, [(device, inside it and allowed), ...])`` for an access, raising the memory's
        fault (a store's: its store fault) under ``g`` where it is in neither.  Without device windows
        this is :meth:`range_ok`, term for term."""
        devices = self.spec.devices
        if not devices:
            return self.range_ok(addr, units, g, store), []
        m = self.spec.memory
        ok = self.range_ok(addr, units, False)  # the fault is raised below, once windows are counted
        windows, anywhere = [], ok
        for dev in devices:
            inside = self.in_window(dev, addr, units)
            if inside is not False:
                windows.append((dev, inside))
                anywhere = OR(anywhere, inside)
        bad = AND(g, NOT(anywhere))
        if bad is not False:
            tv = self._fit(addr, m.address, self.spec.tval_width)
            self.raise_trap(bad, self.spec.causes[m.fault_of(store)].index, tv)
        return ok, windows

    def in_window(self, dev, addr, units):
        """Whether an access of ``units`` from ``addr`` lies in window ``dev`` from a mode it allows."""
        aw = self.spec.memory.address
        if known(addr):
            inside = dev.contains(addr, units)
        elif units > dev.size:
            inside = False
        else:
            inside = z3.And(z3.UGE(addr, z3.BitVecVal(dev.base, aw)),
                            z3.ULE(addr, z3.BitVecVal(dev.base + dev.size - units, aw)))
        mode, mw = self.s.regs["mode"], self.spec.mode_width
        allowed = False
        for v in dev.modes:
            allowed = OR(allowed, EQ(mode, v, mw))
        return AND(inside, allowed)

    def _device_units(self, dev):
        """``[(address, register, k)]``: each memory unit of window ``dev`` a register holds."""
        return [(dev.base + off + k, reg, k) for off, reg, n in dev.registers for k in range(n)]

    def _unit_of(self, value, width, k):
        """Memory unit ``k`` of a register's value (little-endian; the last unit zero-filled)."""
        u = self.spec.memory.unit
        if known(value):
            return (value >> (k * u)) & mask(u)
        if (k + 1) * u > width:
            value = z3.ZeroExt((k + 1) * u - width, value)
        return z3.Extract((k + 1) * u - 1, k * u, value)

    def device_read(self, dev, addr, units):
        """The value ``units`` memory units of ``dev`` from ``addr`` read: its registers' units, 0 elsewhere."""
        u, aw = self.spec.memory.unit, self.spec.memory.address
        held = self._device_units(dev)
        parts = []
        for k in range(units):
            at = (addr + k) & mask(aw) if known(addr) else const(addr, aw) + k
            v = 0
            for a, reg, j in held:
                v = ITE(EQ(at, a, aw), self._unit_of(self.s.regs[reg], self.spec.registers[reg].width, j), v, u)
            parts.append(v)
        if all(known(p) for p in parts):
            out = 0
            for k, p in enumerate(parts):
                out |= p << (k * u)
            return out
        return parts[0] if units == 1 else z3.Concat(*reversed([const(p, u) for p in parts]))

    def device_write(self, dev, addr, units, value, w):
        """Store ``value`` into window ``dev`` under ``w``: each register unit the store covers takes the
        store's unit; the units it does not cover, and offsets no register holds, keep what they had."""
        u, aw = self.spec.memory.unit, self.spec.memory.address
        for off, reg, n in dev.registers:
            width = self.spec.registers[reg].width
            old = self.s.regs[reg]
            units_new, touched = [], False
            for j in range(n):
                cur = self._unit_of(old, width, j)
                for k in range(units):
                    at = (addr + k) & mask(aw) if known(addr) else const(addr, aw) + k
                    hit = EQ(at, dev.base + off + j, aw)
                    if hit is not False:
                        touched = True
                        cur = ITE(hit, self._unit_of(value, units * u, k), cur, u)
                units_new.append(cur)
            if not touched:
                continue
            if all(known(p) for p in units_new):
                new = 0
                for j, p in enumerate(units_new):
                    new |= p << (j * u)
                new &= mask(width)
            else:
                whole = units_new[0] if n == 1 else z3.Concat(*reversed([const(p, u) for p in units_new]))
                whole = const(whole, n * u)
                new = whole if n * u == width else z3.Extract(width - 1, 0, whole)
            self.s.regs[reg] = ITE(w, new, old, width)

    def range_ok(self, addr, units, g, store=False):
        """Check a physical access; raise the memory fault (a store's: its store fault) under ``g`` when outside."""
        m = self.spec.memory
        if m.size >= (1 << m.address):
            return True
        if known(addr):
            ok = addr + units <= m.size
        else:
            ok = z3.ULE(addr, z3.BitVecVal(max(m.size - units, 0), m.address)) if m.size >= units else False
        bad = AND(g, NOT(ok))
        if bad is not False:
            tw = self.spec.tval_width
            tv = self._fit(addr, m.address, tw)
            self.raise_trap(bad, self.spec.causes[m.fault_of(store)].index, tv)
        return ok

    @staticmethod
    def _fit(v, w, tw):
        if known(v):
            return v & mask(tw)
        if tw == w:
            return v
        return z3.Extract(tw - 1, 0, v) if tw < w else z3.ZeroExt(tw - w, v)

    # expressions
    def expr(self, e):
        t = type(e)
        if t is ir.Const:
            return bool(e.value) if e.width == BOOL else e.value
        if t is ir.Reg:
            return self.pc if e.name == "pc" else self.s.regs[e.name]
        if t is ir.Operand:
            return self.ops[e.name]
        if t is ir.Local:
            v = self.locals.get(e.name)
            if v is None:
                # The compiler lets a local be read only on paths that assign it or end (a trap): if
                # every assigning branch was pruned as impossible, this read is on a path whose guard
                # is false (the trap's), so its value never reaches a state.
                return 0
            return v
        if t is ir.FileRead:
            f = self.spec.files[e.file]
            idx = self.expr(e.index)
            v = z3.Select(self.s.files[e.file], const(idx, f.index_width))
            for hi, hv in f.hardwired.items():
                v = ITE(EQ(idx, hi, f.index_width), hv, v, f.width)
            return v
        if t is ir.Unary:
            a = self.expr(e.a)
            if e.op == "lnot":
                return NOT(a)
            if known(a):
                return (-a if e.op == "neg" else ~a) & mask(e.width)
            return -a if e.op == "neg" else ~a
        if t is ir.Binary:
            return self.binary(e)
        if t is ir.Ite:
            c = self.expr(e.cond)
            if known(c):
                return self.expr(e.a) if c else self.expr(e.b)
            return ITE(c, self.expr(e.a), self.expr(e.b), e.width)
        if t is ir.Extract:
            a = self.expr(e.a)
            if known(a):
                return (a >> e.lo) & mask(e.width)
            return z3.Extract(e.hi, e.lo, a)
        if t is ir.Concat:
            parts = [self.expr(p) for p in e.parts]
            if all(known(p) for p in parts):
                v = 0
                for p, node in zip(parts, e.parts):
                    v = (v << node.width) | p
                return v
            return z3.Concat(*[const(p, node.width) for p, node in zip(parts, e.parts)])
        if t is ir.Extend:
            a = self.expr(e.a)
            if known(a):
                return to_signed(a, e.a.width) & mask(e.width) if e.signed else a
            n = e.width - e.a.width
            return z3.SignExt(n, a) if e.signed else z3.ZeroExt(n, a)
        raise TypeError(t)  # pragma: no cover

    def binary(self, e):
        op = e.op
        if op == "land":
            a = self.expr(e.a)
            return False if a is False else AND(a, self.expr(e.b))
        if op == "lor":
            a = self.expr(e.a)
            return True if a is True else OR(a, self.expr(e.b))
        a, b = self.expr(e.a), self.expr(e.b)
        w = e.a.width
        if known(a) and known(b):
            return _fold(op, a, b, w)
        if w == BOOL:
            za, zb = const(a, BOOL), const(b, BOOL)
            return za == zb if op == "eq" else za != zb
        za, zb = const(a, w), const(b, w)
        if op == "add":
            return za + zb
        if op == "sub":
            return za - zb
        if op == "mul":
            return za * zb
        if op == "and":
            return za & zb
        if op == "or":
            return za | zb
        if op == "xor":
            return za ^ zb
        if op == "shl":
            return za << zb
        if op == "lshr":
            return z3.LShR(za, zb)
        if op == "ashr":
            return za >> zb
        if op == "eq":
            return za == zb
        if op == "ne":
            return za != zb
        if op == "ult":
            return z3.ULT(za, zb)
        if op == "ule":
            return z3.ULE(za, zb)
        if op == "ugt":
            return z3.UGT(za, zb)
        if op == "uge":
            return z3.UGE(za, zb)
        if op == "slt":
            return za < zb
        if op == "sle":
            return za <= zb
        if op == "sgt":
            return za > zb
        if op == "sge":
            return za >= zb
        raise ValueError(op)  # pragma: no cover


def _fold(op, a, b, w):
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
    return {"slt": sa < sb, "sle": sa <= sb, "sgt": sa > sb, "sge": sa >= sb}[op]


# ------------------------------------------------------------------ step


def step(spec, state: ZState, instruction, operands: dict, mmu: dict | None = None) -> ZResult:
    """Symbolically execute one instruction (precise traps, as in the interpreter).

    With ``mmu`` (``{"mmu.<register>": value}``, see :func:`mmu_view`) the instruction runs on a
    virtualized MMU: its body lowered for one (``Instruction.mmu_body``), whose translation reads
    the state ``mmu`` presents instead of the state's own registers."""
    instr = spec.instructions[instruction] if isinstance(instruction, str) else instruction
    pcw = spec.pc_width
    pc = state.regs["pc"]
    next_pc = (pc + instr.units) & mask(pcw) if known(pc) else pc + instr.units
    work = state.copy()
    if mmu:
        work.regs.update(mmu)
    ex = _Exec(spec, work, operands, next_pc)
    ex.run(instr.mmu_body if mmu else instr.body)
    for k in mmu or ():
        ex.s.regs.pop(k, None)
    body_state = ex.s
    body_state.regs["pc"] = ex.next_pc
    advance_time(spec, body_state, True)  # read only where it neither traps nor exits: it retired
    body_only = body_state
    if ex.exited is not False:  # an exit is precise: the state stays as it was
        e = ex.exited
        body_state = ZState(
            {n: ITE(e, state.regs[n], body_state.regs[n], spec.registers[n].width) for n in spec.registers},
            {n: ITE_ARRAY(e, state.files[n], body_state.files[n]) for n in spec.files},
            ITE_ARRAY(e, state.mem, body_state.mem) if spec.memory else None, state.offset,
            state.root, state.writes + _guarded(body_state.writes[len(state.writes):], NOT(e)), state.banks)
    if ex.trapped is False:
        return ZResult(body_state, False, 0, ex.tval, AND(ex.halted, NOT(ex.exited)), ex.exited, ex.exit_kind,
                       body_only)
    t = ex.trapped

    def merged():
        # the trap entry, on the state before the instruction, with the cause's code
        trap_state = entry_state(spec, state, cause_code(spec, ex.cause), ex.tval)
        advance_time(spec, trap_state, False)
        return ZState(
            {n: ITE(t, trap_state.regs[n], body_state.regs[n], spec.registers[n].width) for n in spec.registers},
            {n: ITE_ARRAY(t, trap_state.files[n], body_state.files[n]) for n in spec.files},
            ITE_ARRAY(t, trap_state.mem, body_state.mem) if spec.memory else None,
            state.offset, state.root,
            state.writes + _guarded(body_state.writes[len(state.writes):], NOT(t))
            + _guarded(trap_state.writes[len(state.writes):], t),
            state.banks,
        )
    return ZResult(None, t, ex.cause, ex.tval, AND(AND(ex.halted, NOT(t)), NOT(ex.exited)), ex.exited, ex.exit_kind,
                   body_only, merged)


def advance_time(spec, state: ZState, retired: bool):
    """The ``[time]`` rule on ``state``, in place (as :func:`vverify.interp.machine.advance_time`)."""
    t = spec.time
    if t is None:
        return
    for name in t.steps + (t.retired if retired else ()):
        v, w = state.regs[name], spec.registers[name].width
        state.regs[name] = (v + 1) & mask(w) if known(v) else v + 1


def boundary(spec, state: ZState) -> ZResult:
    """Symbolically run the boundary program (``[interrupts] boundary``) on ``state``.

    ``trapped`` is "it raised an interrupt" (``cause`` its index, tval 0), and there ``state`` is the
    trap entry run on what the program *wrote* (unlike :func:`step`, whose trap discards the body's
    writes), with the delivery counted as a step; ``exited`` is a vmexit, precise; otherwise the state
    is what it wrote, and ``body`` is that in every case.  A spec without a boundary leaves ``state``.
    """
    work = state.copy()
    ex = _Exec(spec, work, {}, state.regs["pc"])
    ex.run(spec.boundary_body)
    written = ex.s
    written.regs["pc"] = state.regs["pc"]  # the loader forbids writing it
    if ex.trapped is False and ex.exited is False:
        return ZResult(written, False, 0, 0, False, False, 0, written)
    t, e = ex.trapped, ex.exited

    def merged():
        taken = entry_state(spec, written, cause_code(spec, ex.cause), 0) if t is not False else written
        advance_time(spec, taken, False)
        n = len(state.writes)
        return ZState(
            {r: ITE(t, taken.regs[r], ITE(e, state.regs[r], written.regs[r], spec.registers[r].width),
                    spec.registers[r].width) for r in spec.registers},
            {f: ITE_ARRAY(t, taken.files[f], ITE_ARRAY(e, state.files[f], written.files[f])) for f in spec.files},
            ITE_ARRAY(t, taken.mem, state.mem) if spec.memory else None,  # the program itself stores nothing
            state.offset, state.root, state.writes + _guarded(taken.writes[n:], t), state.banks)
    # tval: 0 for an interrupt, the reason for a vmexit
    return ZResult(None, t, ex.cause, ex.tval, False, e, ex.exit_kind, written, merged)


def mmu_view(spec, presented: ZState, mode) -> dict:
    """What a virtualized MMU presents to an instruction: the translation state of ``presented`` (the
    registers its translation reads) and the mode ``mode``, keyed as the ``mmu_body`` reads them."""
    out = {MMU_PREFIX + r: presented.regs[r] for r in spec.virtualization.mmu.registers}
    out[MMU_PREFIX + "mode"] = mode
    return out


def cause_index_width(spec) -> int:
    """The width of a cause index: the symbolic step names a trap's cause by its index."""
    return max(1, (len(spec.causes) - 1).bit_length())


def cause_code(spec, index):
    """The code of the cause with this index (a term when the index is one)."""
    w = cause_index_width(spec)
    code = 0
    for c in sorted(spec.causes.values(), key=lambda c: c.index):
        code = ITE(EQ(index, c.index, w), c.code, code, spec.code_width)
    return code


def entry_state(spec, state: ZState, code, tval) -> ZState:
    """The state the spec's trap entry leaves, run on ``state`` with cause ``code``."""
    entry = _Exec(spec, state.copy(), {"cause": code, "tval": tval}, state.regs["pc"])
    entry.run(spec.entry)
    out = entry.s
    out.regs["pc"] = entry.next_pc
    return out


def eval_pure(spec, state: ZState, pure, params: dict):
    """Evaluate a side-effect-free spec expression on a symbolic state."""
    ex = _Exec(spec, state.copy(), dict(params), state.regs["pc"])
    ex.run(pure.prelude)
    return ex.expr(pure.expr)
