"""Trap-and-emulate with shadow page tables on riscv32_sv32 (vverify/vmm/shadow_paging.py).

Paged guest programs (a kernel that builds and changes its tables, switches satp, drops to U-mode
and back) run natively and under trap-and-emulate, and must reach the same final view and the same
sequence of delivered traps (vverify.fuzz.equivalence.compare_views, what the fuzzer compares).
Small deterministic programs pin the shadow's counters exactly.  The three defects the shadow can
plant (``ShadowPager.defect``) are each caught by one of these equivalence tests, and the same tests
pass without them.

The tables are built with tests/sv32.py, from the architecture's figures.  Code runs in S-mode at
CODE_VA (frame CODE_FRAME); S-mode traps (page faults, U's ecall) are delegated to the kernel's
``handler``, which records scause, stval and a count in s10, s9, s11 and skips the instruction.  A
run ends at the kernel's ``ecall`` (ecall_from_s, never delegated: a stop cause).
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import memory_programs, paged_states
from tests.conftest import load
from tests.strategies import place
from tests.sv32 import A, D, MODES, PAGE, R, U, V, W, X, Tables, pte, read_word, satp, write_word
from vverify import guests as G
from vverify.asm.assembler import assemble
from vverify.bench import workloads
from vverify.bench.costmodel import per_operation
from vverify.core import Core
from vverify.fuzz.equivalence import compare_views, resource_violations, stop_causes
from vverify.interp import Trap, fetch, initial_state, step
from vverify.vmm import TECHNIQUES, Native, TrapAndEmulate
from vverify.vmm.shadow_paging import ACC_FETCH, ACC_LOAD, ACC_STORE, DEFECTS, ShadowPlacedGuest, mmu_kind

SPEC = "riscv32_sv32"
ROOT, ROOT2 = 0x10, 0x18            # two root tables; level-0 tables from the frames after each
CODE_VA, CODE_FRAME = 0x00800000, 0x1F
UCODE_VA, UCODE_FRAME = 0x00801000, 0x1E
DATA_VA = 0x40001000
F1, F2, FU = 0x20, 0x21, 0x22       # data frames: F1 holds 0x11111111, F2 0x22222222, FU 0x33333333
PT_VA = 0x40100000                  # where the kernel maps its own level-0 table (to write PTEs)
BIG = 0x100                         # a frame past the end of RAM (256 KiB = frame 0x40)
SUM_BIT, MXR_BIT, MPRV_BIT = 1 << 18, 1 << 19, 1 << 17
RWAD, KCODE = R | W | A | D | V, R | X | A | V

HANDLER = """
handler:
        csrrs s10, scause, zero
        csrrs s9, stval, zero
        addi  s11, s11, 1
        csrrs t6, sepc, zero
        addi  t6, t6, 4
        csrrw zero, sepc, t6
        sret
"""

_cores = {}


def spec():
    return load(SPEC)


def core(slot):
    if slot not in _cores:
        _cores[slot] = Core(spec())
    return _cores[slot]


class Guest:
    """A paged S-mode kernel: code at CODE_VA, tables at ROOT, data frames F1, F2, FU."""

    def __init__(self, text, mode="S", mstatus=0, code_flags=KCODE, data_flags=RWAD):
        sp = spec()
        self.s = s = initial_state(sp)
        self.t = Tables(s, ROOT, range(ROOT + 1, ROOT + 6))
        self.t2 = Tables(s, ROOT2, range(ROOT2 + 1, ROOT2 + 6))
        for t in (self.t, self.t2):
            t.map(CODE_VA, CODE_FRAME * PAGE, code_flags)
        self.t.map(DATA_VA, F1 * PAGE, data_flags)
        self.t2.map(DATA_VA, F2 * PAGE, data_flags)
        for f, v in ((F1, 0x11111111), (F2, 0x22222222), (FU, 0x33333333)):
            write_word(s, f * PAGE, v)
        origin = CODE_FRAME * PAGE  # assembled where it lies; it runs at CODE_VA (M-mode: here)
        prog = assemble(sp, text + HANDLER, origin=origin)
        s.mem.update(prog.memory)
        s.regs.update(mode=MODES[mode], satp=satp(ROOT), mstatus=mstatus, pc=origin if mode == "M" else CODE_VA,
                      medeleg=0xB1A2,
                      stvec=prog.symbols["handler"] - origin + CODE_VA, mtvec=prog.symbols.get("mskip", 0))
        x = s.files["x"]
        x[10], x[11], x[12] = DATA_VA, PT_VA, satp(ROOT2)

    def map_own_table(self, t=None):
        """Map the level-0 table that holds DATA_VA's entry at PT_VA, writable by the kernel."""
        t = t or self.t
        t.map(PT_VA, t.level0[DATA_VA >> 22] * PAGE, RWAD)


