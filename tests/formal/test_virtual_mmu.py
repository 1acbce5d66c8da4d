"""Popek & Goldberg with paged memory: the questions under a virtualized MMU (``[virtualization.mmu]``).

The rule (docs/theory.md): a VMM that shadows or nests the page tables gives each guest mode its own
mode's translation, whatever real mode the guest runs in.  So an access an instruction makes at its
own privilege translates as the guest's mode does (in the *mode* question both runs translate as the
first mode; in a shadow placement, as the guest), while an access that asks for another privilege
(ARM's LDRT, "as user") keeps it.  Shown here on riscv32_sv32 (shadow paging) and on a variant of it
with an LDRT-like load, in the order the rule is built: the interpreter and z3 run the lowered bodies
alike; the rule does what it says on concrete states; and the classifier's answers follow from it,
with witnesses the interpreter replays.
"""

from __future__ import annotations

import dataclasses
import copy

import pytest
from hypothesis import event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import MEMORY_ACCESS, paged_states
from tests.agreement.test_z3_vs_interp import _check
from tests.conftest import load
from tests.strategies import word
from tests.sv32 import A, MODES, PAGE, R, U, V, W, X, paged_state, write_word
from vverify.check.replay import ReplayError, replay
from vverify.formal.classify import UnitClassifier
from vverify.interp import mmu_view, step
from vverify.spec.loader import load_spec
from vverify.spec.units import Unit
from vverify.vocabulary import NO, PRESENTED_MODE, YES

SPEC = "riscv32_sv32"
TIMEOUT_MS = 60000

# A load "as user" (the class of ARM's LDRT): riscv32_sv32 with an instruction that translates at U
# whatever the mode, and one that translates at M (a physical load) whatever the mode.  Their
# encodings are in custom-1 and custom-2, which riscv32 leaves free.
AS_USER = """
[isa]
name = "riscv32_sv32_ldrt"
extends = "{parent}"

[helpers]
code = '''
def load32_as_user(a: 32) -> 32:
    if a[1:0] != 0:
        trap(load_address_misaligned, a)
    pa = translate(a, ACC_LOAD, U)
    if pa > MEM_SIZE - 4:
        trap(load_access_fault, a)
    return load(pa[31:0], 4)

def load32_physical(a: 32) -> 32:
    pa = translate(a, ACC_LOAD, M)
    if pa > MEM_SIZE - 4:
        trap(load_access_fault, a)
    return load(pa[31:0], 4)
'''

[instructions.lwt]
encoding = "imm:12 rs1:5 010 rd:5 0101011"
syntax = "lwt {{rd}}, {{imm}}({{rs1}})"
semantics = "x[rd] = load32_as_user(x[rs1] + sext(imm, 32))"

[instructions.lwp]
encoding = "imm:12 rs1:5 010 rd:5 1011011"
syntax = "lwp {{rd}}, {{imm}}({{rs1}})"
semantics = "x[rd] = load32_physical(x[rs1] + sext(imm, 32))"
"""


@pytest.fixture(scope="module")
def as_user(tmp_path_factory):
    path = tmp_path_factory.mktemp("ldrt") / "riscv32_sv32_ldrt.toml"
    path.write_text(AS_USER.format(parent=load(SPEC).path))
    return load_spec(path)


def without_mmu(spec):
    """The same spec with the map's MMU declaration removed: the guest's root on the real MMU."""
    out = copy.copy(spec)
    out.virtualization = dataclasses.replace(spec.virtualization, mmu=None)
    return out


# ------------------------------------------------------------ backends


