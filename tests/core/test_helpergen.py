"""A spec helper compiled to be called by itself (vverify/core/helpergen.py), held to the interpreter.

The shadow pager's walk is riscv32_sv32's ``translate`` compiled this way, so the compiled call must
be the spec's: on the paged states of tests/agreement/test_sv32_backends.py, for every access kind
and privilege, it returns the address or traps with the cause and value the reference interpreter
evaluating the same body finds, and it records the memory reads the interpreter makes, in order.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import paged_states
from tests.conftest import load
from vverify.core import Core, CoreUnsupported
from vverify.core.helpergen import generate_helper
from vverify.interp import MachineState, Trap, eval_pure
from vverify.spec import ir
from vverify.spec.loader import load_spec
from vverify.spec.model import helper_call

SPEC = "riscv32_sv32"
_cores: dict = {}


def core(jit: bool) -> Core:
    if jit not in _cores:
        _cores[jit] = Core(load(SPEC), jit=jit)
    return _cores[jit]


def interpreted(sp, s, va, acc, priv):
    """``(cause, tval, value, reads)`` of the interpreter evaluating the call body on ``s``."""
    body, local, _ = helper_call(sp, "translate")
    units = []

    def backing(a):
        units.append(a)
        return s.read_mem(a)

    st_ = MachineState(dict(s.regs), s.files, {}, s.mem_default, backing)
    try:
        v = eval_pure(sp, st_, SimpleNamespace(prelude=body, expr=ir.Local(local, 34)),
                      {"va": va, "acc": acc, "priv": priv})
        out = (None, 0, v)
    except Trap as t:
        out = (t.cause, t.tval, 0)
    words = [a for a in units if a % 4 == 0]  # each 4-byte PTE read reads its units in order
    return (*out, [(a, sum(s.read_mem(a + k) << (8 * k) for k in range(4))) for a in words])


@pytest.mark.parametrize("jit", [True, False])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_translate_is_the_interpreters(jit, data):
    sp = load(SPEC)
    s, pool = data.draw(paged_states(), label="paged state")
    c = core(jit)
    c.load_state(s)
    h = c.compiled_helper("translate")
    va = (data.draw(st.sampled_from(pool)) + 4 * data.draw(st.integers(0, 1023))) & 0xFFFFFFFF
    acc = data.draw(st.sampled_from([sp.constants[n] for n in ("ACC_FETCH", "ACC_LOAD", "ACC_STORE")]))
    priv = data.draw(st.sampled_from(sorted(sp.modes.values())))
    cause, tval, value, n = h.call(c.R, va, acc, priv)
    reads = h.reads[:2 * n].tolist()
    want = interpreted(sp, s, va, acc, priv)
    event(f"{cause or 'translates'}, {n} reads")
    assert (cause, tval, value if cause is None else 0, list(zip(reads[::2], reads[1::2]))) == want


def test_a_helper_that_writes_state_is_not_compiled_to_be_called_alone(tmp_path):
    base = load(SPEC)
    path = (Path(base.path).parent / "writes.toml").resolve()
    text = (f'[isa]\nname = "writes"\nextends = "{Path(base.path).name}"\n'
            '[helpers]\ncode = """\ndef bump(v: 32) -> 32:\n    satp = v\n    return v\n"""\n').encode()
    sp = load_spec(path, {**base.sources, str(path): text})
    with pytest.raises(CoreUnsupported, match="helper 'bump' writes state"):
        generate_helper(sp, "bump")