def run(g, defect=None, budget=400, stop=frozenset({"ecall_from_s", "ecall_from_u", "ecall_from_m"}), frames=None):
    """Run natively and under trap-and-emulate; the differences (empty: equivalent) and the VMM.
    ``frames``: leave the pager only that many frames for shadow tables."""
    sp = spec()
    native = Native(sp, g.s, core=core("native"))
    vmm = TrapAndEmulate(sp, g.s, core=core("vmm"))
    vmm.pager.defect = defect
    if frames is not None:
        p = vmm.pager
        p.free = [f for f in p.free if f not in {p.current.root, *p.current.l0.values()}][:frames]
    a = native.run(budget, stop_on=stop)
    b = vmm.run(budget, stop_on=stop)
    return compare_views(sp, native, vmm, a, b), vmm, b


def test_trap_and_emulate_gets_shadow_paging_on_the_paged_spec_only():
    assert mmu_kind(spec()) == "shadow" and mmu_kind(load("riscv32")) is None
    vmm = TrapAndEmulate(spec(), Guest("ecall").s, core=core("vmm"))
    assert isinstance(vmm.g, ShadowPlacedGuest)
    assert len(vmm.g.core.MEM) == 2 * spec().memory.size and len(vmm.guest_memory()) == spec().memory.size
    assert not isinstance(TrapAndEmulate(load("riscv32"), initial_state(load("riscv32"))).g, ShadowPlacedGuest)


# ---------------------------------------------------------------- exact counts


def test_first_touch_is_one_hidden_fault_and_the_next_touch_none():
    one = Guest("lw t0, 0(a0)\necall")
    two = Guest("lw t0, 0(a0)\nlw t1, 4(a0)\necall")
    counts = []
    for g in (one, two):
        diffs, vmm, ex = run(g)
        assert not diffs and ex.reason == "stop" and ex.cause == "ecall_from_s"
        c = vmm.counters
        assert (c.true_faults, c.traced_writes, c.shadow_flushes) == (0, 0, 0)
        counts.append(c.hidden_faults)
    assert counts == [2, 2]  # the code page's first fetch, the data page's first load; the second load none
    assert vmm.g.view().files["x"][5] == 0x11111111


def test_one_pte_write_is_one_traced_write_and_the_next_load_sees_it():
    g = Guest(f"""
        lw    t0, 0(a0)          # through the old entry: F1
        lui   t2, {pte(F2, RWAD) & ~0xFFF:#x}
        addi  t2, t2, {pte(F2, RWAD) & 0xFFF}
        sw    t2, {(DATA_VA >> 12 & 0x3FF) * 4}(a1)   # the PTE now maps F2
        lw    t1, 0(a0)          # through the new one
        ecall""")
    g.map_own_table()
    diffs, vmm, _ = run(g)
    assert not diffs
    x = vmm.g.view().files["x"]
    assert (x[5], x[6]) == (0x11111111, 0x22222222)
    assert vmm.counters.traced_writes == 1
    assert vmm.counters.true_faults == 0


def test_a_true_fault_is_delivered_with_its_cause_and_value():
    g = Guest("lw t0, 0(a0)\necall", data_flags=V | A)  # no R: the guest's own walk refuses the load
    diffs, vmm, ex = run(g)
    assert not diffs
    c = vmm.counters
    assert c.true_faults == 1 and c.reflected["load_page_fault"] == 1
    x = vmm.g.view().files["x"]
    assert (x[26], x[25], x[27]) == (13, DATA_VA, 1)  # scause, stval, the handler's count
    assert list(ex.trace) == [("load_page_fault", CODE_VA)]


