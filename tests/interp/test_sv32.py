"""riscv32_sv32's page walk, case by case against the privileged spec (v1.12, 4.3 and 3.1.6.3).

The interpreter runs the spec's own walk (a helper in its semantics); each test builds page tables
with tests/sv32.py, written from the architecture's figures, and checks one rule: which accesses
translate, where they land, and which fault, with which cause and trap value.  The other backends
are held to the interpreter in tests/agreement/test_sv32_backends.py.
"""

import pytest

from tests.conftest import load
from tests.sv32 import A, D, G, MODES, PAGE, R, U, V, W, X, paged_state, pte, read_word, satp, write_word
from vverify.interp import initial_state, step, step_once

SUM, MXR, MPRV = 1 << 18, 1 << 19, 1 << 17
VA = 0x40001000          # a virtual page of the tests, far from its physical frame
FRAME = 0x20000          # the physical frame it maps to
RWXAD = R | W | X | A | D


@pytest.fixture(scope="module")
def spec():
    return load("riscv32_sv32")


def lw(spec, s, va):
    s.files["x"][5] = va
    return step(spec, s, "lw", {"rd": 6, "rs1": 5, "imm": 0})


def sw(spec, s, va, value=0x11223344):
    s.files["x"][5], s.files["x"][7] = va, value
    return step(spec, s, "sw", {"rs1": 5, "rs2": 7, "imm": 0})


def mapped(spec, mode="S", flags=RWXAD | V, mstatus=0):
    s, t = paged_state(spec, mode, mstatus=mstatus)
    t.map(VA, FRAME, flags)
    write_word(s, FRAME + 0x10, 0xCAFEF00D)
    return s, t


def faulted(after, outcome, cause, va):
    """The trap was taken in M (nothing delegated) with the virtual address as mtval."""
    assert outcome.kind == "trap" and outcome.cause == cause and outcome.tval == va
    assert after.regs["mtval"] == va and after.regs["mode"] == MODES["M"]


# ---------------------------------------------------------------- where an access lands


def test_a_load_and_a_store_in_s_mode_go_through_the_tables(spec):
    s, _ = mapped(spec)
    after, out = lw(spec, s, VA + 0x10)
    assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D
    after, out = sw(spec, s, VA + 0x20)
    assert out.kind == "ok" and read_word(after, FRAME + 0x20) == 0x11223344
    assert read_word(after, (VA + 0x20) % (1 << 18)) != 0x11223344  # not at the virtual address


@pytest.mark.parametrize("how", ["bare", "machine"])
def test_bare_satp_or_machine_mode_is_untranslated(spec, how):
    s, _ = mapped(spec, mode="M" if how == "machine" else "S")
    if how == "bare":
        s.regs["satp"] &= 0x7FFFFFFF
    write_word(s, 0x3010, 0x5A5A5A5A)
    after, out = lw(spec, s, 0x3010)
    assert out.kind == "ok" and after.files["x"][6] == 0x5A5A5A5A


def test_a_superpage_maps_4_mib_and_keeps_the_low_22_bits(spec):
    s, t = paged_state(spec, "S")
    t.map_super(0x80000000, 0, V | R | W | A | D)
    write_word(s, 0x2A014, 0x01020304)
    after, out = lw(spec, s, 0x8002A014)
    assert out.kind == "ok" and after.files["x"][6] == 0x01020304


def test_a_misaligned_superpage_is_a_page_fault(spec):
    s, t = paged_state(spec, "S")
    t.map_super(0x80000000, 5 * PAGE, V | R | W | A | D)  # PPN[0] = 5, not zero
    faulted(*lw(spec, s, 0x80000010), "load_page_fault", 0x80000010)


def test_without_a_tlb_a_changed_pte_takes_effect_at_once(spec):
    """The model caches no translation: the next access walks the tables as memory holds them."""
    s, t = mapped(spec)
    t.map(VA, FRAME + PAGE, RWXAD | V)
    write_word(s, FRAME + PAGE + 0x10, 0x77777777)
    after, out = lw(spec, s, VA + 0x10)
    assert out.kind == "ok" and after.files["x"][6] == 0x77777777


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("flags", [R | W | X | A | D, V | W | A | D])  # V = 0; W without R, reserved
def test_an_invalid_leaf_is_a_page_fault(spec, flags):
    s, _ = mapped(spec, flags=flags)
    faulted(*lw(spec, s, VA), "load_page_fault", VA)


