"""Binary translation and paravirtualization with shadow page tables on riscv32_sv32.

Both run on trap-and-emulate's shadow pager (vverify/vmm/shadow_paging.py), and must run paged
guests as natively, compared as the fuzzer compares (tests/vmm/test_shadow_paging.py holds
trap-and-emulate to the same).  What they do differently shows in the counters, asserted exactly:
the classifier flags riscv32_sv32's loads and stores in supervisor code (unsafe in guest M-mode with
MPRV), so both emulate every load and store of the guest kernel (a translated callout, a rewritten
hypercall).  Those never reach the real MMU: the kernel's own page faults are raised by the
interpreter routines (no true or hidden fault), and its stores to live page tables are emulated
stores the VMM finds (``inline_pte_writes``) rather than trace faults.  User code runs directly on
the shadows as under trap-and-emulate, with the same hidden faults.

Binary translation's blocks follow the guest's tables: the translator's fetches trace the tables they
read, and a block is fetched again after any change to a traced table (its epoch).  A kernel that
remaps its own code page, with the block that ran there before cached, shows it.
"""

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import memory_programs, paged_states
from tests.conftest import report_of
from tests.strategies import place
from tests.sv32 import PAGE, pte
from tests.vmm.test_shadow_paging import (CODE_FRAME, CODE_VA, F1, F2, KCODE, LIBRARY_WORKLOADS, PT_VA, RWAD, SPEC,
                                          WORKLOADS, Guest, core, defect_cases, paging_kernels, spec)
from vverify import guests as G
from vverify.asm.assembler import assemble
from vverify.bench import workloads
from vverify.bench.costmodel import per_operation
from vverify.fuzz.equivalence import compare_views, resource_violations, stop_causes
from vverify.spec.decode import decode
from vverify.vmm import (BinaryTranslation, Native, Paravirtualization, TrapAndEmulate, requirements_unmet,
                         translation_set)
from vverify.vmm.shadow_paging import DEFECTS, ShadowPlacedGuest

TECHNIQUES = ["binary-translation", "paravirtualization"]
STOP = frozenset({"ecall_from_s", "ecall_from_u", "ecall_from_m"})


def translate():
    return translation_set(report_of(SPEC))


def code_frame_map(state):
    """The hand-written kernels' code, for the paravirtual loader: every word of the code frame that
    encodes an instruction (their text is all code, and lies there alone)."""
    sp = spec()
    out = {}
    for a in range(CODE_FRAME * PAGE, (CODE_FRAME + 1) * PAGE, 4):
        w = sum(state.mem.get(a + k, state.mem_default) << (8 * k) for k in range(4))
        if w and decode(sp, w) is not None:
            out[a] = 4
    return {"supervisor": out, "user": {}}


def make(technique, state, code=None):
    sp = spec()
    if technique == "native":
        return Native(sp, state, core=core("native"))
    if technique == "trap-and-emulate":
        return TrapAndEmulate(sp, state, core=core("te"))
    if technique == "binary-translation":
        return BinaryTranslation(sp, state, core=core("bt"), translate=translate())
    return Paravirtualization(sp, state, core=core("pv"), translate=translate(),
                              code=code if code is not None else code_frame_map(state))


def run(technique, g, defect=None, budget=400, stop=STOP):
    native = make("native", g.s)
    vmm = make(technique, g.s)
    vmm.pager.defect = defect
    a, b = native.run(budget, stop_on=stop), vmm.run(budget, stop_on=stop)
    return compare_views(spec(), native, vmm, a, b), vmm, b