def test_an_access_past_guest_ram_is_an_access_fault_as_natively():
    g = Guest("lw t0, 0(a0)\nsw t0, 0(a0)\necall")
    g.t.map(DATA_VA, BIG * PAGE, RWAD)  # inside the host's memory, past the guest's
    diffs, vmm, ex = run(g)
    assert not diffs
    assert [c for c, _ in ex.trace] == ["load_access_fault", "store_access_fault"]
    assert vmm.counters.true_faults == 2


# ---------------------------------------------------------------- views: U, SUM, MXR, satp, M-mode


USER_ROUND_TRIP = f"""
        lw    t3, 0(a0)          # the kernel touches its own page first
        lui   t0, {UCODE_VA:#x}
        csrrw zero, sepc, t0
        sret                     # to U-mode (SPP = 0)
"""
USER_CODE = """
        lw    t0, 0(a0)          # an S page: a page fault, delivered to the kernel
        lw    t1, 0(a2)          # a U page
        ecall
"""


def user_guest():
    g = Guest(USER_ROUND_TRIP + "ecall")
    g.t.map(UCODE_VA, UCODE_FRAME * PAGE, R | X | U | A | V)
    g.t.map(DATA_VA + PAGE, FU * PAGE, RWAD | U)
    g.s.mem.update(assemble(spec(), USER_CODE, origin=UCODE_FRAME * PAGE).memory)
    g.s.files["x"][12] = DATA_VA + PAGE
    return g


def test_user_code_sees_user_pages_only():
    diffs, vmm, ex = run(user_guest())
    assert not diffs and ex.cause == "ecall_from_u"
    x = vmm.g.view().files["x"]
    assert (x[5], x[6], x[26], x[28]) == (UCODE_VA, 0x33333333, 13, 0x11111111)
    assert [c for c, _ in ex.trace] == ["load_page_fault"]


def test_sum_opens_user_pages_to_the_kernel_and_mxr_executable_ones_to_loads():
    g = Guest(f"""
        lw    t0, 0(a2)          # a U page, SUM = 0: fault
        lui   t2, {SUM_BIT:#x}
        csrrs zero, sstatus, t2
        lw    t1, 0(a2)          # SUM = 1: it loads
        csrrc zero, sstatus, t2
        lw    t3, 0(a2)          # SUM = 0 again: fault
        lw    t4, 0(a3)          # an execute-only page: fault
        lui   t2, {MXR_BIT:#x}
        csrrs zero, sstatus, t2
        lw    t5, 0(a3)          # MXR = 1: it loads
        ecall""")
    g.t.map(DATA_VA + PAGE, FU * PAGE, RWAD | U)
    g.t.map(DATA_VA + 2 * PAGE, F2 * PAGE, X | A | V)
    g.s.files["x"][12], g.s.files["x"][13] = DATA_VA + PAGE, DATA_VA + 2 * PAGE
    diffs, vmm, ex = run(g)
    assert not diffs
    x = vmm.g.view().files["x"]
    assert (x[5], x[6], x[28], x[29], x[30]) == (0, 0x33333333, 0, 0, 0x22222222)
    assert [c for c, _ in ex.trace] == ["load_page_fault"] * 3
    assert vmm.counters.shadow_builds == 3  # the kernel's views: SUM and MXR off, SUM on, MXR on


def test_a_satp_switch_changes_the_translation():
    g = Guest("lw t0, 0(a0)\ncsrrw zero, satp, a2\nlw t1, 0(a0)\necall")
    diffs, vmm, _ = run(g)
    assert not diffs
    x = vmm.g.view().files["x"]
    assert (x[5], x[6]) == (0x11111111, 0x22222222)


