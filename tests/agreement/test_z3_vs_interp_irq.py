"""The z3 model and the interpreter agree on the boundary program, on counters and on device windows
(docs/interrupts.md, section 2.2), on tests/agreement/data/lang_irq.toml.

Two ways, since a concrete state folds every term before z3 sees it: each instruction and the
boundary on concrete states (the folded path, as tests/agreement/test_z3_vs_interp.py does for every
spec), and the same run once on a fully symbolic state whose terms are then evaluated at each drawn
state (the path the classifier takes: address comparisons with a window, guarded register writes).
"""

from __future__ import annotations

import pytest
import z3
from hypothesis import given, settings, strategies as st

from tests.agreement.test_z3_vs_interp import _check, array_entries, concrete, to_zstate
from tests.conftest import load
from tests.strategies import operands, states
from vverify.formal import symexec as sx
from vverify.interp import boundary as interp_boundary, step as interp_step

SPEC = "lang_irq"
NAMES = sorted(load(SPEC).instructions)


@st.composite
def irq_states(draw, spec):
    """A state whose pointer often falls at or near the window, and whose deadline is often near."""
    s = draw(states(spec))
    edges = [0xEFFF, 0xF000, 0xF001, 0xF002, 0xF003, 0xF004, 0xF005, 0xF00F, 0xF010]  # each register's units, the ends
    s.regs["ptr"] = draw(st.one_of(st.sampled_from(edges), st.integers(0xEFFC, 0xF014), st.integers(0, 0xFFFF)))
    if draw(st.integers(0, 3)):
        s.regs["mode"] = spec.modes["sup"]  # the mode the window allows, most of the time
    if draw(st.booleans()):
        s.regs["tcmp"] = (s.regs["tick"] + draw(st.integers(-2, 2))) & 0xFFFFFFFF
    return s


@pytest.mark.parametrize("instruction", NAMES)
def test_each_instruction_with_counters_and_windows_on_concrete_states(instruction):
    spec = load(SPEC)
    instr = spec.instructions[instruction]

    @settings(max_examples=60, deadline=None)
    @given(data=st.data())
    def agree(data):
        _check(spec, instr, data.draw(irq_states(spec), label="state"), data.draw(operands(instr), label="ops"))

    agree()


def _boundary_agrees(spec, s, got):
    expected, outcome = interp_boundary(spec, s)
    assert bool(concrete(got.trapped)) == (outcome.kind == "interrupt")
    assert bool(concrete(got.exited)) == (outcome.kind == "vmexit")
    if outcome.kind == "interrupt":
        assert spec.cause_by_index(concrete(got.cause)).name == outcome.cause
    if outcome.kind == "vmexit":
        assert concrete(got.tval) == outcome.tval
    for name in spec.registers:
        assert concrete(got.state.regs[name]) == expected.regs[name], name


def test_the_boundary_on_concrete_states():
    spec = load(SPEC)

    @settings(max_examples=300, deadline=None)
    @given(s=irq_states(spec))
    def agree(s):
        _boundary_agrees(spec, s, sx.boundary(spec, to_zstate(spec, s)))

    agree()


def _at(term, subs):
    """``term`` evaluated at the substitution ``subs`` (a known value passes through)."""
    if sx.known(term):
        return term
    return sx.simplify_value(z3.substitute(term, *subs)) if subs else sx.simplify_value(term)


class _Symbolic:
    """One symbolic run, evaluated at many concrete states."""

    def __init__(self, spec, run):
        self.spec = spec
        self.sym = sx.fresh_state(spec, "s")
        self.ops = {}
        self.result = run(self.sym, self.ops)

    def subs(self, s, ops):
        out = [(self.sym.regs[n], z3.BitVecVal(v, self.spec.registers[n].width)) for n, v in s.regs.items()]
        out.append((self.sym.mem, to_zstate(self.spec, s).mem))
        out += [(self.ops[n], z3.BitVecVal(v, self.ops[n].size())) for n, v in ops.items()]
        return out


def test_the_boundary_on_a_symbolic_state_evaluated_at_concrete_ones():
    spec = load(SPEC)
    run = _Symbolic(spec, lambda sym, ops: sx.boundary(spec, sym))
    r = run.result
    assert not sx.known(r.trapped) and not sx.known(r.exited)  # nothing was folded away

    @settings(max_examples=200, deadline=None)
    @given(s=irq_states(spec))
    def agree(s):
        subs = run.subs(s, {})
        expected, outcome = interp_boundary(spec, s)
        assert bool(_at(r.trapped, subs)) == (outcome.kind == "interrupt")
        assert bool(_at(r.exited, subs)) == (outcome.kind == "vmexit")
        if outcome.kind == "interrupt":
            assert spec.cause_by_index(_at(r.cause, subs)).name == outcome.cause
        for name in spec.registers:
            assert _at(r.state.regs[name], subs) == expected.regs[name], name

    agree()


@pytest.mark.parametrize("instruction", ["ld", "ld2", "st", "st2", "rdt", "svc", "wait", "halt"])
def test_instructions_on_a_symbolic_state_evaluated_at_concrete_ones(instruction):
    spec = load(SPEC)
    instr = spec.instructions[instruction]

    def run(sym, ops):
        ops.update({n: z3.BitVec(f"op.{n}", w) for n, w in instr.operands.items()})
        return sx.step(spec, sym, instr, ops)

    sym = _Symbolic(spec, run)
    r = sym.result

    @settings(max_examples=120, deadline=None)
    @given(data=st.data())
    def agree(data):
        s = data.draw(irq_states(spec), label="state")
        ops = data.draw(operands(instr), label="ops")
        subs = sym.subs(s, ops)
        expected, outcome = interp_step(spec, s, instruction, ops)
        assert bool(_at(r.trapped, subs)) == outcome.trapped
        if outcome.trapped:
            assert spec.cause_by_index(_at(r.cause, subs)).name == outcome.cause
            assert _at(r.tval, subs) == outcome.tval
        assert bool(_at(r.halted, subs)) == (outcome.kind == "halt")
        for name in spec.registers:
            assert _at(r.state.regs[name], subs) == expected.regs[name], name
        entries, default = array_entries(z3.substitute(r.state.mem, *subs))
        assert default == expected.mem_default and entries == expected.normalized_mem()

    agree()