# ---------------------------------------------------------------- the requirement, the path


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_both_run_the_paged_spec_on_shadow_tables_in_python(technique):
    cls = {"binary-translation": BinaryTranslation, "paravirtualization": Paravirtualization}[technique]
    assert cls.mmu_kinds == ("shadow",) and cls.mmu_unsupported(spec()) is None
    assert not [u for u in requirements_unmet(cls, report_of(SPEC)) if "paging" in u or "page tables" in u]
    diffs, vmm, ex = run(technique, Guest("lw t0, 0(a0)\necall"))
    assert not diffs and ex.cause == "ecall_from_s"
    assert isinstance(vmm.g, ShadowPlacedGuest)
    assert vmm.path == "python"  # the compiled loops do not serve shadow-paged guests
    assert vmm.counters.emulated >= 1  # the kernel's lw: translated (or rewritten), not run directly
    assert vmm.g.view().files["x"][5] == 0x11111111


# ---------------------------------------------------------------- binary translation follows the tables

REMOTE = CODE_VA + PAGE  # a second code page: frame F1 at first, then F2 (other code)
F1_CODE = "addi s3, s3, 1"
F2_CODE = "csrrs t5, sscratch, zero\naddi s4, s4, 1"  # a translated instruction where F1 has none


def two_code_pages(kernel, f2_in_second_root=False):
    """A kernel at CODE_VA that may jump to REMOTE (``call``: there and back to ``back``), which
    runs F1's code in the first root; F2's in the second root where asked.  PT_VA maps the level-0
    table of the code's region (traced by every fetch through it), writable by the kernel."""
    sp = spec()
    g = Guest(kernel)
    g.t.map(REMOTE, F1 * PAGE, KCODE)
    g.t2.map(REMOTE, (F2 if f2_in_second_root else F1) * PAGE, KCODE)
    g.t.map(PT_VA, g.t.level0[CODE_VA >> 22] * PAGE, RWAD)
    for frame, body in ((F1, F1_CODE), (F2, F2_CODE)):
        prog = assemble(sp, f"{body}\njalr zero, 0(s6)\n", origin=frame * PAGE)  # back to s6
        g.s.mem.update(prog.memory)
    x = g.s.files["x"]
    x[11] = PT_VA
    x[28] = REMOTE  # t3
    return g


def call(label):
    """Jump to REMOTE, whose code returns to ``label`` (assembled where the code frame lies, run at
    CODE_VA)."""
    return f"lui s6, {CODE_VA:#x}\naddi s6, s6, {label} - {CODE_FRAME * PAGE:#x}\njalr zero, 0(t3)\n{label}:"


REMAP_PTE = pte(F2, KCODE)
REMAP = f"""
        {call("b1")}
        lui   t2, {REMAP_PTE & ~0xFFF:#x}
        addi  t2, t2, {REMAP_PTE & 0xFFF}
        sw    t2, {(REMOTE >> 12 & 0x3FF) * 4}(a1)
        {call("b2")}
        ecall
"""


def remap_guest():
    """The kernel runs REMOTE (F1's code), maps REMOTE to F2 with one store, and runs it again."""
    return two_code_pages(REMAP)


def test_a_block_whose_code_page_is_remapped_is_translated_again():
    """The block at REMOTE is fetched through the level-0 table the translator traced; the kernel's
    store to its entry (emulated: an inline PTE write) changes the epoch, the block's fetch moves to
    F2, and the block is invalidated and translated again from F2's words, whose first instruction
    is translated: the guest runs F1's code, then F2's, as natively."""
    diffs, vmm, ex = run("binary-translation", remap_guest())
    assert not diffs, diffs
    x = vmm.g.view().files["x"]
    assert (x[19], x[20]) == (1, 1)  # s3 from F1's code, then s4 from F2's
    c = vmm.counters
    assert (c.tc_invalidations, c.inline_pte_writes, c.traced_writes) == (1, 1, 0)
    blk = vmm.cache[REMOTE, 1]
    assert blk.words[0][0] == F2 * PAGE and blk.segments[0] == ("emulate", None)


