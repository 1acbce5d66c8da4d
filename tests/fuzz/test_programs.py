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


def _smc_program(spec_name, where):
    """putc(5), the item (in user code, or in the kernel code two system calls 3 run), putc(7)."""
    from vverify.fuzz.programs import EXTRA_SYSCALL, PUTC, SMC, FuzzProgram

    if where == "user":
        return FuzzProgram(spec_name, (("syscall", PUTC, 5), (SMC, "user"), ("syscall", PUTC, 7)), (), 400)
    user = (("syscall", PUTC, 5), ("syscall", EXTRA_SYSCALL), ("syscall", EXTRA_SYSCALL), ("syscall", PUTC, 7))
    return FuzzProgram(spec_name, user, ((SMC, "kernel"),), 400)


# Where a bundled spec's programs get no self-modifying item, and why.
NOT_DRAWN = {("mips32", "kernel"): "mips32's kernel runs in kseg0, at virtual 0x80000000 + its physical address; "
                                   "the item is laid out where the code's virtual addresses are its physical ones"}
_SV32 = ("riscv32_sv32's loads and stores reach memory through its page-walk helpers, so none of them is the plain "
         "load or store of one register the item is built from (its programs change the page tables through the "
         "guest library's calls instead: docs/guests.md)")
NOT_DRAWN.update({("riscv32_sv32", where): _SV32 for where in ("user", "kernel")})
_ARM = ("armv7a's word LDR may write the pc (LoadWritePC), so it is not a plain copy of one register and only STR is "
        "found at that width; the byte pair (LDRB/STRB) is found, but no layout of the item with it runs as it should")
NOT_DRAWN.update({(name, where): _ARM for name in ("armv7a", "armv7a_undef") for where in ("user", "kernel")})


@pytest.mark.parametrize("where", ["user", "kernel"])
@pytest.mark.parametrize("spec_name", GUEST_SPECS)
def test_self_modifying_item_rewrites_code_that_ran_and_goes_on(spec_name, where):
    """On the machine the item rewrites the first instruction of its code, runs it, and the program
    goes on past the item to exit normally (a translator that ran the old code would loop instead)."""
    from vverify import guests as G
    from vverify.interp import run

    from vverify.fuzz.programs import _smc

    spec = load(spec_name)
    if _smc(spec, where).pair is None:  # the fuzzer never draws the item there; only where it is known why
        pytest.skip(NOT_DRAWN[spec_name, where])
    program = _smc_program(spec_name, where)
    state = program.boot_state(spec)
    slow = G.boot_state(spec, program.build(spec))
    assert state.normalized_mem() == slow.normalized_mem()  # the printed program is the program
    entry = G.layout(spec).user_base + G.layout(spec).user_origin if where == "user" else \
        program.build(spec).symbols["sys_extra"]
    before = [state.read_mem(entry + k) for k in range(spec.max_ilen_units)]
    end, ex = run(spec, state, 2000, trap_exits=G.halt_convention(spec).trap_exits)
    assert G.halt_convention(spec).ended(ex), f"the program did not end: {ex}"
    assert G.exit_status(spec, end).status == "exit"
    assert G.read_output(spec, end) == [5, 7]
    assert [end.read_mem(entry + k) for k in range(spec.max_ilen_units)] != before, "the code at the entry is unchanged"
    assert "written over" in program.assembly(spec)


def test_self_modifying_item_is_not_drawn_where_code_cannot_be_written(tmp_path):
    """A pg74 whose stores need supervisor mode: user programs get no self-modifying item (nothing in
    user mode can write the code), kernel code still does."""
    from hypothesis import HealthCheck, settings
    from vverify.spec.loader import load_spec
    from tests.conftest import spec_path

    path = tmp_path / "pg74_ro.toml"
    path.write_text(f'''[isa]
name = "pg74_ro"
extends = "{spec_path("pg74").as_posix()}"
title = "pg74 whose stores need supervisor mode"
summary = "user code cannot write memory"

[instructions.st]
encoding = "0010 rs:2 a:10"
syntax = "st {{rs}}, {{a}}"
doc = "store a word, in supervisor mode only"
semantics = """
supervisor_only()
write(zext(a, 16), r[rs])
"""
''')
    spec = load_spec(path)
    kernel_items = []

    @settings(database=None, max_examples=200, suppress_health_check=list(HealthCheck))
    @given(fuzz_programs(spec, flagged_weights(spec)))
    def drawn(program):
        assert ("smc", "user") not in program.user
        kernel_items.append(("smc", "kernel") in program.kernel)

    drawn()
    assert any(kernel_items)


def test_a_library_that_declares_further_calls_gets_them_in_user_code():
    """riscv32_sv32's library declares pte, root and flush ([guest.calls]): its user programs make them,
    with arguments in range; riscv32's library declares none, and its programs are drawn as before."""
    from vverify.fuzz.programs import _items

    spec = load("riscv32_sv32")
    items = _items(spec, flagged_weights(spec, report_of(spec)).user, "user")
    declared = {n: args for n, args, _ in spec.guest.calls.values()}
    made = set()
    for b in range(256):
        for c in range(0, 256, 32):
            it = items.item(bytes([b, c, c]) + bytes(items.draws.size - 2))
            if it[0] == "syscall" and it[1] in declared:
                assert 0 <= it[2] < declared[it[1]]
                made.add(it[1])
    assert made == set(declared)
    plain = load("riscv32")
    assert "call" not in _items(plain, flagged_weights(plain, report_of(plain)).user, "user").kinds