def test_guest_m_mode_is_untranslated_and_mprv_translates_its_data():
    g = Guest(f"""
        lw    t0, 0(a0)          # M: DATA_VA is physical here, past RAM: an access fault to M
        lui   t2, {MPRV_BIT | (1 << 12):#x}
        addi  t2, t2, -0x800     # MPRV, MPP = S (bits 12:11 = 01)
        csrrs zero, mstatus, t2
        lw    t1, 0(a0)          # translated as S: F1
        sw    t1, 8(a0)
        csrrc zero, mstatus, t2
        lui   t3, {F1 * PAGE:#x}
        lw    t4, 8(t3)          # M again, physical: what the MPRV store wrote
        ecall
mskip:  csrrs t6, mepc, zero     # M's handler: skip the faulting instruction
        addi  t6, t6, 4
        csrrw zero, mepc, t6
        mret""", mode="M")
    diffs, vmm, ex = run(g)
    assert not diffs, diffs
    x = vmm.g.view().files["x"]
    assert (x[6], x[29]) == (0x11111111, 0x11111111)


def test_guest_m_mode_writes_to_live_tables_are_traced():
    """The kernel calls M-mode (ecall), whose handler rewrites a PTE through physical memory and
    returns; the kernel's next load goes through the new entry."""
    g = Guest("lw t0, 0(a0)\necall\nlw t1, 0(a0)\nebreak")
    entry = g.t.level0[DATA_VA >> 22] * PAGE + ((DATA_VA >> 12) & 0x3FF) * 4
    m = assemble(spec(), f"""
        lui   t2, {pte(F2, RWAD) & ~0xFFF:#x}
        addi  t2, t2, {pte(F2, RWAD) & 0xFFF}
        lui   t3, {entry & ~0xFFF:#x}
        sw    t2, {entry & 0xFFF}(t3)
        csrrs t4, mepc, zero
        addi  t4, t4, 4
        csrrw zero, mepc, t4
        mret""", origin=0x3000)
    for a, v in m.memory.items():
        g.s.mem[a] = v
    g.s.regs["mtvec"] = 0x3000
    g.s.regs["mstatus"] = 1 << 11  # MPP = S (the trap entry sets it anyway)
    diffs, vmm, ex = run(g, stop=frozenset({"breakpoint"}))
    assert not diffs, diffs
    x = vmm.g.view().files["x"]
    assert (x[5], x[6]) == (0x11111111, 0x22222222)
    assert vmm.counters.traced_writes == 1


def test_a_superpage_is_split_into_the_frames_it_covers():
    g = Guest("lw t0, 0(a3)\nlw t1, 4(a3)\necall")
    g.t.map_super(0x00C00000, 0, RWAD)  # 4 MiB at physical 0; only its first 256 KiB exist
    g.s.files["x"][13] = 0x00C00000 + F2 * PAGE
    diffs, vmm, _ = run(g)
    assert not diffs
    assert vmm.g.view().files["x"][5] == 0x22222222


def test_running_out_of_shadow_frames_starts_again_from_empty_shadows():
    """Eight 4 MiB regions, each needing a level-0 shadow table, with three frames to spare: the
    pager drops every shadow when it runs out, and the guest sees nothing of it."""
    regions = [0x40000000 + (k << 22) for k in range(8)]
    g = Guest("".join(f"lw t0, 0(a{k})\nsw t0, 4(a{k})\n" for k in range(8)) * 2 + "ecall")
    g.t.free.extend(range(0x30, 0x38))  # level-0 tables for the regions
    for k, va in enumerate(regions):
        g.t.map(va, (F1 + k % 3) * PAGE, RWAD)
        g.s.files["x"][10 + k] = va
    diffs, vmm, _ = run(g, frames=3, budget=2000)
    assert not diffs, diffs
    assert vmm.counters.shadow_flushes >= 2
    assert resource_violations(spec(), vmm) == []


# ---------------------------------------------------------------- planted defects