def test_a_block_is_kept_where_a_table_write_moves_none_of_its_fetches():
    """Stores to another entry of the code's level-0 table change the epoch: every block is fetched
    again at its next lookup (walks counted), and none is invalidated, none of their pcs moved."""
    g = two_code_pages(f"""
        addi  s2, zero, 3
loop:   sw    s2, {((CODE_VA >> 12) + 5 & 0x3FF) * 4}(a1)   # the entry of a page nobody fetches
        addi  s2, s2, -1
        bne   s2, zero, loop
        ecall""")
    diffs, vmm, _ = run("binary-translation", g)
    assert not diffs
    c = vmm.counters
    assert (c.tc_invalidations, c.inline_pte_writes, c.traced_writes) == (0, 3, 0)
    assert c.tc_hits >= 2


FAR = 0x00C00000  # another 4 MiB region: a level-0 table of its own
SPP = 1 << 8


def test_the_translators_own_fetches_trace_the_tables_they_read():
    """Code at FAR that the real machine never fetches (every instruction of it is translated: it
    returns with sret), in a region whose level-0 table nothing else walks.  Only the translator's
    fetch reads that table, and it traces it: the kernel's store remapping FAR is seen, and the
    block is translated again from F2."""
    sp = spec()

    def far_call(label):
        return (f"csrrs zero, sstatus, s7\nlui s6, {CODE_VA:#x}\naddi s6, s6, {label} - {CODE_FRAME * PAGE:#x}\n"
                f"jalr zero, 0(t3)\n{label}:")
    g = Guest(f"""
        {far_call("b1")}
        lui   t2, {REMAP_PTE & ~0xFFF:#x}
        addi  t2, t2, {REMAP_PTE & 0xFFF}
        sw    t2, {(FAR >> 12 & 0x3FF) * 4}(a1)
        {far_call("b2")}
        ecall""")
    g.t.map(FAR, F1 * PAGE, KCODE)
    g.t.map(PT_VA, g.t.level0[FAR >> 22] * PAGE, RWAD)
    for frame, body in ((F1, ""), (F2, "csrrs t5, sscratch, zero\n")):
        g.s.mem.update(assemble(sp, f"{body}csrrw zero, sepc, s6\nsret\n", origin=frame * PAGE).memory)
    x = g.s.files["x"]
    x[28], x[23] = FAR, SPP  # t3, s7: sret stays in S
    diffs, vmm, _ = run("binary-translation", g)
    assert not diffs, diffs
    c = vmm.counters
    assert (c.tc_invalidations, c.inline_pte_writes) == (1, 1)
    assert vmm.g.pager.traced >= {g.t.level0[FAR >> 22]}
    assert vmm.cache[FAR, 1].words[0][0] == F2 * PAGE


# ---------------------------------------------------------------- planted defects


USER_FETCH = f"""
        lui   t0, {CODE_VA:#x}
        addi  t0, t0, 16         # spin, below: the kernel's own page, an S page
        csrrw zero, sepc, t0
        sret                     # to U-mode (SPP = 0)
spin:   addi  s5, s5, 1          # U-mode cannot fetch it: a page fault each time, skipped
        ecall
"""

SWITCH = f"""
        {call("b1")}
        csrrw zero, satp, a2     # the second root: REMOTE is F2's there
        {call("b2")}
        ecall
"""


def technique_defect_cases():
    """Per planted defect, a program whose run shows it where the guest kernel's loads and stores are
    emulated (tests/vmm/test_shadow_paging.py's show it through them): its code fetches and its user
    code go through the shadows, so each case goes through a fetch.  A missed invalidation runs the
    old code after a remap; the U bit lost lets user code fetch the kernel's page, which the kernel's
    own fetches filled; a stale root runs the first root's code after a switch."""
    return {"missed_invalidation": remap_guest(), "user_bit": Guest(USER_FETCH),
            "stale_root": two_code_pages(SWITCH, f2_in_second_root=True)}


@pytest.mark.parametrize("technique", ["trap-and-emulate", *TECHNIQUES])
@pytest.mark.parametrize("defect", DEFECTS)
def test_each_planted_defect_is_caught(technique, defect):
    g = technique_defect_cases()[defect]
    assert not run(technique, g)[0]  # the control
    diffs, _, _ = run(technique, g, defect=defect)
    assert diffs, f"the planted defect {defect} went unseen under {technique}"


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("defect", DEFECTS)
def test_trap_and_emulates_defect_programs_run_as_natively(technique, defect):
    """tests/vmm/test_shadow_paging.py's defect programs, which show the defects through the kernel's
    loads and stores: without a defect they run as natively here too."""
    assert not run(technique, defect_cases()[defect])[0]


