"""hypercall(n) and vmexit(reason): exits to the hypervisor, in every backend alike."""

import pytest

from tests.conftest import spec_path
from vverify.check.run import check_spec
from vverify.core import Core
from vverify.errors import SpecError
from vverify.interp import initial_state, run as interp_run, step
from vverify.spec.loader import load_spec

EXTENSION = '''
[isa]
name = "pg74-hv"
extends = "pg74.toml"

[instructions.vmcall]
encoding = "1111 00 n:10"
syntax = "vmcall {n}"
doc = "ask the hypervisor for service n; r1 is not written, because exits are precise"
semantics = """
r[1] = 99
hypercall(zext(n, 16))
"""

[instructions.vmx]
encoding = "1111 01 n:10"
syntax = "vmx {n}"
doc = "leave to the hypervisor with reason n in supervisor mode; a no-op in user mode"
semantics = """
if mode == s:
    vmexit(zext(n, 16))
"""
'''


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "pg74.toml").write_text((spec_path("pg74")).read_text())
    p = tmp_path / "pg74_hv.toml"
    p.write_text(EXTENSION)
    return load_spec(p)


def test_interpreter_exit_is_precise(spec):
    st = initial_state(spec)
    st.regs["pc"] = 7
    out, o = step(spec, st, "vmcall", {"n": 5})
    assert (o.kind, o.tval) == ("hypercall", 5)
    assert out.files["r"][1] == 0 and out.regs["pc"] == 7


def test_core_and_interpreter_agree_on_exits(spec):
    st = initial_state(spec)
    st.regs["b"] = 0xFFFF
    words = [spec.instructions["li"].encoding.encode({"rd": 2, "imm": 3}),
             spec.instructions["vmx"].encoding.encode({"n": 9}),
             spec.instructions["vmcall"].encoding.encode({"n": 4})]
    for i, w in enumerate(words):
        st.mem[i] = w
    want, wex = interp_run(spec, st, 10)
    core = Core(spec)
    core.load_state(st)
    ex = core.run(10)
    assert (ex.reason, ex.tval, ex.steps) == (wex.reason, wex.tval, wex.steps) == ("vmexit", 9, 1)
    assert core.reg("pc") == want.regs["pc"] == 1
    core.set_reg("pc", 2)
    ex = core.run(10)
    assert (ex.reason, ex.tval, ex.steps) == ("hypercall", 4, 0)
    assert core.F["r"][1] == 0


def test_classifier_treats_an_exit_as_leaving_the_guest(spec):
    r = check_spec(spec, use_cache=False)
    v = r.unit("vmcall").props
    assert v["privileged"] == "no" and v["sensitive"] == "no"
    assert v["safe_supervisor"] == "yes" and v["safe_user"] == "yes"  # the VMM gets control either way
    x = r.unit("vmx").props
    assert x["mode_sensitive"] == "no"  # in supervisor mode it leaves; a pair needs both to complete
    assert not r.replay_errors


def test_exits_are_not_allowed_in_the_trap_entry(tmp_path, spec):
    text = (spec_path("pg74")).read_text().replace('store(9, 1, tval)', 'store(9, 1, tval)\nhypercall(0)')
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SpecError, match="trap entry"):
        load_spec(p)