@settings(max_examples=200)
@given(data=st.data())
def test_z3_runs_the_virtualized_translation_as_the_interpreter(data):
    """On paged states placed in a random real mode with random real mstatus and satp (what a VMM
    leaves there), with the translation state of the guest presented, z3 and the interpreter agree."""
    spec = load(SPEC)
    guest, _ = data.draw(paged_states(), label="guest state")
    placed = guest.copy()
    placed.regs["mode"] = data.draw(st.sampled_from(sorted(MODES.values())), label="real mode")
    placed.regs["mstatus"] = data.draw(st.sampled_from([0, 0x700000, guest.regs["mstatus"]]), label="real mstatus")
    placed.regs["satp"] = data.draw(st.one_of(st.sampled_from([0, guest.regs["satp"]]), word(32)), label="real satp")
    presented = mmu_view(spec, guest, data.draw(st.sampled_from(sorted(MODES.values())), label="presented mode"))
    name = data.draw(st.sampled_from(MEMORY_ACCESS), label="instruction")
    instr = spec.instructions[name]
    ops = {k: data.draw(word(w)) for k, w in instr.operands.items()}
    ops["rs1"] = data.draw(st.integers(1, 31))
    ops["imm"] = data.draw(st.integers(0, 63)) * 4
    event(f"outcome: {step(spec, placed, name, ops, mmu=presented)[1].kind}")
    _check(spec, instr, placed, ops, presented)


# ------------------------------------------------------------ the rule, concretely

VA, FRAME = 0x00400000, 0x30


def _kernel_page(mode="S"):
    """A guest in ``mode`` with a supervisor-only data page at VA holding 0x1234, x1 = VA."""
    spec = load(SPEC)
    s, t = paged_state(spec, mode)
    t.map(VA, FRAME * PAGE, V | A | R | W)
    write_word(s, FRAME * PAGE, 0x1234)
    s.files["x"][1] = VA
    return spec, s


def test_a_guest_kernel_load_placed_in_user_mode_translates_as_the_kernel():
    spec, g = _kernel_page()
    lw = {"rd": 2, "rs1": 1, "imm": 0}
    native, o = step(spec, g, "lw", lw)
    assert o.kind == "ok" and native.files["x"][2] == 0x1234
    placed = g.copy()
    placed.regs.update(mode=MODES["U"], mstatus=0x700000)  # riscv32's map: real U-mode, TVM/TW/TSR
    on_guest_tables, o = step(spec, placed, "lw", lw)  # no shadow: the real MMU sees an S page from U
    assert o.cause == "load_page_fault"
    shadowed, o = step(spec, placed, "lw", lw, mmu=mmu_view(spec, g, g.regs["mode"]))
    assert o.kind == "ok" and shadowed.files["x"][2] == 0x1234
    assert shadowed.regs["mstatus"] == 0x700000 and "mmu.mode" not in shadowed.regs  # the view leaves nothing


def test_an_access_as_user_keeps_its_privilege_under_the_view(as_user):
    spec = as_user
    _, g = _kernel_page()
    s = g.copy()
    s.regs["mode"] = MODES["U"]
    lwt = {"rd": 2, "rs1": 1, "imm": 0}
    # natively, in S and in U alike, an as-user load of a supervisor page faults
    assert step(spec, g, "lwt", lwt)[1].cause == "load_page_fault"
    assert step(spec, s, "lwt", lwt)[1].cause == "load_page_fault"
    # run in U with S's translation presented (a shadow built for the guest kernel), it asks for
    # U, which is the real mode's own privilege: it gets the kernel's view, and reads the page
    out, o = step(spec, s, "lwt", lwt, mmu=mmu_view(spec, g, MODES["S"]))
    assert o.kind == "ok" and out.files["x"][2] == 0x1234
    # in S with S presented it still asks for U, not its own privilege: it faults as natively
    assert step(spec, g, "lwt", lwt, mmu=mmu_view(spec, g, MODES["S"]))[1].cause == "load_page_fault"


# ------------------------------------------------------------ the questions


def _answer(spec, instruction, question, *modes):
    uc = UnitClassifier(spec, Unit(instruction), TIMEOUT_MS)
    ask = {"mode": uc.mode_pair, "placement": uc.placement}[question]
    a = ask(*modes)
    if a.status == YES:
        replay(spec, instruction, a.witness)  # raises unless the interpreter reproduces it
    return a


@pytest.mark.parametrize("modes", [("U", "M"), ("S", "M")])
def test_a_load_is_mode_sensitive_only_while_the_guest_owns_the_real_mmu(modes):
    spec = load(SPEC)
    assert _answer(spec, "lw", "mode", *modes).status == NO
    bare = _answer(without_mmu(spec), "lw", "mode", *modes)
    assert bare.status == YES and "x" in bare.witness.fields