# ---------------------------------------------------------------- the paging workloads


def workload_run(technique, workload, n):
    sp = spec()
    prog = workloads.build_file(sp, WORKLOADS / f"{workload}.s", n)
    vmm = make(technique, G.boot_state(sp, prog), code=prog.code_map())
    return vmm, vmm.run(200_000, stop_on=stop_causes(sp))


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("workload", ["pgfault", "ptemod"])
def test_paging_workloads_run_as_natively(technique, workload):
    sp = spec()
    for n in (0, 3, 7):
        native, a = workload_run("native", workload, n)
        vmm, b = workload_run(technique, workload, n)
        assert a.reason == "stop" and compare_views(sp, native, vmm, a, b) == [], (workload, technique, n)
        assert resource_violations(sp, vmm) == []


SHADOW_EVENTS = ("hidden_faults", "true_faults", "traced_writes", "inline_pte_writes", "shadow_builds",
                 "shadow_flushes")


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("workload, per_op", [
    # the S kernel's load from an unmapped page is emulated: the routines walk the guest's tables and
    # deliver its page fault themselves (no real fault, so no true fault); its handler's PTE store is
    # emulated too, into a table no shadow was made from (the kernel's data never goes through the
    # real MMU), so nothing is dropped; the load again, and the unmapping store, likewise
    ("pgfault", {"hidden_faults": 0, "true_faults": 0, "traced_writes": 0, "inline_pte_writes": 0,
                 "reflected.load_page_fault": 1}),
    # one store to a live PTE (user code reads through it), emulated: one entry dropped, no fault
    ("ptemod", {"hidden_faults": 0, "true_faults": 0, "traced_writes": 0, "inline_pte_writes": 1}),
])
def test_paging_workloads_count_exactly_per_operation(technique, workload, per_op):
    (base, _), (vmm, _) = workload_run(technique, workload, 3), workload_run(technique, workload, 13)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 10)
    assert {k: per.get(k, 0) for k in per_op} == per_op
    assert per.get("shadow_builds", 0) == 0 and per.get("shadow_flushes", 0) == 0


def test_ptemods_page_table_stores_are_trap_and_emulates_traced_writes():
    """Where the two differ, they differ by how the VMM learns of the same store: trap-and-emulate
    runs the kernel's sw directly and takes a trace fault; binary translation and paravirtualization
    emulate it, and find the word it changed."""
    te = workload_run("trap-and-emulate", "ptemod", 7)[0].counters
    for technique in TECHNIQUES:
        c = workload_run(technique, "ptemod", 7)[0].counters
        assert (c.traced_writes, c.inline_pte_writes) == (0, te.traced_writes) and te.inline_pte_writes == 0