def defect_cases():
    """Per planted defect, a program whose run shows it (the control runs it without the defect)."""
    pte_write = Guest(f"""
        lw    t0, 0(a0)
        lui   t2, {pte(F2, RWAD) & ~0xFFF:#x}
        addi  t2, t2, {pte(F2, RWAD) & 0xFFF}
        sw    t2, {(DATA_VA >> 12 & 0x3FF) * 4}(a1)
        lw    t1, 0(a0)
        ecall""")
    pte_write.map_own_table()
    switch = Guest("lw t0, 0(a0)\ncsrrw zero, satp, a2\nlw t1, 0(a0)\necall")
    return {"missed_invalidation": pte_write, "user_bit": user_guest(), "stale_root": switch}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_planted_defect_is_caught_by_an_equivalence_test(defect):
    g = defect_cases()[defect]
    assert not run(g)[0]  # the control: the same program agrees without the defect
    diffs, _, _ = run(g, defect=defect)
    assert diffs, f"the planted defect {defect} went unseen"


# ---------------------------------------------------------------- random paged states


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_paged_programs_run_as_natively(data):
    """tests/agreement/test_sv32_backends.py's paged states (random tables, superpages, any PTE bits,
    frames past RAM, any mode with SUM/MXR/MPRV) and programs of mostly loads and stores."""
    sp = spec()
    s, _ = data.draw(paged_states(), label="paged state")
    place(sp, s, data.draw(memory_programs(sp), label="program"))
    budget = data.draw(st.integers(1, 40), label="budget")
    native = Native(sp, s, core=core("native"))
    vmm = TrapAndEmulate(sp, s, core=core("vmm"))
    a = native.run(budget)
    b = vmm.run(budget)
    assert compare_views(sp, native, vmm, a, b) == []
    assert resource_violations(sp, vmm) == []
    c = vmm.counters
    event(f"hidden {min(c.hidden_faults, 3)}, true {min(c.true_faults, 3)}, traced {min(c.traced_writes, 2)}")


# ---------------------------------------------------------------- the VMM's walk against the spec's


