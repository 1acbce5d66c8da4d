"""The Popek & Goldberg questions, asked of z3 one instruction at a time.

For each instruction (or each value of its ``variants`` operand) this module
asks a fixed set of existential questions.  A *yes* comes with a model that
is turned into plain data (a :class:`Witness`); a *no* is an unsat answer to
the stated query; a timeout or ``unknown`` is :data:`UNKNOWN` and is never
read as a no.  Which answers make an instruction privileged or sensitive is
decided in :mod:`vverify.check.verdicts`; the definitions are in
``docs/theory.md``.

Every query fixes the mode(s) to concrete values, one query per mode, which
lets :mod:`.symexec` fold the instruction's privilege checks away before z3
sees them.
"""

from __future__ import annotations

import time

import z3

from ..spec import ir
from ..vocabulary import NO, PRESENTED_MODE, QUESTIONS, UNKNOWN, YES, Answer, Witness  # noqa: F401  (re-exported)
from ..spec.units import Unit, units_of  # noqa: F401  (re-exported)
from . import symexec as sx
from .plan import question_plan
from .symexec import AND, NOT, OR, ZState, fresh_state, known


# ------------------------------------------------------------ concretising


def _val(model, v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    r = model.eval(v, model_completion=True)
    if z3.is_true(r):
        return 1
    if z3.is_false(r):
        return 0
    return r.as_long()


def _array(model, arr):
    """(entries, default) of an array value in ``model``."""
    v = model.eval(arr, model_completion=True)
    entries: dict = {}
    while True:
        if z3.is_store(v):
            entries.setdefault(v.arg(1).as_long(), v.arg(2).as_long())
            v = v.arg(0)
        elif z3.is_const_array(v):
            return entries, v.arg(0).as_long()
        elif z3.is_as_array(v):
            f = model[z3.get_as_array_func(v)]
            for idx, val in f.as_list()[:-1]:
                entries.setdefault(idx.as_long(), val.as_long())
            return entries, f.else_value().as_long()
        else:
            raise ValueError(f"cannot read array value {v}")


def state_to_dict(spec, model, st: ZState) -> dict:
    regs = {n: _val(model, v) for n, v in st.regs.items()}
    files = {}
    for n, f in spec.files.items():
        try:  # one evaluation of the whole array (a file may have hundreds of entries)
            entries, default = _array(model, st.files[n])
            vals = [f.hardwired.get(i, entries.get(i, default)) for i in range(f.count)]
        except ValueError:
            vals = [f.hardwired.get(i, _val(model, z3.Select(st.files[n], i))) for i in range(f.count)]
        files[n] = vals
    mem, default = {}, 0
    if spec.memory:
        entries, default = _array(model, st.mem)
        mem = {str(a): v for a, v in sorted(entries.items()) if v != default}
    return {"regs": regs, "files": files, "mem": mem, "mem_default": default}


# --------------------------------------------------------------- relations


def data_diffs(spec, a: ZState, b: ZState, skip=()) -> dict:
    """Field -> "differs" condition over the non-control part of two states."""
    out = {}
    for n, r in spec.registers.items():
        if r.data_mask and n not in skip:
            va, vb = a.regs[n], b.regs[n]
            if known(va) and known(vb):
                d = (va & r.data_mask) != (vb & r.data_mask)
            else:
                d = (sx.const(va, r.width) & r.data_mask) != (sx.const(vb, r.width) & r.data_mask)
            out[n] = d
    for n in spec.files:
        out[n] = False if a.files[n] is b.files[n] else a.files[n] != b.files[n]
    if spec.memory:
        out["memory"] = sx.mem_differs(a, b)
    return out


def control_diffs(spec, a: ZState, b: ZState, only=None) -> dict:
    out = {}
    for n, r in spec.registers.items():
        if r.control_mask and (only is None or n in only):
            va, vb = a.regs[n], b.regs[n]
            if known(va) and known(vb):
                out[n] = (va & r.control_mask) != (vb & r.control_mask)
            else:
                out[n] = (sx.const(va, r.width) & r.control_mask) != (sx.const(vb, r.width) & r.control_mask)
    return out


def _any(conds):
    out = False
    for c in conds:
        out = OR(out, c)
    return out


def _ne_bool(a, b):
    if known(a) and known(b):
        return bool(a) != bool(b)
    return sx.const(a, ir.BOOL) != sx.const(b, ir.BOOL)


# ------------------------------------------------------------- the queries


class UnitClassifier:
    """Asks every question about one unit; caches the symbolic runs it shares."""

    def __init__(self, spec, unit: Unit, timeout_ms: int = 20000):
        self.spec = spec
        self.unit = unit
        self.instr = spec.instructions[unit.instruction]
        self.timeout_ms = timeout_ms
        self.ops = {}
        self.op_constraints = []
        for name, width in self.instr.operands.items():
            if name == self.instr.variants and unit.member != "other":
                self.ops[name] = unit.value
            else:
                self.ops[name] = z3.BitVec(f"op.{name}", width)
        if unit.member == "other":
            enum = spec.enums[spec.operands[self.instr.variants].enum]
            sym = self.ops[self.instr.variants]
            for v in enum.values():
                if v <= ir.mask(self.instr.operands[self.instr.variants]):
                    self.op_constraints.append(sym != v)
        # a value the encoding excludes is not this instruction: the word is another's (or illegal)
        for name, values in self.instr.encoding.excluded.items():
            if not known(self.ops[name]):
                self.op_constraints.extend(self.ops[name] != v for v in values)
        self._runs: dict = {}
        self.vmap = spec.virtualization

    # state helpers
    def guest(self, tag, mode, pinned=False):
        """A symbolic state in ``mode`` and its validity constraints.  With ``pinned``, the
        registers the map's assumption fixes to a constant are that constant (for the
        questions that assume it), which lets the executor fold what they decide."""
        fixed = {"mode": self.spec.modes[mode], **self.invariant_pins}
        if pinned:
            fixed.update(self.pins)
        st = fresh_state(self.spec, tag, fixed)
        return st, self.valid(st)

    @staticmethod
    def _pinned_by(pure) -> dict:
        """``{register: value}`` for each ``register == constant`` conjunct of a pure expression."""
        out = {}
        if pure is None or pure.prelude:
            return out
        todo = [pure.expr]
        while todo:
            e = todo.pop()
            if isinstance(e, ir.Binary) and e.op == "land":
                todo += [e.a, e.b]
            elif isinstance(e, ir.Binary) and e.op == "eq":
                for r, c in ((e.a, e.b), (e.b, e.a)):
                    if isinstance(r, ir.Reg) and isinstance(c, ir.Const) and r.name not in ("mode", "pc"):
                        out[r.name] = c.value
        return out

    @property
    def invariant_pins(self) -> dict:
        """Registers an invariant fixes to a constant: every valid state has that value."""
        if not hasattr(self, "_inv_pins"):
            self._inv_pins = {}
            for inv in self.spec.invariants:
                self._inv_pins.update(self._pinned_by(inv))
        return self._inv_pins

    @property
    def pins(self) -> dict:
        """Registers the map's assumption fixes to a constant (beyond the invariants')."""
        if not hasattr(self, "_pins"):
            self._pins = {k: v for k, v in self._pinned_by(self.vmap.assume if self.vmap else None).items()
                          if k not in self.invariant_pins}
        return self._pins

    def native(self, mode, g, pinned=False):
        return self.run(("native", mode, "pinned") if pinned and self.pins else ("native", mode), g)

    def valid(self, st, fetchable=True):
        """States worth asking about: a declared mode, the spec's invariants, and the
        instruction itself fetchable at pc (so every witness is a runnable program)."""
        cons = []
        m = st.regs["mode"]
        if not known(m):
            cons.append(_any(m == v for v in self.spec.modes.values()))
        for inv in self.spec.invariants:
            cons.append(sx.eval_pure(self.spec, st, inv, {}))
        if fetchable:
            cons.extend(self.fetchable(st))
        return cons

    def fetchable(self, st):
        spec = self.spec
        if spec.memory is None:
            return []
        ex = sx._Exec(spec, st.copy(), {}, st.regs["pc"])
        if spec.fetch_body:
            ex.run(spec.fetch_body)
            addr = ex.locals[spec.fetch_local]
        else:
            addr = st.regs["pc"]
        m = spec.memory
        cons = [NOT(ex.trapped)]
        n = self.instr.units
        if m.size < (1 << m.address):
            limit = m.size - spec.max_ilen_units
            cons.append(addr <= limit if known(addr) else z3.ULE(addr, z3.BitVecVal(limit, m.address)))
        word = self.symbolic_word()
        for k in range(n):
            unit = z3.Extract((k + 1) * m.unit - 1, k * m.unit, word)
            cons.append(z3.Select(st.mem, ex.mem_index(addr, k)) == unit)
        return cons

    def symbolic_word(self):
        """The instruction's encoding as a term over its (symbolic) operands."""
        enc = self.instr.encoding
        w = z3.BitVecVal(enc.fixed_value, enc.width)
        for name, pieces in enc.pieces.items():
            op = sx.const(self.ops[name], self.instr.operands[name])
            ow = self.instr.operands[name]
            for p in pieces:
                part = z3.Extract(p.field_lo + p.nbits - 1, p.field_lo, op)
                part = z3.ZeroExt(enc.width - p.nbits, part) if enc.width > p.nbits else part
                w = w | (part << p.pos) if ow else w
        return w

    def run(self, key, st):
        if key not in self._runs:
            self._runs[key] = sx.step(self.spec, st, self.instr, self.ops)
        return self._runs[key]

    def params(self, tag="theta"):
        return {p: z3.BitVec(f"{tag}.{p}", w) for p, w in (self.vmap.params.items() if self.vmap else ())}

    def relocate(self, st: ZState, params) -> ZState:
        return move_banks(self.spec, st, self._relocated(st, params))

    def _relocated(self, st: ZState, params) -> ZState:
        out = st.copy()
        for reg, pe in self.vmap.relocate.items():
            out.regs[reg] = sx.eval_pure(self.spec, st, pe, params)
        if self.vmap.memory_offset is not None:
            out.offset = sx.eval_pure(self.spec, st, self.vmap.memory_offset, params)
        return out

    def place(self, st: ZState, params, guest_mode) -> ZState:
        """The real state for guest state ``st``: relocated, shadowed, in the real mode, and its
        banked registers' copies exchanged so that the real current copy holds the guest's
        (vverify.spec.banks); ``view`` is the guest's view of a result."""
        rel = self._relocated(st, params)
        out = rel.copy()
        for reg, pe in self.vmap.shadow.items():
            out.regs[reg] = sx.eval_pure(self.spec, rel, pe, params)
        out.regs["mode"] = self.spec.modes[self.vmap.modes[guest_mode]]
        return move_banks(self.spec, st, out)

    def placed_step(self, p0: ZState, g: ZState, mode):
        """Run the instruction on the placed state ``p0`` of guest state ``g`` (in guest mode ``mode``).
        Under shadow paging the real MMU walks tables the VMM built from the guest's for the guest's
        mode: the translation sees ``g``'s translation state and ``mode`` (docs/theory.md)."""
        mmu = self.vmap.mmu
        view = sx.mmu_view(self.spec, g, self.spec.modes[mode]) if mmu and mmu.kind == "shadow" else None
        return sx.step(self.spec, p0, self.instr, self.ops, view)

    def assume(self, st, params):
        if self.vmap and self.vmap.assume is not None:
            return [sx.eval_pure(self.spec, st, self.vmap.assume, params)]
        return []

    # solving
    def solve(self, question, modes, constraints, decode) -> Answer:
        t0 = time.perf_counter()
        cons = []
        for c in list(constraints) + self.op_constraints:
            if c is False:
                return Answer(question, NO, modes, seconds=time.perf_counter() - t0, reason="refuted by evaluation")
            if c is not True:
                cons.append(c)
        # z3's own rewriter first: it normalises sums inside if-then-elses and proves most
        # "the same cell" and "the same value" facts on its own, which the solver's
        # preprocessing does not always do before it starts searching.
        cons = [z3.simplify(c) for c in cons]
        if any(z3.is_false(c) for c in cons):
            return Answer(question, NO, modes, seconds=time.perf_counter() - t0, reason="refuted by simplification")
        s = z3.Solver()
        s.set(timeout=self.timeout_ms)
        s.add(*cons)
        r = s.check()
        dt = time.perf_counter() - t0
        if r == z3.sat:
            return Answer(question, YES, modes, decode(s.model()), dt)
        if r == z3.unsat:
            return Answer(question, NO, modes, seconds=dt)
        return Answer(question, UNKNOWN, modes, seconds=dt, reason=s.reason_unknown() or "unknown")

    def outcome(self, model, res):
        if _val(model, res.trapped):
            return "trap:" + self.spec.cause_by_index(_val(model, res.cause)).name
        if _val(model, res.exited):
            return ir.LEAVE_KINDS[_val(model, res.exit_kind)]
        return "halt" if _val(model, res.halted) else "ok"

    def ops_of(self, model):
        return {n: _val(model, v) for n, v in self.ops.items()}

    def diffs_in(self, model, diffs: dict):
        return [n for n, d in diffs.items() if _val(model, d)]

    def kind_is(self, res, kinds):
        conds = [sx.EQ(res.cause, c.index, sx.cause_index_width(self.spec))
                 for c in self.spec.causes.values() if c.kind in kinds]
        return AND(res.trapped, _any(conds))

    # questions
    def runs_in_user(self, mode) -> Answer:
        g, valid = self.guest("g", mode)
        n = self.run(("native", mode), g)
        cond = NOT(self.kind_is(n, ("privilege", "memory")))
        return self.solve("runs_in_user", [mode], valid + [cond], lambda m: Witness(
            "runs_in_user", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g)], outcomes=[self.outcome(m, n)]))

    def runs_in_supervisor(self, mode) -> Answer:
        g, valid = self.guest("g", mode)
        n = self.run(("native", mode), g)
        return self.solve("runs_in_supervisor", [mode], valid + [NOT(n.stopped)], lambda m: Witness(
            "runs_in_supervisor", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g)], outcomes=[self.outcome(m, n)]))

    def control(self, mode) -> Answer:
        g, valid = self.guest("g", mode)
        n = self.run(("native", mode), g)
        diffs = control_diffs(self.spec, g, n.body)  # the body's state: the query asserts no trap
        return self.solve("control", [mode], valid + [NOT(n.stopped), _any(diffs.values())], lambda m: Witness(
            "control", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g)],
            fields=self.diffs_in(m, diffs), outcomes=[self.outcome(m, n)]))

    def mode_pair(self, m1, m2) -> Answer:
        g1, valid = self.guest("g", m1)
        g2 = g1.copy()
        g2.regs["mode"] = self.spec.modes[m2]
        g2 = move_banks(self.spec, g1, g2)  # the same state in the other mode: banked copies follow it
        valid = valid + self.valid(g2)
        presented, params = None, {}
        if self.vmap is not None and self.vmap.mmu is not None:
            # The MMU is virtualized: each guest mode gets its own mode's translation in whatever real
            # mode it runs, so what the translation does differently in two modes is the VMM's to
            # present, not the instruction's sensitivity.  Both runs get the same translation, that of
            # either mode: the guest's, run natively in the one and deprivileged (or promoted) in the
            # other.  An access that asks for another privilege than its mode's still shows (docs/theory.md).
            params = {PRESENTED_MODE: z3.BitVec("g." + PRESENTED_MODE, self.spec.mode_width)}
            valid = valid + [OR(params[PRESENTED_MODE] == self.spec.modes[m1],
                                params[PRESENTED_MODE] == self.spec.modes[m2])]
            presented = sx.mmu_view(self.spec, g1, params[PRESENTED_MODE])
            n1 = sx.step(self.spec, g1, self.instr, self.ops, presented)
            n2 = sx.step(self.spec, g2, self.instr, self.ops, presented)
        else:
            n1 = self.run(("native", m1), g1)
            # without banked copies to move, g2 is the very state guest("g", m2) makes: share its run
            n2 = self.run(("native", m2, "copies from", m1) if g2.banks else ("native", m2), g2)
        diffs = data_diffs(self.spec, n1.body, view(n2.body))
        differ = OR(_any(diffs.values()), _ne_bool(n1.halted, n2.halted))
        return self.solve("mode", [m1, m2], valid + [NOT(n1.stopped), NOT(n2.stopped), differ], lambda m: Witness(
            "mode", [m1, m2], self.ops_of(m), [state_to_dict(self.spec, m, g1), state_to_dict(self.spec, m, g2)],
            params={k: _val(m, v) for k, v in params.items()},
            fields=self.diffs_in(m, diffs) + (["halted"] if _val(m, _ne_bool(n1.halted, n2.halted)) else []),
            outcomes=[self.outcome(m, n1), self.outcome(m, n2)]))

    def location(self, mode) -> Answer:
        g, valid = self.guest("g", mode, pinned=True)
        th = self.params()
        r = self.relocate(g, th)
        n = self.native(mode, g, pinned=True)
        nr = sx.step(self.spec, r, self.instr, self.ops)
        diffs = data_diffs(self.spec, n.body, view(nr.body))
        differ = OR(_any(diffs.values()), _ne_bool(n.halted, nr.halted))
        cons = valid + self.assume(g, th) + [NOT(n.stopped), NOT(nr.stopped), differ]
        return self.solve("location", [mode], cons, lambda m: Witness(
            "location", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g)],
            params={p: _val(m, v) for p, v in th.items()},
            fields=self.diffs_in(m, diffs) + (["halted"] if _val(m, _ne_bool(n.halted, nr.halted)) else []),
            outcomes=[self.outcome(m, n), self.outcome(m, nr)]))

    def placement(self, mode) -> Answer:
        g, valid = self.guest("g", mode, pinned=True)
        th = self.params()
        p0 = self.place(g, th, mode)
        n = self.native(mode, g, pinned=True)
        p = self.placed_step(p0, g, mode)
        # The VMM's control state must be left as it was (it never saw the
        # instruction); under hardware assist the guest's own copies live in
        # the real machine and must match the native run instead.

        def all_diffs(ns, ps):
            return self.placement_diffs(g, ns, ps)
        # Without hardware assist the placed run must not stop, and a native run that stops makes
        # the answer yes whatever the states hold: the bodies' states then decide the same query
        # without the trap entry's terms.  The witness still reports the differences between the
        # states the interpreter sees (after the native run's trap entry, when it traps).
        hw = self.vmap.hardware_assist
        diffs = None if hw else all_diffs(n.body, p.body)
        halted = _ne_bool(n.halted, p.halted)
        if hw:
            # Non-root operation delivers the guest's traps to the guest's own
            # handler: only an exit gives the VMM control, and a trap must be
            # the same trap, its entry seen the same way, as on bare metal.
            w = sx.cause_index_width(self.spec)
            same_cause = sx.const(n.cause, w) == sx.const(p.cause, w) if not (known(n.cause) and known(p.cause)) \
                else n.cause == p.cause
            trap_differs = OR(_ne_bool(n.trapped, p.trapped), AND(n.trapped, NOT(same_cause)))
            if self.entry_commutes(mode):
                # The trap entry leaves equivalent states whenever it runs on a guest state and on
                # its placement with the same cause and trap value (checked once per mode, below).
                # So when neither run traps the bodies decide, and when both take the same trap
                # what differs is what the native entry does with the two runs' trap values.
                code = sx.cause_code(self.spec, n.cause)
                ea = sx.entry_state(self.spec, g, code, n.tval)
                eb = sx.entry_state(self.spec, g, code, p.tval)
                entry_d = data_diffs(self.spec, ea, eb)
                entry_d.update(control_diffs(self.spec, ea, eb))
                neither = AND(NOT(n.trapped), NOT(p.trapped))
                both = AND(AND(n.trapped, p.trapped), same_cause)
                differ = OR(OR(AND(neither, OR(_any(all_diffs(n.body, p.body).values()), halted)),
                               AND(both, _any(entry_d.values()))),
                            OR(trap_differs, n.exited))
            else:
                diffs = all_diffs(n.state, p.state)
                differ = OR(OR(_any(diffs.values()), halted), OR(trap_differs, n.exited))
            to_vmm = p.exited
        else:
            trap_differs = n.trapped  # the placed run does not trap: the guest's trap is lost
            differ = OR(OR(_any(diffs.values()), halted), n.stopped)
            to_vmm = p.stopped
        cons = valid + self.assume(g, th) + [NOT(to_vmm), differ]

        def decode(m):
            shown = diffs
            if hw:
                shown = all_diffs(n.state, p.state)  # the states the interpreter compares
            elif _val(m, n.stopped):
                shown = all_diffs(n.state, p.body)  # p.body is p.state: the placed run does not stop
            fields = self.diffs_in(m, shown)
            if _val(m, halted):
                fields.append("halted")
            if _val(m, trap_differs):
                fields.append("trap")
            if _val(m, n.exited):
                fields.append("exit")
            return Witness("placement", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g)],
                           params={k: _val(m, v) for k, v in th.items()}, fields=fields,
                           outcomes=[self.outcome(m, n), self.outcome(m, p)])
        return self.solve("placement", [mode], cons, decode)

    def placement_diffs(self, g, ns, ps) -> dict:
        """What the placement check compares, for a guest state ``g`` run natively to ``ns`` and
        placed to ``ps``: data; the VMM's own control registers, which must stay as in ``g`` (the
        VMM never saw the instruction); and, under hardware assist, the guest's copies."""
        held = set(self.vmap.guest_held(self.spec.registers))
        owned = [k for k in self.spec.registers if k not in held]
        ps = view(ps)
        d = data_diffs(self.spec, ns, ps)
        d.update({f"{k} (control)": v for k, v in control_diffs(self.spec, ns, g, owned).items()})
        d.update({f"{k} (guest copy)": v for k, v in control_diffs(self.spec, ns, ps, held).items()})
        return d

    def entry_commutes(self, mode) -> bool:
        """Under hardware assist: does the trap entry, run with the same cause and trap value on a
        guest state (in ``mode``) and on its placement, always leave states the placement check
        finds equal?  Proved once per spec and mode (the map is part of the spec); when it cannot
        be proved, placement compares the entries' states directly."""
        return self.spec.memo(("entry_commutes", mode, self.timeout_ms), lambda spec: self._entry_commutes(mode))

    def _entry_commutes(self, mode) -> bool:
        spec = self.spec
        g = fresh_state(spec, "e", {"mode": spec.modes[mode], **self.invariant_pins, **self.pins})
        cons = [c for c in self.valid(g, fetchable=False)]
        th = self.params("etheta")
        p0 = self.place(g, th, mode)
        code = z3.BitVec("e.cause", spec.code_width)
        tval = z3.BitVec("e.tval", spec.tval_width)
        d = self.placement_diffs(g, sx.entry_state(spec, g, code, tval), sx.entry_state(spec, p0, code, tval))
        s = z3.Solver()
        s.set(timeout=self.timeout_ms)
        s.add(*[c for c in cons + self.assume(g, th) if c is not True])
        s.add(_any(code == c.code for c in spec.causes.values()))
        s.add(_any(d.values()))
        return s.check() == z3.unsat

    def timing(self, mode) -> Answer:
        timing = [r.name for r in self.spec.timing_registers]
        g1, valid = self.guest("g", mode, pinned=True)
        g2 = g1.copy()
        for t in timing:
            g2.regs[t] = z3.BitVec(f"g2.{t}", self.spec.registers[t].width)
        valid = valid + self.valid(g2)
        th = self.params()
        p1 = self.placed_step(self.place(g1, th, mode), g1, mode)
        p2 = self.placed_step(self.place(g2, th, mode), g2, mode)
        diffs = data_diffs(self.spec, view(p1.body), view(p2.body), skip=set(timing))
        differ = OR(_any(diffs.values()), _ne_bool(p1.halted, p2.halted))
        cons = valid + self.assume(g1, th) + [NOT(p1.stopped), NOT(p2.stopped), differ]
        return self.solve("timing", [mode], cons, lambda m: Witness(
            "timing", [mode], self.ops_of(m), [state_to_dict(self.spec, m, g1), state_to_dict(self.spec, m, g2)],
            params={k: _val(m, v) for k, v in th.items()}, fields=self.diffs_in(m, diffs),
            outcomes=[self.outcome(m, p1), self.outcome(m, p2)]))


