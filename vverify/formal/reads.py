"""Which instructions only copy a control register into a general register.

A paravirtualizing rewriter can turn such an instruction into a plain load
from the shared page where the VMM keeps the guest's virtual control
registers, so it needs no hypercall at all (Xen's shared_info page; x86's
virtual interrupt flag is the classic case).  Whether an instruction is
such a read is a property of its semantics, decided here by z3: for every
valid state in a supervisor mode, the instruction does not trap or exit,
and its only effect is ``F[R] = C`` for a register operand R of file F and
a control register C, with pc moving to the next instruction.  A read that
holds only for some operand values (RISC-V's ``csrrs rd, csr, x0``) is
not one here: the rewriter works per instruction, not per operand value.
"""

from __future__ import annotations

import z3

from ..spec.units import units_of
from . import symexec as sx
from .classify import UnitClassifier
from .symexec import OR

def control_reads(spec, unit_ids, timeout_ms: int = 5000) -> dict:
    """``{unit id: (register operand, control register)}`` for the units that are pure control reads.

    Each call asks z3 afresh; the composition layer remembers the answer per
    spec (:meth:`vverify.context.SpecContext.control_reads`).
    """
    wanted = set(unit_ids)
    out = {}
    for u in units_of(spec):
        if u.id in wanted:
            found = _read_of(spec, u, timeout_ms)
            if found is not None:
                out[u.id] = found
    return out


def _read_of(spec, unit, timeout_ms):
    uc = UnitClassifier(spec, unit, timeout_ms)
    instr = uc.instr
    regops = [o for o in instr.operands if spec.operands[o].kind == "reg"]
    if not regops or not spec.supervisor:
        return None
    runs = []
    for mode in spec.supervisor:
        g, valid = uc.guest(f"r.{mode}", mode)
        n = uc.run(("native", mode), g)
        runs.append((g, valid + uc.op_constraints, n))
    for op in regops:
        f = spec.files[spec.operands[op].file]
        regs = [c for c, r in spec.registers.items() if r.control_mask and r.width == f.width]
        for c in _candidates(spec, uc, runs[0], op, regs, timeout_ms):
            if all(_always_reads(spec, uc, g, cons, n, op, c, timeout_ms) for g, cons, n in runs):
                return op, c
    return None


def _candidates(spec, uc, run, op, regs, timeout_ms) -> list:
    """Control registers whose value the register operand receives in one run where they all differ.

    A cheap filter: one satisfiable query instead of one proof per register.
    """
    g, cons, n = run
    if len(regs) < 1:
        return []
    fname = spec.operands[op].file
    f = spec.files[fname]
    idx = sx.const(uc.ops[op], f.index_width)
    old = z3.Select(g.files[fname], idx)
    values = [sx.const(g.regs[c], f.width) for c in regs]
    s = z3.Solver()
    s.set(timeout=timeout_ms)
    s.add(*[x for x in cons if x is not True])
    s.add(z3.BoolVal(not n.stopped) if isinstance(n.stopped, bool) else z3.Not(n.stopped))
    s.add(*[idx != i for i in f.hardwired])
    s.add(z3.Distinct(*values, old) if values else True)
    if s.check() != z3.sat:
        return []
    m = s.model()
    got = m.eval(z3.Select(n.state.files[fname], idx), model_completion=True)
    return [c for c, v in zip(regs, values) if m.eval(v == got, model_completion=True)]


def _always_reads(spec, uc, g, cons, n, op, c, timeout_ms) -> bool:
    """Unsat: a valid state where the instruction stops, or does anything but ``F[op] = c``."""
    fname = spec.operands[op].file
    f = spec.files[fname]
    idx = sx.const(uc.ops[op], f.index_width)
    cons = list(cons) + [idx != i for i in f.hardwired]
    expect_files = dict(g.files)
    expect_files[fname] = z3.Store(g.files[fname], idx, sx.const(g.regs[c], f.width))
    differs = [z3.BoolVal(bool(n.stopped)) if isinstance(n.stopped, bool) else n.stopped]
    width = spec.pc_width
    pc_next = sx.const(g.regs["pc"], width) + uc.instr.units
    differs.append(sx.const(n.state.regs["pc"], width) != pc_next)
    for r, reg in spec.registers.items():
        if r != "pc":
            differs.append(sx.const(n.state.regs[r], reg.width) != sx.const(g.regs[r], reg.width))
    for name in spec.files:
        differs.append(n.state.files[name] != expect_files[name])
    if spec.memory:
        differs.append(n.state.mem != g.mem)
    s = z3.Solver()
    s.set(timeout=timeout_ms)
    s.add(*[x for x in cons if x is not True])
    any_diff = False
    for d in differs:
        any_diff = OR(any_diff, d)
    s.add(any_diff)
    return s.check() == z3.unsat
