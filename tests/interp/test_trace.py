"""The interpreter's trace (``step(..., seen)``) names everything a run depends on and changes.

`vverify explain` shows a witness's states by the fields its runs read or wrote (the trace), so the
trace must be complete: a field it does not name must play no part.  The property: change every
field the trace left out (each register but pc, each file entry, every memory unit), run again, and
the outcome and every traced field come out the same while every other field is left as it was.
Tracing must not change the run either.
"""

import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import load
from tests.strategies import operands, states
from vverify.interp import MachineState, step
from vverify.spec.ir import mask


def perturbed(spec, s: MachineState, seen: set) -> MachineState:
    """``s`` with every field the trace did not name changed."""
    regs = dict(s.regs)
    for name, r in spec.registers.items():
        if name == "pc" or ("reg", name) in seen:
            continue
        if name == "mode":  # another declared mode (the run never read it)
            others = [v for v in spec.modes.values() if v != s.regs["mode"]]
            regs[name] = others[0] if others else s.regs["mode"]
        else:
            regs[name] = (s.regs[name] + 1) & mask(r.width)
    files = {}
    for name, f in spec.files.items():
        files[name] = [v if ("file", name, i) in seen or i in f.hardwired else (v + 1) & mask(f.width)
                       for i, v in enumerate(s.files[name])]
    mem, default = {}, s.mem_default
    if spec.memory:
        unit = mask(spec.memory.unit)
        default = (s.mem_default + 1) & unit
        mem = {a: (v + 1) & unit for a, v in s.mem.items()}
        mem.update({t[1]: s.read_mem(t[1]) for t in seen if t[0] == "mem"})  # what was read stays
    return MachineState(regs, files, mem, default)


@pytest.mark.parametrize("spec_name", ["pg74", "pdp10", "riscv32", "pg74_vt", "x86_32", "lang_irq"])
def test_what_the_trace_leaves_out_plays_no_part(spec_name):
    spec = load(spec_name)
    names = sorted(spec.instructions)

    @settings(max_examples=300)
    @given(data=st.data())
    def complete(data):
        instr = spec.instructions[data.draw(st.sampled_from(names), label="instruction")]
        s = data.draw(states(spec), label="state")
        ops = data.draw(operands(instr), label="operands")
        seen: set = set()
        n, o = step(spec, s, instr.name, ops, seen)
        plain, po = step(spec, s, instr.name, ops)
        assert (n, o) == (plain, po)  # tracing changes nothing

        s2 = perturbed(spec, s, seen)
        seen2: set = set()
        n2, o2 = step(spec, s2, instr.name, ops, seen2)
        assert o2 == o and seen2 == seen
        for name in spec.registers:
            want = n.regs[name] if name == "pc" or ("reg", name) in seen else s2.regs[name]
            assert n2.regs[name] == want, name
        for name in spec.files:
            for i in range(spec.files[name].count):
                want = n.files[name][i] if ("file", name, i) in seen else s2.files[name][i]
                assert n2.files[name][i] == want, (name, i)
        if spec.memory:
            for a in {*s.mem, *n.mem, *s2.mem, *n2.mem}:
                want = n.read_mem(a) if ("mem", a) in seen else s2.read_mem(a)
                assert n2.read_mem(a) == want, a
            assert n2.mem_default == s2.mem_default

    complete()