def test_a_guest_kernel_load_is_safe_under_shadow_paging_and_unsafe_on_the_guests_tables():
    spec = load(SPEC)
    assert _answer(spec, "lw", "placement", "S").status == NO
    assert _answer(without_mmu(spec), "lw", "placement", "S").status == YES


def test_a_load_in_guest_m_mode_with_mprv_set_is_unsafe_even_under_shadow_paging():
    """MPRV translates M-mode loads as MPP but leaves fetches untranslated: a shadow for the guest's
    M-mode cannot give one address both translations, so the load must not run directly."""
    a = _answer(load(SPEC), "lw", "placement", "M")
    assert a.status == YES
    assert a.witness.states[0]["regs"]["mstatus"] >> 17 & 1  # MPRV


def test_an_access_as_user_is_unsafe_from_the_guest_kernel_though_no_mode_changes_its_result(as_user):
    """Penneman et al. (2013): ARM's LDRT/STRT are sensitive only through page permissions.  A load "as
    user" does the same in every mode natively, and under one presented translation its modes differ
    only in whether it faults, which Popek & Goldberg's behaviour questions set aside (neither run
    may trap): so it is not mode-sensitive.  What the rule finds is the deprivileged kernel's case:
    placed in real U-mode on the kernel's shadow it reads what natively faults, so it is unsafe from
    the guest's supervisor mode, with a witness the interpreter replays (``vverify check`` lists it
    among the disagreements between the classes and the map)."""
    assert _answer(as_user, "lwt", "mode", "U", "S").status == NO
    placed = _answer(as_user, "lwt", "placement", "S")
    assert placed.status == YES and placed.witness.outcomes[0].startswith("trap:")
    assert _answer(as_user, "lwt", "placement", "U").status == NO  # from user code it is a plain load


def test_a_mode_witness_carries_the_translation_it_was_presented(as_user):
    """A physical load (translated at M whatever the mode) is the same in S and M natively.  In M-mode
    with S's translation presented (a guest S-mode run in M, the other direction of deprivileging) its
    own privilege gets S's translation: so the mode question says yes, and the witness says which
    translation was presented; replayed with the other one, nothing differs and the replay refuses."""
    a = _answer(as_user, "lwp", "mode", "S", "M")
    assert a.status == YES and a.witness.params[PRESENTED_MODE] == as_user.modes["S"]
    forged = dataclasses.replace(a.witness, params={PRESENTED_MODE: as_user.modes["M"]})
    with pytest.raises(ReplayError):
        replay(as_user, "lwp", forged)


# A hardware-assist map on riscv32_sv32 whose VMM keeps the real satp Bare while the guest runs: with
# shadow paging that is the VMM's own root (the guest's translation is presented), with nested paging
# the hardware walks what the real satp says.  Only the kind of MMU virtualization differs.
HARDWARE = """
[isa]
name = "riscv32_sv32_hw_{kind}"
extends = "{parent}"

[virtualization]
inherit = false
summary = "every guest mode at its own privilege in a non-root operation; the real satp is the VMM's"
hardware_assist = true
modes = {{ U = "U", S = "S", M = "M" }}

[virtualization.shadow]
satp = "0"

[virtualization.mmu]
kind = "{kind}"
translate = "translate"
privilege = "priv"
"""


@pytest.mark.parametrize("kind,unsafe", [("shadow", False), ("nested", True)])
def test_nested_paging_walks_the_real_state_and_shadow_paging_presents_the_guests(tmp_path, kind, unsafe):
    path = tmp_path / f"hw_{kind}.toml"
    path.write_text(HARDWARE.format(kind=kind, parent=load(SPEC).path))
    spec = load_spec(path)
    a = _answer(spec, "lw", "placement", "S")
    assert a.status == (YES if unsafe else NO)
    if unsafe:  # the hardware walked Bare: the guest's translated load reads another address or faults
        assert a.witness.states[0]["regs"]["satp"] >> 31
