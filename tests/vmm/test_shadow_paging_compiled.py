"""Shadow paging's hidden faults served in compiled code (vverify/vmm/shadow_paging_loop.py).

The Python path (``TrapAndEmulate(compiled=False)``: every fault through ``ShadowPager.classify``)
is the reference.  The compiled path must reach the same guest state, deliver the same traps and
count every event the same (hidden faults, walk references, shadow builds, traps and exits by
cause...), with one crossing into Python fewer for each hidden fault it served: the two runs differ
in ``crossings`` by exactly ``ShadowPager.served_compiled``.  Which faults it serves is pinned
exactly on a small program; the paging workloads, the guest library's programs, random paged states
and random paging kernels are compared whole.  The planted pager defects take effect on both paths.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.agreement.test_sv32_backends import memory_programs, paged_states
from tests.strategies import place
from tests.sv32 import A, PAGE, R, V
from tests.vmm.test_shadow_paging import (DATA_VA, F1, F2, FU, LIBRARY_WORKLOADS, WORKLOADS, Guest, RWAD, core,
                                          defect_cases, paging_kernels, spec)
from vverify import guests as G
from vverify.bench import workloads
from vverify.bench.costmodel import per_operation
from vverify.fuzz.equivalence import compare_views, resource_violations, stop_causes
from vverify.vmm import Native, TrapAndEmulate
from vverify.vmm.shadow_paging import DEFECTS

STOP = frozenset({"ecall_from_s", "ecall_from_u", "ecall_from_m"})


def both(state, budget, stop=STOP, defect=None, log=None):
    """Run ``state`` under trap-and-emulate on the Python path and on the compiled one; returns
    ``((python vmm, exit), (compiled vmm, exit))``.  ``log``: the fill log's capacity (compiled)."""
    out = []
    for compiled in (False, True):
        vmm = TrapAndEmulate(spec(), state, core=core("jit" if compiled else "py"), compiled=compiled)
        vmm.pager.defect = defect
        if log is not None:
            vmm.pager.LOG = np.zeros((log, 4), dtype=np.int64)
        out.append((vmm, vmm.run(budget, stop_on=stop)))
    return out


def assert_same(py, jit, saved=None):
    """The same guest results and counters; crossings fewer by the faults served compiled (by
    ``saved`` if given).  Returns the faults served compiled."""
    (a_vmm, a), (b_vmm, b) = py, jit
    assert compare_views(spec(), a_vmm, b_vmm, a, b) == []
    assert resource_violations(spec(), b_vmm) == []
    ca, cb = a_vmm.counters.as_dict(), b_vmm.counters.as_dict()
    served = b_vmm.pager.served_compiled
    assert a_vmm.pager.served_compiled == 0
    assert ca.pop("crossings") - cb.pop("crossings") == (served if saved is None else saved)
    assert ca == cb
    # the pager's own record of the shadows agrees too: the fills the compiled path logged reached
    # the reverse map, and the traces are the same
    pa, pb = a_vmm.pager, b_vmm.pager
    assert pa.traced == pb.traced and pa.leaves == pb.leaves
    assert {k: (s.l0, s.src) for k, s in pa.shadows.items()} == {k: (s.l0, s.src) for k, s in pb.shadows.items()}
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
    py, jit = both(small_guest().s, 400)
    assert assert_same(py, jit) == 3
    c = jit[0].counters
    # the code page's first fetch and the data region's first load make level-0 shadow tables: Python
    assert (c.hidden_faults, c.true_faults, c.traced_writes, c.shadow_flushes) == (5, 1, 0, 0)
    assert jit[1].cause == "ecall_from_s" and [c for c, _ in jit[1].trace] == ["store_page_fault"]
    x = jit[0].g.view().files["x"]
    assert (x[5], x[6], x[7], x[28]) == (0x11111111, 0x22222222, 0x11111111, 0x22222222)


def test_a_full_fill_log_returns_to_python_and_changes_nothing():
    """With room for one fill, the loop returns after each served fault to have it drained: as
    many crossings as the Python path, and the same results."""
    py, jit = both(small_guest().s, 400, log=1)
    assert assert_same(py, jit, saved=0) == 3


def test_the_python_path_and_a_plain_budget_end_agree():
    """Budgets that end on and around the served faults."""
    for budget in range(1, 12):
        py, jit = both(small_guest().s, budget)
        assert_same(py, jit)


def workload(name, n):
    return G.boot_state(spec(), workloads.build_file(spec(), WORKLOADS / f"{name}.s", n))


@pytest.mark.parametrize("name", ["pgfault", "ptemod"])
def test_the_paging_workloads_count_the_same_with_a_crossing_fewer_per_served_fault(name):
    runs = {}
    for n in (0, 3, 13):
        py, jit = both(workload(name, n), 200_000, stop=stop_causes(spec()))
        assert py[1].reason == "stop"
        assert_same(py, jit)
        runs[n] = py[0], jit[0]
    (py3, jit3), (py13, jit13) = runs[3], runs[13]
    a = per_operation(py13.counters.as_dict(), py3.counters.as_dict(), 10)
    b = per_operation(jit13.counters.as_dict(), jit3.counters.as_dict(), 10)
    served = (jit13.pager.served_compiled - jit3.pager.served_compiled) / 10
    # pgfault's one hidden fault per operation (the load again after the handler mapped the page)
    # lands in a region whose tables are traced and whose level-0 shadow table is there: compiled
    assert served == {"pgfault": 1, "ptemod": 0}[name]
    assert a["crossings"] - b["crossings"] == served


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
    served = assert_same(*both(g.s, 600))
    event(f"served compiled: {min(served, 5)}")