# ------------------------------------------------------------ banked registers


def _selects(bank, field, register):
    """Whether the field value ``field`` (known or a term) selects ``register``, a copy of ``bank``."""
    if known(field):
        return bank.register_for(field) == register
    if register == bank.default:
        others = [v for v, r in bank.selects.items() if r != register]
        return NOT(_any(field == v for v in others))
    return _any(field == v for v, r in bank.selects.items() if r == register)


def _field(spec, bank, st: ZState):
    v = st.regs[bank.by]
    width = bank.hi - bank.lo + 1
    if known(v):
        return (v >> bank.lo) & ir.mask(width)
    return z3.Extract(bank.hi, bank.lo, sx.const(v, spec.registers[bank.by].width))


def move_banks(spec, src: ZState, dst: ZState) -> ZState:
    """``dst`` (``src`` with its control changed: placed, or in another mode) with each banked
    register's copy selected in ``src`` exchanged with the copy selected in ``dst``, as
    vverify.spec.banks does on concrete states; the exchanges are recorded in ``banks``, so
    that :func:`view` undoes them."""
    if not spec.banks:
        return dst
    made = []
    for bank in spec.banks.values():
        fs, fd = _field(spec, bank, src), _field(spec, bank, dst)
        if known(fs) and known(fd):  # the usual case: the mode is fixed in every query
            fs, fd = bank.register_for(fs), bank.register_for(fd)
            if fs == fd:
                continue
        made.append((bank, fs, fd))
    out = dst.copy()
    out.regs = _exchanged(dst.regs, made)
    out.banks = tuple(made)
    return out