def test_a_pointer_at_the_last_level_is_a_page_fault(spec):
    s, _ = mapped(spec, flags=V)
    faulted(*lw(spec, s, VA), "load_page_fault", VA)


def test_u_mode_reaches_only_u_pages(spec):
    s, _ = mapped(spec, mode="U", flags=RWXAD | V)
    faulted(*lw(spec, s, VA + 4), "load_page_fault", VA + 4)
    s, _ = mapped(spec, mode="U", flags=RWXAD | V | U)
    after, out = lw(spec, s, VA + 0x10)
    assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D


@pytest.mark.parametrize("sum_bit", [0, SUM])
def test_s_mode_loads_and_stores_reach_u_pages_only_with_sum(spec, sum_bit):
    s, _ = mapped(spec, flags=RWXAD | V | U, mstatus=sum_bit)
    after, out = lw(spec, s, VA + 0x10)
    if sum_bit:
        assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D
        assert sw(spec, s, VA)[1].kind == "ok"
    else:
        faulted(after, out, "load_page_fault", VA + 0x10)
        faulted(*sw(spec, s, VA), "store_page_fault", VA)


@pytest.mark.parametrize("mxr", [0, MXR])
def test_an_execute_only_page_is_readable_only_with_mxr(spec, mxr):
    s, _ = mapped(spec, flags=V | X | A, mstatus=mxr)
    after, out = lw(spec, s, VA + 0x10)
    if mxr:
        assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D
    else:
        faulted(after, out, "load_page_fault", VA + 0x10)


def test_a_store_needs_w(spec):
    s, _ = mapped(spec, flags=V | R | X | A | D)
    faulted(*sw(spec, s, VA), "store_page_fault", VA)


def test_a_clear_accessed_bit_faults_and_is_not_set(spec):
    s, _ = mapped(spec, flags=V | R | W | D)
    before = dict(s.mem)
    after, out = lw(spec, s, VA)
    faulted(after, out, "load_page_fault", VA)
    assert after.mem == before  # the walker writes no PTE


def test_a_clear_dirty_bit_faults_a_store_but_not_a_load(spec):
    s, _ = mapped(spec, flags=V | R | W | A)
    assert lw(spec, s, VA + 0x10)[1].kind == "ok"
    faulted(*sw(spec, s, VA + 8), "store_page_fault", VA + 8)


def test_the_global_bit_and_the_asid_change_nothing_without_a_tlb(spec):
    s, t = mapped(spec, flags=RWXAD | V | G)
    s.regs["satp"] = satp(t.root, asid=0x1AB)
    after, out = lw(spec, s, VA + 0x10)
    assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D


def test_misalignment_is_checked_before_translation(spec):
    s, _ = paged_state(spec, "S")  # nothing mapped: translating would fault
    s.files["x"][5] = VA + 2
    _, out = step(spec, s, "lw", {"rd": 6, "rs1": 5, "imm": 0})
    assert (out.cause, out.tval) == ("load_address_misaligned", VA + 2)


def test_page_faults_delegate_to_s_mode_with_stval(spec):
    s, _ = mapped(spec, mode="U", flags=RWXAD | V)
    s.regs["medeleg"] = (1 << 12) | (1 << 13) | (1 << 15)
    after, out = lw(spec, s, VA + 8)
    assert out.cause == "load_page_fault"
    assert (after.regs["mode"], after.regs["scause"], after.regs["stval"]) == (MODES["S"], 13, VA + 8)


# ---------------------------------------------------------------- outside physical memory


@pytest.mark.parametrize("access, cause", [("load", "load_access_fault"), ("store", "store_access_fault")])
def test_a_pte_outside_memory_is_an_access_fault_of_the_access_type(spec, access, cause):
    s, _ = paged_state(spec, "S")
    s.regs["satp"] = satp(0x40)  # the root table at 0x40000: past the end of the 256 KiB
    faulted(*(lw(spec, s, VA) if access == "load" else sw(spec, s, VA)), cause, VA)


def test_a_leaf_outside_memory_is_an_access_fault(spec):
    s, t = paged_state(spec, "S")
    t.map(VA, 0x100000, RWXAD | V)  # 1 MiB: no memory there
    faulted(*lw(spec, s, VA + 4), "load_access_fault", VA + 4)


# ---------------------------------------------------------------- MPRV