def entries_read(s, va, priv, ram=PAGE * 64):
    """The oracle for what a walk reads: the addresses of the page-table entries Sv32's walk reads for
    ``va`` at ``priv`` (privileged spec 4.3.2 steps 1-4, the figures of tests/sv32.py), read from the
    state itself: none untranslated; the root entry; the level-0 entry where the root entry is a valid
    pointer.  An entry past RAM is not read (the walk's access fault)."""
    sa = s.regs["satp"]
    if priv == MODES["M"] or sa >> 31 == 0:
        return []
    out, a = [], (sa & 0x3FFFFF) * PAGE + (va >> 22) * 4
    if a > ram - 4:
        return out
    out.append(a)
    e = read_word(s, a)
    if e & V and not (e & W and not e & R) and e & (R | W | X) == 0:
        a = (e >> 10) * PAGE + ((va >> 12) & 0x3FF) * 4
        if a <= ram - 4:
            out.append(a)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_vmms_walk_finds_what_the_spec_does(data):
    """The pager's walk of the guest's tables (what it fills shadows from and tells hidden from true
    faults by) is the spec's ``translate``, compiled by the core's generator and called on the
    guest's view of its registers.  Held, on random paged states, to what the pager needs of it:

    * the outcome (where a load, a store and the fetch land, or which fault of which access they
      take) is the interpreter's running ``lw``, ``sw`` and the fetch: the compiled helper against the
      reference interpreter, and the pager's glue around it (the access kinds, the privilege, page vs
      access faults, the bound of guest RAM);
    * the tables it reports, the leaf and its count of PTE reads (the ``walk_refs`` counter) are the
      entries the architecture's walk reads, found by an oracle that reads the state's own words;
    * a shadow leaf's R, W and X are what the interpreter allows a load, a store and a fetch there."""
    sp = spec()
    s, pool = data.draw(paged_states(), label="paged state")
    vmm = TrapAndEmulate(sp, s, core=core("vmm"))
    ms, mode = s.regs["mstatus"], s.regs["mode"]
    data_priv = (ms >> 11) & 3 if ms & MPRV_BIT else mode
    va = data.draw(st.sampled_from(pool), label="page") + 4 * data.draw(st.integers(0, 1023), label="word")
    va &= 0xFFFFFFFF
    ok = {}
    for name, acc, fault in (("lw", ACC_LOAD, {"page": "load_page_fault", "access": "load_access_fault"}),
                             ("sw", ACC_STORE, {"page": "store_page_fault", "access": "store_access_fault"})):
        s.files["x"][5], s.files["x"][7] = va, 0x5A5A5A5A
        ops = {"rs1": 5, "imm": 0, **({"rd": 6} if name == "lw" else {"rs2": 7})}
        after, out = step(sp, s, name, ops)
        ok[acc] = out.kind == "ok"
        w = vmm.pager.walk(va, acc, data_priv)
        event(f"{name}: {w.fault or 'translates'}")
        read = entries_read(s, va, data_priv)
        assert w.refs == len(read), (name, hex(va), w.refs, read)
        if w.fault is None:
            assert out.kind == "ok", (name, hex(va), out)
            assert w.tables == tuple(a // PAGE for a in read) and w.pte == (read_word(s, read[-1]) if read else 0)
            if name == "lw":
                assert after.files["x"][6] == read_word(s, w.pa)
            else:
                assert read_word(after, w.pa) == 0x5A5A5A5A
        else:
            assert (out.kind, out.cause, out.tval) == ("trap", fault[w.fault], va), (name, hex(va), w.fault)
    w = vmm.pager.walk(s.regs["pc"], ACC_FETCH, mode)
    assert w.refs == len(entries_read(s, s.regs["pc"], mode))
    try:
        assert fetch(sp, s)[0] == w.pa and w.fault is None
    except Trap as t:
        assert w.fault is not None and t.cause == {"page": "instruction_page_fault",
                                                   "access": "instruction_access_fault"}[w.fault]
    # a shadow leaf's permissions, where a shadow is paged (S or U, Sv32): at the data address and at
    # the pc (usually a code page the mode may execute)
    if mode != MODES["M"] and s.regs["satp"] >> 31:
        for addr in (va, s.regs["pc"]):
            assert_shadow_perms_allow_what_the_interpreter_does(sp, vmm, s, addr, mode)


def assert_shadow_perms_allow_what_the_interpreter_does(sp, vmm, s, addr, mode):
    """The R/W/X the pager gives the shadow leaf of ``addr`` (where the guest's tables map it in
    RAM) are whether the interpreter's ``lw``, ``sw`` and fetch at ``addr`` complete."""
    ok = []
    for name in ("lw", "sw"):
        s.files["x"][5], s.files["x"][7] = addr, 0x5A5A5A5A
        ok.append(step(sp, s, name, {"rs1": 5, "imm": 0, **({"rd": 6} if name == "lw" else {"rs2": 7})})[1].kind
                  == "ok")
    t = s.copy()
    t.regs["pc"] = addr
    try:
        fetched = fetch(sp, t)[0]
    except Trap:
        fetched = None
    ok.append(fetched is not None)
    walks = [vmm.pager.walk(addr, acc, mode) for acc in (ACC_LOAD, ACC_STORE, ACC_FETCH)]
    reach = [w.pa for w in walks if w.fault is None]
    if not reach:
        assert not any(ok)
        return
    perms = vmm.pager._perms(addr, reach[0] // PAGE, mode, vmm.g.view_array(), {})
    event(f"perms {''.join(c if perms & b else '-' for c, b in (('r', R), ('w', W), ('x', X)))}")
    assert [bool(perms & R), bool(perms & W), bool(perms & X)] == ok, (hex(addr), perms, ok)


# ---------------------------------------------------------------- random kernels that page


PAGES = 4                                  # data pages DATA_VA + k * PAGE, k < PAGES, in a0..a3
VALUES = ["s2", "s3", "s4", "s5", "s6", "s7"]  # random PTE values the kernel writes


@st.composite
def pte_values(draw, g):
    """A PTE: a frame (data, past RAM, the kernel's own code or level-0 table) and flag bits, mostly
    a valid accessed leaf."""
    frame = draw(st.sampled_from([F1, F2, FU, BIG, CODE_FRAME, g.t.level0[DATA_VA >> 22], g.t2.level0[DATA_VA >> 22]]))
    if draw(st.integers(0, 5)) == 0:
        return draw(st.integers(0, 0xFFFFFFFF))
    flags = V | draw(st.sampled_from([R, R | W, R | W, R | X, X, R | W | X]))
    for bit, odds in ((A, 6), (D, 2), (U, 3)):
        if draw(st.integers(0, odds)) != 0 if bit != U else draw(st.integers(0, odds)) == 0:
            flags |= bit
    return pte(frame, flags)


@st.composite
def paging_ops(draw, g):
    """One line of kernel code: a load or store through a data page, a PTE or root-entry write, a satp
    switch, a SUM or MXR change, a fence."""
    k = draw(st.integers(0, PAGES - 1))
    kind = draw(st.sampled_from(["lw", "lw", "sw", "sw", "pte", "pte", "pte", "root", "satp", "sum", "mxr", "sfence"]))
    if kind == "lw":
        return f"lw t{draw(st.integers(0, 2))}, {4 * draw(st.integers(0, 3))}(a{k})"
    if kind == "sw":
        return f"sw s{draw(st.integers(2, 7))}, {4 * draw(st.integers(0, 3))}(a{k})"
    if kind == "pte":
        return f"sw {draw(st.sampled_from(VALUES))}, {(((DATA_VA >> 12) + k) & 0x3FF) * 4}(a4)"
    if kind == "root":
        return f"sw {draw(st.sampled_from(['s8', 's9', 'zero']))}, {(DATA_VA >> 22) * 4}(a5)"
    if kind == "satp":
        return f"csrrw zero, satp, {draw(st.sampled_from(['a6', 'a7']))}"
    if kind in ("sum", "mxr"):
        return f"csrr{draw(st.sampled_from('sc'))} zero, sstatus, {'t3' if kind == 'sum' else 't4'}"
    return "sfence.vma zero, zero"


@st.composite
def paging_kernels(draw):
    g0 = Guest("ecall")  # the layout, to draw frames from
    lines = draw(st.lists(paging_ops(g0), min_size=1, max_size=24))
    g = Guest("\n".join(lines) + "\necall", mstatus=draw(st.sampled_from([0, SUM_BIT, MXR_BIT])))
    for t in (g.t, g.t2):
        for k in range(1, PAGES):
            t.map(DATA_VA + k * PAGE, draw(st.sampled_from([F1, F2, FU])) * PAGE,
                  draw(st.sampled_from([RWAD, RWAD | U, R | A | V, X | A | V])))
        t.map(PT_VA, t.level0[DATA_VA >> 22] * PAGE, RWAD)        # its own level-0 table ...
        t.map(PT_VA + PAGE, t.root * PAGE, RWAD)                   # ... and its root, writable
    x = g.s.files["x"]
    for k in range(PAGES):
        x[10 + k] = DATA_VA + k * PAGE
    x[14], x[15] = PT_VA, PT_VA + PAGE
    x[16], x[17] = satp(ROOT), satp(ROOT2)
    for r in range(18, 24):  # s2..s7
        x[r] = draw(pte_values(g))
    x[24] = pte(g.t.level0[DATA_VA >> 22], V)  # s8: a pointer to the first level-0 table
    x[25] = pte(draw(st.sampled_from([0, 0x400])) , RWAD)  # s9: a superpage leaf (in RAM, or past it)
    x[28], x[29] = SUM_BIT, MXR_BIT  # t3, t4
    return g, lines


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=paging_kernels())
def test_random_paging_kernels_run_as_natively(case):
    """Kernels that map and unmap pages, change permissions, rewrite their root, switch satp and
    SUM/MXR, and touch memory through all of it; faults go to the kernel's handler."""
    g, lines = case
    diffs, vmm, ex = run(g, budget=600)
    assert diffs == [], "\n".join(lines)
    assert resource_violations(spec(), vmm) == []
    c = vmm.counters
    event(f"traced writes: {min(c.traced_writes, 3)}; hidden: {min(c.hidden_faults, 5)}; true: {min(c.true_faults, 3)}")
    event(f"exit: {ex.reason} {ex.cause}")


# ---------------------------------------------------------------- the pgfault and ptemod workloads

WORKLOADS = Path(__file__).resolve().parents[2] / "specs" / "riscv32" / "bench"
RUNS_THE_SPEC = ["trap-and-emulate", "hybrid", "interpretation"]


def workload_run(technique, workload, n):
    sp = spec()
    prog = workloads.build_file(sp, WORKLOADS / f"{workload}.s", n)
    state = G.boot_state(sp, prog)
    if technique == "native":
        vmm = Native(sp, state, core=core("native"))
    elif technique == "trap-and-emulate":
        vmm = TrapAndEmulate(sp, state, core=core("vmm"))  # directly: the gate does not know shadow paging yet
    else:
        vmm = TECHNIQUES[technique](sp, state, core=core(technique))
    ex = vmm.run(200_000, stop_on=stop_causes(sp))
    return vmm, ex


@pytest.mark.parametrize("workload", ["pgfault", "ptemod"])
def test_paging_workloads_run_as_natively_under_every_technique_that_runs_the_spec(workload):
    sp = spec()
    for n in (0, 3, 7):
        native, a = workload_run("native", workload, n)
        st = G.exit_status(sp, native.guest_state())
        assert a.reason == "stop" and (st.status, st.code) == ("exit", 0), (workload, n, st)
        for technique in RUNS_THE_SPEC:
            vmm, b = workload_run(technique, workload, n)
            assert compare_views(sp, native, vmm, a, b) == [], (workload, technique, n)


@pytest.mark.parametrize("workload, per_op", [
    # a load from an unmapped page: the guest's own fault (true), its handler's PTE write (traced), the
    # load again (hidden: the shadow lacks the new entry), the kernel's unmapping write (traced)
    ("pgfault", {"true_faults": 1, "hidden_faults": 1, "traced_writes": 2, "reflected.load_page_fault": 1}),
    # one store to a live PTE: one traced write, nothing else
    ("ptemod", {"true_faults": 0, "hidden_faults": 0, "traced_writes": 1}),
])
def test_paging_workloads_count_exactly_per_operation(workload, per_op):
    (base, _), (vmm, _) = workload_run("trap-and-emulate", workload, 3), workload_run("trap-and-emulate", workload, 13)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 10)
    assert {k: per.get(k, 0) for k in per_op} == per_op
    assert per.get("shadow_builds", 0) == 0 and per.get("shadow_flushes", 0) == 0