def _exchanged(regs: dict, made) -> dict:
    """``regs`` with the copies of each ``(bank, a, b)`` exchanged: ``a`` and ``b`` are the two
    copies' registers, or the two field values (terms) that select them."""
    out = dict(regs)
    for bank, a, b in made:
        if isinstance(a, str):
            out[a], out[b] = regs[b], regs[a]
            continue
        copies = list(bank.copies.values())

        def held(field):  # the value, in regs, of the copy ``field`` selects
            v = regs[copies[0]]
            for c in copies[1:]:
                v = sx.ITE(_selects(bank, field, c), regs[c], v, bank.width)
            return v
        for c in copies:
            out[c] = sx.ITE(_selects(bank, b, c), held(a),
                            sx.ITE(_selects(bank, a, c), held(b), regs[c], bank.width), bank.width)
    return out


def view(st: ZState) -> ZState:
    """The guest's view of a state placed by :func:`move_banks`, or of what a run made of it: the
    same exchanges again (an exchange undoes itself)."""
    if not st.banks:
        return st
    out = st.copy()
    out.regs = _exchanged(st.regs, st.banks)
    out.banks = ()
    return out


def ask_all(spec, unit: Unit, timeout_ms: int = 20000) -> list:
    """Every question for ``unit``, each mode (and mode pair) separately: the plan of
    :func:`vverify.formal.plan.question_plan`, in its order."""
    uc = UnitClassifier(spec, unit, timeout_ms)
    ask = {"runs_in_user": uc.runs_in_user, "runs_in_supervisor": uc.runs_in_supervisor, "control": uc.control,
           "mode": uc.mode_pair, "location": uc.location, "placement": uc.placement, "timing": uc.timing}
    return [ask[question](*modes) for question, modes in question_plan(spec)]
