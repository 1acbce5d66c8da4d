"""The z3 model and the reference interpreter agree on concrete states.

Both backends are derived from the same IR; this property is what lets a
witness found by z3 be believed on the interpreter, and vice versa.  It runs
every instruction of every bundled spec on random concrete states (each
semantics once: a spec that only changes the map shares its parent's).
"""

from collections import Counter

import pytest
import z3
from hypothesis import given, settings, strategies as st

from tests.conftest import LANGUAGE_SPECS, spec_path, SPEC_FILES, load, own_instructions
from tests.strategies import operands, states
from vverify.formal import symexec as sx
from vverify.interp import step as interp_step

CASES = [(p.stem, name) for p in SPEC_FILES + [spec_path(n) for n in LANGUAGE_SPECS]
         for name in own_instructions(p)]  # each semantics once


def to_zstate(spec, s):
    files = {}
    for name, f in spec.files.items():
        vals = s.files[name]
        fill = Counter(vals).most_common(1)[0][0]  # a table is mostly one value: store only the others
        arr = z3.K(z3.BitVecSort(f.index_width), z3.BitVecVal(fill, f.width))
        for i, v in enumerate(vals):
            if v != fill:
                arr = z3.Store(arr, i, v)
        files[name] = arr
    mem = None
    if spec.memory:
        m = spec.memory
        mem = z3.K(z3.BitVecSort(m.address), z3.BitVecVal(s.mem_default, m.unit))
        for a, v in s.mem.items():
            mem = z3.Store(mem, a, v)
    return sx.ZState(dict(s.regs), files, mem, 0)


def concrete(v):
    v = sx.simplify_value(v)
    assert sx.known(v), f"not a constant: {v}"
    return int(v)


def array_entries(term):
    """Entries and default of a constant array term (Store chain over K)."""
    t = z3.simplify(term)
    entries = {}
    while z3.is_store(t):
        entries.setdefault(t.arg(1).as_long(), t.arg(2).as_long())
        t = t.arg(0)
    assert z3.is_const_array(t), t
    default = t.arg(0).as_long()
    return {a: v for a, v in entries.items() if v != default}, default


SPEC_BUDGET = 25  # a spec's examples, in units of the profile's per-test max_examples


def _examples(spec_name) -> int:
    """Examples per instruction: the profile's count, shared out on large specs.

    A spec gets about ``SPEC_BUDGET`` tests' worth of examples, spread over
    its instructions (at least 10 each): pg74's 14 instructions run the
    profile's full count each, x86's 85 about a fifth of it, which keeps the
    suite inside its time budget.  Longer profiles (``dev``, ``fuzz``) scale
    the same way.
    """
    full = settings.default.max_examples
    n = len(own_instructions(spec_path(spec_name)))
    return max(10, min(full, full * SPEC_BUDGET // n))


@pytest.mark.parametrize("spec_name,instruction", CASES)
def test_z3_model_matches_interpreter(spec_name, instruction):
    spec = load(spec_name)
    instr = spec.instructions[instruction]

    @settings(max_examples=_examples(spec_name))
    @given(data=st.data())
    def agree(data):
        s = data.draw(states(spec), label="state")
        ops = data.draw(operands(instr), label="operands")
        _check(spec, instr, s, ops)

    agree()


def _check(spec, instr, s, ops, mmu=None):
    """Interpreter and z3 on one state; ``mmu``: both run on a virtualized MMU presenting that view."""
    expected, outcome = interp_step(spec, s, instr.name, ops, mmu=mmu)
    got = sx.step(spec, to_zstate(spec, s), instr, ops, mmu)

    assert bool(concrete(got.trapped)) == outcome.trapped
    if outcome.trapped:
        assert spec.cause_by_index(concrete(got.cause)).name == outcome.cause
        assert concrete(got.tval) == outcome.tval
    assert bool(concrete(got.halted)) == (outcome.kind == "halt")
    for name in spec.registers:
        assert concrete(got.state.regs[name]) == expected.regs[name], name
    for name, f in spec.files.items():
        entries, fill = array_entries(got.state.files[name])
        vals = [f.hardwired.get(i, entries.get(i, fill)) for i in range(f.count)]
        assert vals == expected.files[name], name
    if spec.memory:
        entries, default = array_entries(got.state.mem)
        assert default == expected.mem_default
        assert entries == expected.normalized_mem()