# ---------------------------------------------------------------- the guest library's programs


LIBRARY_WORKLOADS = ["syscall", "in", "cr8wr", "callret", "divzero", "compute", "forkwait", "mixed"]


@pytest.mark.parametrize("workload", LIBRARY_WORKLOADS)
def test_the_library_workloads_run_as_natively_on_the_shadows(workload):
    """The library's workloads on the paged spec: the M-mode kernel through the identity shadow
    (built whole), the U-mode program through its own paged shadow of the library's tables, where the
    only faults are hidden ones, at most one per page the program may reach (the first touch)."""
    sp = spec()
    state = G.boot_state(sp, workloads.build(sp, workload, 5))
    native, vmm = Native(sp, state, core=core("native")), TrapAndEmulate(sp, state, core=core("vmm"))
    a, b = native.run(50_000, stop_on=stop_causes(sp)), vmm.run(50_000, stop_on=stop_causes(sp))
    assert compare_views(sp, native, vmm, a, b) == [] and a.reason == "stop"
    c = vmm.counters
    reachable = 12 + 8  # the user region's pages and the window's (docs/guests.md)
    assert c.true_faults == 0 and c.traced_writes == 0 and 1 <= c.hidden_faults <= reachable


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_fuzzers_programs_run_as_natively_on_the_shadows(data):
    from vverify.asm import AsmError
    from vverify.fuzz.programs import Weights, fuzz_programs

    sp = spec()
    names = {n: 1 for n in sp.instructions}
    program = data.draw(fuzz_programs(sp, Weights(names, dict(names))))
    try:
        state = program.boot_state(sp)
    except AsmError:
        return
    stop = stop_causes(sp)
    native, vmm = Native(sp, state, core=core("native")), TrapAndEmulate(sp, state, core=core("vmm"))
    a, b = native.run(program.budget, stop_on=stop), vmm.run(program.budget, stop_on=stop)
    assert compare_views(sp, native, vmm, a, b) == []
    assert resource_violations(sp, vmm) == []