def test_under_paravirtualization_a_page_table_store_is_one_hypercall_instead_of_a_trace_fault():
    """ptemod's one store to a live PTE per operation: the loader rewrote it (the classifier flags
    stores in supervisor code), so it costs one hypercall, which emulates it and drops the shadow
    entry, where trap-and-emulate takes one trace fault; nothing else per operation reaches the VMM."""
    (base, _), (vmm, _) = workload_run("paravirtualization", "ptemod", 3), workload_run("paravirtualization", "ptemod", 13)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 10)
    assert {k: per.get(k, 0) for k in ("hypercalls", "emulated", "inline_pte_writes", "traced_writes")} == \
        {"hypercalls": 1, "emulated": 1, "inline_pte_writes": 1, "traced_writes": 0}
    (tbase, _), (te, _) = workload_run("trap-and-emulate", "ptemod", 3), workload_run("trap-and-emulate", "ptemod", 13)
    tper = per_operation(te.counters.as_dict(), tbase.counters.as_dict(), 10)
    assert {k: tper.get(k, 0) for k in ("hypercalls", "emulated", "traced_writes")} == \
        {"hypercalls": 0, "emulated": 1, "traced_writes": 1}


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("workload", LIBRARY_WORKLOADS)
def test_the_library_workloads_run_as_natively_with_trap_and_emulates_page_events(technique, workload):
    """The library's kernel runs in guest M-mode (the identity shadow), its program in U-mode on a
    paged shadow.  Binary translation runs user code directly, as trap-and-emulate does: the page
    events are trap-and-emulate's, exactly.  The paravirtual loader also rewrites the loads and
    stores of user code (a guest kernel could run it in a supervisor mode, where they are flagged),
    so the program's data accesses are hypercalls, emulated: its one hidden fault is its code page's
    first fetch, where trap-and-emulate also takes one per data page it touches."""
    sp = spec()
    prog = workloads.build(sp, workload, 5)
    state = G.boot_state(sp, prog)
    native, te, vmm = make("native", state), make("trap-and-emulate", state), make(technique, state, prog.code_map())
    stop = stop_causes(sp)
    a, t, b = (m.run(50_000, stop_on=stop) for m in (native, te, vmm))
    assert a.reason == "stop" and compare_views(sp, native, vmm, a, b) == []
    assert compare_views(sp, native, te, a, t) == []
    mine, theirs = vmm.counters.as_dict(), te.counters.as_dict()
    if technique == "paravirtualization":
        assert mine["hidden_faults"] == 1 <= theirs["hidden_faults"]
        mine["hidden_faults"] = theirs["hidden_faults"]
    assert {k: mine[k] for k in SHADOW_EVENTS} == {k: theirs[k] for k in SHADOW_EVENTS}
    assert theirs["hidden_faults"] >= 1


# ---------------------------------------------------------------- random kernels, states, programs


@pytest.mark.parametrize("technique", TECHNIQUES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=paging_kernels())
def test_random_paging_kernels_run_as_natively(technique, case):
    """tests/vmm/test_shadow_paging.py's kernels that remap and unmap pages (their own code page among
    the frames a PTE may name), rewrite their root, switch satp, SUM and MXR."""
    g, lines = case
    diffs, vmm, ex = run(technique, g, budget=600)
    assert diffs == [], "\n".join(lines)
    assert resource_violations(spec(), vmm) == []
    c = vmm.counters
    event(f"inline {min(c.inline_pte_writes, 3)}; invalidated {min(c.tc_invalidations, 2)}")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_paged_programs_run_as_natively_under_binary_translation(data):
    """Random tables, superpages, PTE bits and modes (SUM/MXR/MPRV), programs of loads and stores."""
    sp = spec()
    s, _ = data.draw(paged_states(), label="paged state")
    place(sp, s, data.draw(memory_programs(sp), label="program"))
    budget = data.draw(st.integers(1, 40), label="budget")
    native, vmm = make("native", s), make("binary-translation", s)
    a, b = native.run(budget), vmm.run(budget)
    assert compare_views(sp, native, vmm, a, b) == []
    assert resource_violations(sp, vmm) == []


@pytest.mark.parametrize("technique", TECHNIQUES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_fuzzers_programs_run_as_natively(technique, data):
    from vverify.asm import AsmError
    from vverify.fuzz.programs import Weights, fuzz_programs

    sp = spec()
    names = {n: 1 for n in sp.instructions}
    program = data.draw(fuzz_programs(sp, Weights(names, dict(names))))
    try:
        state = program.boot_state(sp)
        code = program.code_map(sp)
    except AsmError:
        return
    stop = stop_causes(sp)
    native, vmm = make("native", state), make(technique, state, code)
    a, b = native.run(program.budget, stop_on=stop), vmm.run(program.budget, stop_on=stop)
    assert compare_views(sp, native, vmm, a, b) == []
    assert resource_violations(sp, vmm) == []