@pytest.mark.parametrize("mpp, translated", [("S", True), ("U", False), ("M", False)])
def test_mprv_makes_m_mode_loads_use_mpp(spec, mpp, translated):
    """With MPRV = 1 an M-mode load is translated and checked as if in MPP: as S it reaches the S
    page; as U it faults on it (not a U page); as M it is untranslated."""
    s, _ = mapped(spec, mode="M", mstatus=MPRV | (MODES[mpp] << 11))
    write_word(s, VA % (1 << 18) + 0x10, 0x0BADC0DE)
    after, out = lw(spec, s, VA + 0x10)
    if mpp == "S":
        assert out.kind == "ok" and after.files["x"][6] == 0xCAFEF00D
    elif mpp == "U":
        faulted(after, out, "load_page_fault", VA + 0x10)
    else:
        assert out.kind == "trap" and out.cause == "load_access_fault"  # 0x40001010 untranslated: no memory


# ---------------------------------------------------------------- fetch


def _program_at(spec, s, va, frame, word):
    write_word(s, frame + (va % PAGE), word)
    s.regs["pc"] = va


ADDI = 0x00100093  # addi ra, zero, 1


def test_s_mode_fetches_through_the_tables(spec):
    s, _ = mapped(spec, flags=V | X | A)
    _program_at(spec, s, VA + 0x40, FRAME, ADDI)
    after, st = step_once(spec, s)
    assert st.kind == "ok" and st.instruction == "addi" and after.files["x"][1] == 1 and after.regs["pc"] == VA + 0x44


@pytest.mark.parametrize("flags", [V | R | A, V | X | A | U, V | X])  # no X; a U page from S; A = 0
def test_a_fetch_that_may_not_execute_is_an_instruction_page_fault(spec, flags):
    s, _ = mapped(spec, flags=flags, mstatus=SUM)  # SUM never lets S execute a U page
    _program_at(spec, s, VA + 0x40, FRAME, ADDI)
    after, st = step_once(spec, s)
    assert (st.kind, st.cause, st.tval) == ("trap", "instruction_page_fault", VA + 0x40)
    assert after.regs["mtval"] == VA + 0x40 and after.regs["mepc"] == VA + 0x40


def test_mprv_does_not_translate_fetches(spec):
    s, _ = mapped(spec, mode="M", mstatus=MPRV | (MODES["S"] << 11))
    _program_at(spec, s, 0x100, 0, ADDI)  # at physical 0x100
    after, st = step_once(spec, s)
    assert st.kind == "ok" and after.files["x"][1] == 1


# ---------------------------------------------------------------- satp, sstatus, SFENCE.VMA, TVM


def csrrw(spec, s, csr, value):
    s.files["x"][5] = value
    return step(spec, s, "csrrw", {"rd": 6, "rs1": 5, "csrno": spec.enums["csr"][csr]})


def test_satp_accepts_sv32_and_the_plain_spec_does_not(spec):
    s = initial_state(spec)
    s.regs["mode"] = MODES["S"]
    after, out = csrrw(spec, s, "satp", satp(0x3FFFFF, asid=0x1FF))
    assert out.kind == "ok" and after.regs["satp"] == 0xFFFFFFFF
    plain = load("riscv32")
    s = initial_state(plain)
    after, out = csrrw(plain, s, "satp", satp(0x12))
    assert out.kind == "ok" and after.regs["satp"] == 0  # Bare only: the whole write is ignored


def test_sum_is_writable_through_sstatus(spec):
    s = initial_state(spec)
    s.regs["mode"] = MODES["S"]
    after, out = csrrw(spec, s, "sstatus", SUM | MXR)
    assert out.kind == "ok" and after.regs["mstatus"] & (SUM | MXR) == SUM | MXR


@pytest.mark.parametrize("mode, tvm, legal", [("U", 0, False), ("S", 0, True), ("S", 1, False), ("M", 1, True)])
def test_tvm_traps_satp_and_sfence_vma_in_s_mode(spec, mode, tvm, legal):
    s = initial_state(spec)
    s.regs["mode"], s.regs["mstatus"] = MODES[mode], tvm << 20
    for out in (csrrw(spec, s, "satp", satp(0x10))[1], step(spec, s, "sfence_vma", {"rs1": 0, "rs2": 0})[1]):
        assert out.kind == ("ok" if legal else "trap")
        if not legal:
            assert out.cause == "illegal_privilege"


def test_pte_of_the_builder_matches_the_figure():
    """The test tables' own encoding, checked against the privileged spec's Figure 4.18 by hand."""
    assert pte(0x12345, V | R | A) == (0x12345 << 10) | 0b1000011
    assert satp(0x10, asid=3) == 0x80C00010
