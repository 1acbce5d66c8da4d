"""Shadow paging's hidden faults and traced writes served in compiled code
(vverify/vmm/shadow_paging_loop.py).

The Python path (``TrapAndEmulate(compiled=False)``: every fault through ``ShadowPager.classify``,
every traced write emulated by ``TrapAndEmulate.emulate``) is the reference.  The compiled path must
reach the same guest state, deliver the same traps, count every event the same (hidden faults,
traced writes, emulated instructions, walk references, shadow builds, traps and exits by cause...)
and leave the pager's own record the same (``traced``, the reverse map ``leaves``, each shadow's
``l0`` and ``src``, and the arrays that mirror ``src`` for the compiled loop), with one crossing
into Python fewer for each event it served: the two runs differ in ``crossings`` by exactly
``ShadowPager.served_compiled``.  Which events it serves is pinned exactly on small programs and on
the paging workloads' operations; the guest library's programs, random paged states and random
paging kernels are compared whole.  The rare hand-back of a traced write (emulated in compiled
code, finished in Python) is forced on the same programs and must agree too.  The planted pager
defects take effect on both paths.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import memory_programs, paged_states
from tests.strategies import place
from tests.sv32 import A, PAGE, R, V
from tests.sv32 import pte
from tests.vmm.test_shadow_paging import (DATA_VA, F1, F2, FU, LIBRARY_WORKLOADS, ROOT, SUM_BIT, WORKLOADS, Guest,
                                          RWAD, core, defect_cases, paging_kernels, spec)
from vverify import guests as G
from vverify.bench import workloads
from vverify.bench.costmodel import per_operation
from vverify.fuzz.equivalence import compare_views, resource_violations, stop_causes
from vverify.vmm import Native, TrapAndEmulate
from vverify.vmm.shadow_paging import DEFECTS

STOP = frozenset({"ecall_from_s", "ecall_from_u", "ecall_from_m"})


def both(state, budget, stop=STOP, defect=None, log=None, traced=True, resume=False, emulate=True,
         resume_emulated=False, trace_capacity=None):
    """Run ``state`` under trap-and-emulate on the Python path and on the compiled one; returns
    ``((python vmm, exit), (compiled vmm, exit))``.  ``log``: the capacity of the log of changes to
    ``leaves`` (compiled); ``traced``: the compiled path serves traced writes; ``resume``: it hands
    each back to Python after emulating it; ``emulate``: it emulates the other trapped instructions
    that keep the view (true faults' reflection included); ``resume_emulated``: it hands each of those
    back after the routines' run; ``trace_capacity``: the reflected traps it records before a return."""
    out = []
    for compiled in (False, True):
        vmm = TrapAndEmulate(spec(), state, core=core("jit" if compiled else "py"), compiled=compiled)
        vmm.pager.defect = defect
        vmm.pager.traced_in_compiled = traced
        vmm.pager.resume_traced = resume
        vmm.pager.emulate_in_compiled = emulate
        vmm.pager.resume_emulated = resume_emulated
        if trace_capacity is not None:
            vmm.trace_capacity = trace_capacity
        if log is not None:
            vmm.pager.LOG = np.zeros((log, 4), dtype=np.int64)
        out.append((vmm, vmm.run(budget, stop_on=stop)))
    return out


def assert_arrays_mirror(p):
    """The pager's arrays for the compiled loop say what its dicts say: each shadow's slot, root,
    guest root (paged views) and ``src``; every other slot empty."""
    assert [s.slot for s in p.by_slot] == list(range(len(p.shadows))) and set(p.by_slot) == set(p.shadows.values())
    for k in range(len(p.SROOT)):
        s = p.by_slot[k] if k < len(p.by_slot) else None
        src = np.full(1024, -1, dtype=np.int64)
        if s is None:
            assert (p.SROOT[k], p.GROOT[k]) == (-1, -1)
        else:
            assert (p.SROOT[k], p.GROOT[k]) == (s.root, s.key[1] if s.key[0] == "paged" else -1)
            for vpn1, f in s.src.items():
                src[vpn1] = -1 if f is None else f
        assert (p.SRC[k] == src).all()


def assert_same(py, jit, saved=None):
    """The same guest results and counters; crossings fewer by the events served compiled (by
    ``saved`` if given), but for a run whose budget ended on a traced write served compiled: its
    loop returns once more as the run ends, where the Python path had returned for the write.
    Returns the events served compiled."""
    (a_vmm, a), (b_vmm, b) = py, jit
    assert compare_views(spec(), a_vmm, b_vmm, a, b) == []
    assert resource_violations(spec(), b_vmm) == []
    ca, cb = a_vmm.counters.as_dict(), b_vmm.counters.as_dict()
    p = b_vmm.pager
    served = p.served_compiled
    assert (a_vmm.pager.served_compiled, a_vmm.pager.traced_resumed, a_vmm.pager.emulated_resumed) == (0, 0, 0)
    assert p.budget_ends_compiled <= 1 and (p.budget_ends_compiled == 0 or b.reason == "budget")
    expected = served - p.budget_ends_compiled if saved is None else saved
    assert ca.pop("crossings") - cb.pop("crossings") == expected
    assert ca == cb
    # the pager's own record of the shadows agrees too: the fills the compiled path logged reached
    # the reverse map, and the traces are the same
    pa, pb = a_vmm.pager, b_vmm.pager
    assert pa.traced == pb.traced and pa.leaves == pb.leaves
    assert {k: (s.l0, s.src) for k, s in pa.shadows.items()} == {k: (s.l0, s.src) for k, s in pb.shadows.items()}
    assert_arrays_mirror(pa)
    assert_arrays_mirror(pb)
    return served


def small_guest():
    """Four data pages in one 4 MiB region; the last is read-only."""
    g = Guest("""
        lw    t0, 0(a0)       # hidden: the region's first touch (a level-0 shadow table made): Python
        lw    t1, 0(a3)       # hidden: served compiled
        sw    t1, 0(a4)       # hidden: served compiled (a store: the leaf is writable)
        lw    t2, 0(a5)       # hidden: served compiled (a read-only leaf)
        sw    t2, 0(a5)       # a true fault (no W): Python, delivered to the kernel's handler
        lw    t3, 0(a4)       # no fault: the entry is there
        ecall""")
    for k, (frame, flags) in enumerate([(F2, RWAD), (FU, RWAD), (F1, R | A | V)], start=1):
        g.t.map(DATA_VA + k * PAGE, frame * PAGE, flags)
        g.s.files["x"][12 + k] = DATA_VA + k * PAGE
    return g


def test_a_small_program_serves_exactly_the_hidden_faults_of_known_tables_compiled():
    py, jit = both(small_guest().s, 400, emulate=False)
    assert assert_same(py, jit) == 3
    # with the other trapped instructions emulated compiled: the true fault's reflection to the S handler,
    # the handler's four CSR accesses and its sret (S to S) keep the view; the final ecall is handed back
    py2, jit2 = both(small_guest().s, 400)
    assert assert_same(py2, jit2) == 3 + 6
    p = jit2[0].pager
    assert (p.emulated_compiled, p.true_compiled, p.emulated_resumed) == (6, 1, 1)
    c = jit[0].counters
    # the code page's first fetch and the data region's first load make level-0 shadow tables: Python
    assert (c.hidden_faults, c.true_faults, c.traced_writes, c.shadow_flushes) == (5, 1, 0, 0)
    assert jit[1].cause == "ecall_from_s" and [c for c, _ in jit[1].trace] == ["store_page_fault"]
    x = jit[0].g.view().files["x"]
    assert (x[5], x[6], x[7], x[28]) == (0x11111111, 0x22222222, 0x11111111, 0x22222222)


def test_a_full_fill_log_returns_to_python_and_changes_nothing():
    """With room for one fill, the loop returns after each served fault to have it drained: as
    many crossings as the Python path, and the same results."""
    py, jit = both(small_guest().s, 400, log=1, emulate=False)
    assert assert_same(py, jit, saved=0) == 3


def test_the_python_path_and_a_plain_budget_end_agree():
    """Budgets that end on and around the served faults."""
    for budget in range(1, 12):
        py, jit = both(small_guest().s, budget)
        assert_same(py, jit)


def workload(name, n):
    return G.boot_state(spec(), workloads.build_file(spec(), WORKLOADS / f"{name}.s", n))


def traced_guest():
    """A kernel that rewrites one PTE of its own level-0 table twice, through which two 4 MiB
    regions map (the root's entries for DATA_VA's region and the next point at the same table), so
    that each write drops two shadow entries."""
    alias = DATA_VA + (1 << 22)
    g = Guest(f"""
        lw    t0, 0(a0)       # hidden: DATA_VA's region's first touch (a level-0 shadow table): Python
        lw    t4, 0(a3)       # hidden: the alias region's first touch: Python
        sw    s2, {(DATA_VA >> 12 & 0x3FF) * 4}(a1)   # traced: compiled, drops both entries (now F2)
        lw    t1, 0(a0)       # hidden: compiled
        lw    t5, 0(a3)       # hidden: compiled
        sw    s3, {(DATA_VA >> 12 & 0x3FF) * 4}(a1)   # traced: compiled, drops both again (F1)
        lw    t3, 0(a0)       # hidden: compiled
        ecall""")
    g.map_own_table()
    g.t.set_root_entry(alias, pte(g.t.level0[DATA_VA >> 22], V))
    x = g.s.files["x"]
    x[13], x[18], x[19] = alias, pte(F2, RWAD), pte(F1, RWAD)
    return g


def test_a_small_program_serves_exactly_its_traced_writes_compiled():
    py, jit = both(traced_guest().s, 400)
    assert assert_same(py, jit) == 5
    p, c = jit[0].pager, jit[0].counters
    assert (p.traced_compiled, p.traced_resumed) == (2, 0)
    # the code page's first fetch and each region's first load make level-0 shadow tables: Python
    assert (c.hidden_faults, c.traced_writes, c.true_faults, c.inline_pte_writes, c.emulated) == (6, 2, 0, 0, 2)
    x = jit[0].g.view().files["x"]
    assert (x[5], x[29], x[6], x[30], x[28]) == (0x11111111, 0x11111111, 0x22222222, 0x22222222, 0x11111111)


def test_a_traced_write_handed_back_after_its_emulation_ends_as_on_the_python_path():
    """The hand-back (the routines' run ended otherwise than the loop finishes: no correct pager's
    guest gets there), forced: every traced write is emulated in compiled code and finished in
    Python, one crossing each, as the Python path's."""
    py, jit = both(traced_guest().s, 400, resume=True)
    assert assert_same(py, jit) == 3
    assert (jit[0].pager.traced_compiled, jit[0].pager.traced_resumed) == (0, 2)


@pytest.mark.parametrize("log, served, saved", [(1, 3, 0), (2, 5, 2), (3, 5, 3)])
def test_a_log_too_small_for_a_traced_write_leaves_it_to_python(log, served, saved):
    """Each traced write logs two discards.  With room for one row it goes to Python (and each
    hidden fault served fills the log: a return to drain it); with two it is served, and the log is
    full after it (a return, as after a fill with room for one); with three a hidden fault and a
    traced write fit."""
    py, jit = both(traced_guest().s, 400, log=log)
    assert assert_same(py, jit, saved=saved) == served


def test_a_traced_write_budget_end_agrees():
    """Budgets that end on and around the traced writes; two of them end on one served compiled."""
    ends = 0
    for budget in range(1, 14):
        for resume in (False, True):
            py, jit = both(traced_guest().s, budget, resume=resume)
            assert_same(py, jit)
            ends += jit[0].pager.budget_ends_compiled
    assert ends == 2


# crossings per operation on the Python path, and on the compiled path serving hidden faults only and
# serving traced writes too; the events per operation it serves (hidden faults, traced writes)
PER_OPERATION = {"pgfault": ((7, 6, 4), (1, 2)), "ptemod": ((1, 1, 0), (0, 1))}


@pytest.mark.parametrize("name", ["pgfault", "ptemod"])
def test_the_paging_workloads_count_the_same_with_a_crossing_fewer_per_served_event(name):
    """Hidden faults and traced writes alone (the other trapped instructions left to Python: see
    test_the_workloads_trapped_instructions_that_keep_the_view_are_emulated_compiled)."""
    crossings, (hidden, traced) = PER_OPERATION[name]
    got = []
    for serve_traced, resume in ((False, False), (True, False), (True, True)):
        runs = {}
        for n in (0, 3, 13):
            py, jit = both(workload(name, n), 200_000, stop=stop_causes(spec()), traced=serve_traced, resume=resume,
                           emulate=False)
            assert py[1].reason == "stop"
            assert_same(py, jit)
            runs[n] = py[0], jit[0]
        (py3, jit3), (py13, jit13) = runs[3], runs[13]
        a = per_operation(py13.counters.as_dict(), py3.counters.as_dict(), 10)
        b = per_operation(jit13.counters.as_dict(), jit3.counters.as_dict(), 10)
        p3, p13 = jit3.pager, jit13.pager
        served = (p13.served_compiled - p3.served_compiled) / 10
        t = (p13.traced_compiled - p3.traced_compiled) / 10
        resumed = (p13.traced_resumed - p3.traced_resumed) / 10
        assert a["crossings"] - b["crossings"] == served
        assert a["crossings"] == crossings[0]
        assert (served - t, t, resumed) == (hidden, traced if serve_traced and not resume else 0,
                                            traced if resume else 0)
        got.append(b["crossings"])
    # pgfault's one hidden fault per operation (the load again after the handler mapped the page) and
    # its two traced writes (the handler's PTE writes), ptemod's one traced write: compiled
    assert got == [crossings[1], crossings[2], crossings[1]]


def privileged_guest():
    """A kernel's CSR accesses, each a trapped privileged instruction: those that keep the view are
    emulated in compiled code, those that change it (SUM, satp) and the final ecall (a stop cause the
    routines raise) are handed back to Python after the routines' run."""
    return Guest(f"""
        csrrw zero, sscratch, a0 # compiled: the view stays
        csrrs t0, sscratch, zero # compiled
        lui   t2, {SUM_BIT:#x}
        csrrs zero, sstatus, t2  # SUM on: another view, handed back
        csrrc zero, sstatus, t2  # SUM off: handed back
        addi  t3, zero, 2
        csrrs zero, sstatus, t3  # SIE on: not a bit the view is keyed on, compiled
        csrrs t1, sstatus, zero  # compiled
        csrrw zero, satp, a2     # another root: handed back
        lw    t4, 0(a0)          # hidden: the new view's first touch of the region (Python)
        ecall                    # the routines raise ecall_from_s, a stop cause: handed back""")


def test_a_kernels_privileged_instructions_that_keep_the_view_are_emulated_compiled():
    py, jit = both(privileged_guest().s, 400)
    assert py[1].reason == jit[1].reason == "stop" and jit[1].cause == "ecall_from_s"
    served = assert_same(py, jit)
    p, c = jit[0].pager, jit[0].counters
    assert (served, p.emulated_compiled, p.emulated_resumed, p.traced_compiled) == (4, 4, 4, 0)
    assert (c.traps["illegal_privilege"], c.emulated) == (7, 7)
    x = jit[0].g.view().files["x"]
    assert (x[5], x[6], x[29]) == (DATA_VA, 2, 0x22222222)  # sstatus read back with SIE set; F2 through ROOT2


def test_a_kernels_privileged_instructions_handed_back_and_budget_ends_agree():
    """Every emulation handed back after the routines' run (as the rare path); and budgets that end
    on and around the emulations served compiled, some of them on one."""
    py, jit = both(privileged_guest().s, 400, resume_emulated=True)
    assert assert_same(py, jit) == 0
    assert (jit[0].pager.emulated_compiled, jit[0].pager.emulated_resumed) == (0, 8)
    ends = 0
    for budget in range(1, 14):
        py, jit = both(privileged_guest().s, budget)
        assert_same(py, jit)
        ends += jit[0].pager.budget_ends_compiled
    assert ends > 0


# crossings per operation on the Python path, on the compiled path without and with the other trapped
# instructions emulated there; those it emulates per operation, and those it hands back
EMULATED_PER_OPERATION = {"syscall": ((11, 11, 2), (9, 2)), "pgfault": ((7, 4, 0), (4, 0)),
                          "ptemod": ((1, 0, 0), (0, 0))}


@pytest.mark.parametrize("name", ["syscall", "pgfault", "ptemod"])
def test_the_workloads_trapped_instructions_that_keep_the_view_are_emulated_compiled(name):
    """syscall's kernel emulates 10 privileged instructions per operation: 9 keep the view (compiled),
    the return to U (mret) and the ecall from U (its trap entry, compiled, enters M: another view)
    change it and are handed back.  pgfault's true fault is reflected from S to S, and its handler's
    3 privileged instructions (sret included) return to S: all keep the view."""
    crossings, (emulated, resumed) = EMULATED_PER_OPERATION[name]
    got = []
    for emulate, resume in ((False, False), (True, False), (True, True)):
        runs = {}
        for n in (0, 3, 13):
            py, jit = both(workload(name, n), 200_000, stop=stop_causes(spec()), emulate=emulate,
                           resume_emulated=resume)
            assert py[1].reason == "stop"
            assert_same(py, jit)
            runs[n] = py[0], jit[0]
        (py3, jit3), (py13, jit13) = runs[3], runs[13]
        a = per_operation(py13.counters.as_dict(), py3.counters.as_dict(), 10)
        b = per_operation(jit13.counters.as_dict(), jit3.counters.as_dict(), 10)
        p3, p13 = jit3.pager, jit13.pager
        served = (p13.served_compiled - p3.served_compiled) / 10
        e = (p13.emulated_compiled - p3.emulated_compiled) / 10
        r = (p13.emulated_resumed - p3.emulated_resumed) / 10
        assert a["crossings"] - b["crossings"] == served
        assert a["crossings"] == crossings[0]
        assert (e, r) == ((emulated, resumed) if emulate and not resume else
                          (0, emulated + resumed) if emulate else (0, 0))
        got.append(b["crossings"])
    assert got == [crossings[1], crossings[2], crossings[1]]


def test_a_full_trace_buffer_returns_to_python_and_changes_nothing():
    """pgfault's true fault, reflected compiled, with room for one reflected trap: the loop returns
    after each to have it drained, so the true fault costs its crossing again, and nothing else
    changes."""
    for trace_capacity in (1, None):
        runs = [both(workload("pgfault", k), 200_000, stop=stop_causes(spec()), trace_capacity=trace_capacity)
                for k in (3, 4)]
        for py, jit in runs:
            p = jit[0].pager
            assert p.budget_ends_compiled == 0
            assert_same(py, jit, saved=p.served_compiled - (p.true_compiled if trace_capacity == 1 else 0))
        (py_a, jit_a), (py_b, jit_b) = runs
        assert jit_b[0].pager.true_compiled - jit_a[0].pager.true_compiled == 1
        one = (py_b[0].counters.crossings - py_a[0].counters.crossings) \
            - (jit_b[0].counters.crossings - jit_a[0].counters.crossings)
        assert one == (6 if trace_capacity == 1 else 7)  # crossings saved by one more operation (of 7)


@pytest.mark.parametrize("name", LIBRARY_WORKLOADS[:4])
def test_the_library_workloads_count_the_same(name):
    py, jit = both(G.boot_state(spec(), workloads.build(spec(), name, 5)), 50_000, stop=stop_causes(spec()))
    assert_same(py, jit)


@pytest.mark.parametrize("defect", DEFECTS)
def test_a_planted_defect_takes_effect_on_the_compiled_path_too(defect):
    g = defect_cases()[defect]
    native = Native(spec(), g.s, core=core("native"))
    a = native.run(400, stop_on=STOP)
    py, jit = both(g.s, 400, defect=defect)
    assert compare_views(spec(), native, jit[0], a, jit[1]) != []
    assert compare_views(spec(), py[0], jit[0], py[1], jit[1]) == []
    if defect == "missed_invalidation":  # planted in the compiled traced write too: it served this one
        assert jit[0].pager.traced_compiled == 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_paged_programs_count_the_same(data):
    sp = spec()
    s, _ = data.draw(paged_states(), label="paged state")
    place(sp, s, data.draw(memory_programs(sp), label="program"))
    budget = data.draw(st.integers(1, 40), label="budget")
    served = assert_same(*both(s, budget, stop=frozenset()))
    event(f"served compiled: {min(served, 3)}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=paging_kernels())
def test_random_paging_kernels_count_the_same(case):
    g, lines = case
    py, jit = both(g.s, 600)
    served = assert_same(py, jit)
    event(f"served compiled: {min(served, 5)}")
    p = jit[0].pager
    event(f"traced writes: {min(jit[0].counters.traced_writes, 3)}, compiled: {min(p.traced_compiled, 3)}, "
          f"handed back: {min(p.traced_resumed, 1)}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=paging_kernels(), resume=st.booleans())
def test_random_paging_kernels_with_a_missed_invalidation_count_the_same(case, resume):
    """The planted ``missed_invalidation`` on both paths: stale shadow entries make the real machine
    run what the guest's tables no longer map, so a traced write's emulation may end otherwise than
    the loop finishes it (handed back) or run another instruction; both paths must still agree."""
    g, lines = case
    py, jit = both(g.s, 600, defect="missed_invalidation", resume=resume)
    assert_same(py, jit)
    p = jit[0].pager
    event(f"traced writes compiled: {min(p.traced_compiled, 2)}, handed back: {min(p.traced_resumed, 2)}")


def test_the_library_kernels_pte_writes_are_served_compiled_in_the_identity_view():
    """The guest library's pte() (system call 8) is an M-mode store to a window table: a traced write
    in the identity view's shadow, served by the loop, which drops the user view's entry made from
    the word.  The user program touches window page 1 (x1 points there), makes it read-only and maps
    it to the next frame, reads it, stores to it (a page fault the kernel skips), maps it back."""
    sp = spec()
    user = "\n".join(["user_main:", "lw s2, 0(ra)", G.syscall_text(sp, 8, 1 | 1 << 3), "lw s3, 0(ra)",
                      "sw s3, 0(ra)", G.syscall_text(sp, 8, 1), "lw s4, 0(ra)", G.syscall_text(sp, 0, 0)])
    state = G.boot_state(sp, G.build(sp, user))
    stop = stop_causes(sp)
    py, jit = both(state, 5_000, stop=stop)
    assert py[1].reason in ("halt", "stop")
    assert assert_same(py, jit) >= 2
    c, p = jit[0].counters, jit[0].pager
    assert (c.traced_writes, p.traced_compiled, p.traced_resumed) == (2, 2, 0)
    native = Native(sp, state, core=core("native"))
    end = native.run(5_000, stop_on=stop)
    assert compare_views(sp, native, jit[0], end, jit[1]) == []
    # and the planted defect, in the loop alone, shows: the read after pte() goes through the old entry
    vmm = TrapAndEmulate(sp, state, core=core("jit"))
    vmm.pager.loop_defect = "missed_invalidation"
    assert compare_views(sp, native, vmm, end, vmm.run(5_000, stop_on=stop)) != []
