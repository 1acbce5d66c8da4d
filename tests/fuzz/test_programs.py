"""Generated programs: the fast image equals the program's own text, assembled."""

import pytest
from hypothesis import given, strategies as st

from tests.conftest import GUEST_SPECS, load, report_of
from vverify.asm import AsmError
from vverify.fuzz.programs import flagged_weights, fuzz_programs


@pytest.mark.parametrize("spec_name", GUEST_SPECS)  # programs need a guest library to boot in
@given(data=st.data())
def test_image_matches_the_printed_program(spec_name, data):
    spec = load(spec_name)
    program = data.draw(fuzz_programs(spec, flagged_weights(spec, report_of(spec))))
    try:
        fast = program.boot_state(spec)
    except AsmError:
        return
    from vverify import guests as G

    slow = G.boot_state(spec, program.build(spec))
    assert fast.regs == slow.regs
    assert fast.normalized_mem() == slow.normalized_mem()


def test_weights_steer_to_flagged_instructions():
    spec = load("pg74_rdbase")
    w = flagged_weights(spec, report_of(spec))
    assert w.user["rdbase"] > w.user["ld"]  # sensitive and unprivileged: drawn more in user code
    assert w.kernel["lpsw"] > w.kernel["ld"]  # privileged: drawn more in kernel code
    assert w.user["lpsw"] == w.user["ld"]  # a privileged instruction would just end a user program
