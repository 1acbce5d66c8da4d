"""Paravirtualization's compiled loop (vverify/vmm/paravirt_loop.py) against its Python dispatcher.

The Python path (``Paravirtualization(compiled=False)``) is the reference: on
every spec where paravirtualization applies, on the benchmark workloads and
generated programs, both must end the same way (reason, cause, steps),
deliver the same traps, count the same events (every counter but the
crossings into Python, which may only be fewer), keep the same rewrites and
leave the same guest state, shared page, real registers and memory.  Runs
are also cut into pieces, budgets made small and the trace buffer tiny.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import GUEST_SPECS, load, report_of
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.bench.measure import Target
from vverify.context import context_of
from vverify.fuzz.programs import flagged_weights, fuzz_programs
from vverify.vmm import Paravirtualization
from vverify.vmm.shadow_paging import mmu_kind

SPECS = [s for s in GUEST_SPECS if load(s).virtualization and load(s).virtualization.paravirt is not None
         and mmu_kind(load(s)) != "shadow"]  # shadow-paged guests run the Python loop, whose pager serves
#   their faults (the compiled loop is not theirs): tests/vmm/test_shadow_paging_techniques.py covers them


def _target(spec_name):
    spec = load(spec_name)
    return Target(spec, report_of(spec))


def _pair(target, prog, state):
    code = None
    if hasattr(prog, "code_map"):  # a guest library program's code_map(); a generated one's code_map(spec)
        code = prog.code_map(target.spec) if hasattr(prog, "budget") else prog.code_map()
    ref = target.context.make_vmm("paravirtualization", state, target.translate, code=code)
    vmm = target.context.make_vmm("paravirtualization", state, target.translate, code=code, slot="pv-compiled")
    ref.compiled, vmm.compiled = False, True
    return ref, vmm


def _run(vmm, budget, stop_on, chunks):
    exits, left = [], budget
    for k in range(chunks):
        b = left if k == chunks - 1 else budget // chunks
        ex = vmm.run(b, stop_on=stop_on)
        exits.append(ex)
        left -= ex.steps
        if ex.reason != "budget":
            break
    return exits


def run_both(target, prog, state, budget, stop_on=None, chunks=1, trace_capacity=None):
    stop_on = target.stop_on() if stop_on is None else stop_on
    ref, vmm = _pair(target, prog, state)
    if trace_capacity is not None:
        vmm.trace_capacity = trace_capacity
    ran0 = ref.g.core.instructions_executed, vmm.g.core.instructions_executed  # the slots' cores live on
    a, b = _run(ref, budget, stop_on, chunks), _run(vmm, budget, stop_on, chunks)
    assert ref.path == "python" and (vmm.path == "compiled" or budget == 0)
    assert [(e.reason, e.cause, e.steps, e.trace) for e in a] == [(e.reason, e.cause, e.steps, e.trace) for e in b]
    want, got = ref.counters.as_dict(), vmm.counters.as_dict()
    assert {k: v for k, v in want.items() if k != "crossings"} == {k: v for k, v in got.items() if k != "crossings"}
    assert got["crossings"] <= want["crossings"]
    assert ref.counts == vmm.counts and ref.patches.keys() == vmm.patches.keys()
    assert ref.guest_state() == vmm.guest_state()
    assert np.array_equal(ref.guest_memory(), vmm.guest_memory())
    assert np.array_equal(ref.g.core.MEM, vmm.g.core.MEM), "the real memory (the shared page) differs"
    st_base = ref.g.core.layout.st_base
    assert np.array_equal(ref.g.core.R[:st_base], vmm.g.core.R[:st_base])
    assert np.array_equal(ref.g.virtual.array, vmm.g.virtual.array)
    assert np.array_equal(ref.g.core.PATCHED, vmm.g.core.PATCHED)
    assert ref.g.core.instructions_executed - ran0[0] == vmm.g.core.instructions_executed - ran0[1]
    return vmm, b


def _workloads(spec_name):
    spec = load(spec_name)
    if not W.has_guest_library(spec):
        return []
    return [w for w in W.WORKLOADS if W.source(spec, w).applicable]


CASES = [(s, w) for s in SPECS for w in _workloads(s)]


@pytest.mark.parametrize("spec_name,workload", CASES)
def test_workloads_agree(spec_name, workload):
    t = _target(spec_name)
    prog, state = t.guest(workload, 5)
    run_both(t, prog, state, 50_000)
    run_both(t, prog, state, 50_000, trace_capacity=1)


@pytest.mark.parametrize("spec_name", SPECS)
def test_runs_cut_into_pieces_and_tiny_trace_buffers_agree(spec_name):
    t = _target(spec_name)
    prog, state = t.guest("syscall", 7)
    for capacity in (1, 2, 5):
        run_both(t, prog, state, 20_000, trace_capacity=capacity)
    run_both(t, prog, state, 20_000, chunks=13, trace_capacity=3)


@pytest.mark.parametrize("budget", [0, 1, 2, 3, 17, 100])
@pytest.mark.parametrize("spec_name", ["pg74", "riscv32"])
def test_small_budgets_agree(spec_name, budget):
    t = _target(spec_name)
    prog, state = t.guest("syscall", 2)
    run_both(t, prog, state, budget)


@pytest.mark.parametrize("spec_name", SPECS)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_programs_agree(spec_name, data):
    from vverify.asm import AsmError

    t = _target(spec_name)
    spec = t.spec
    program = data.draw(fuzz_programs(spec, flagged_weights(spec)))
    try:
        state = program.boot_state(spec)
    except AsmError:
        return
    run_both(t, program, state, program.budget, trace_capacity=2)


def test_subclasses_that_change_the_dispatcher_fall_back_to_python():
    class Serving(Paravirtualization):
        def _serve(self, ex):
            return super()._serve(ex)

    class Plain(Paravirtualization):
        pass

    t = _target("pg74")
    prog, state = t.guest("syscall", 2)
    for cls, path in ((Serving, "python"), (Plain, "compiled")):
        vmm = cls(t.spec, state, translate=t.translate, code=prog.code_map(), compiled=True)
        vmm.run(10_000)
        assert vmm.path == path, cls


# ---------------------------------------------------------------- the rare paths: stores near and over rewrites

def _library_cases():
    from tests.vmm import test_paravirt as P

    # test_paravirt's test_rewritten_read_reached_right_after_an_exit_once_a_store_dropped_it
    getr_again = """
sys_extra:
        li    r2, 0
        li    r3, -1
        ld    r0, again
        st    r0, again
        setr  r2
again:
        getr  r1
        st    r1, 0x3F0
        jmp   k_return
"""
    x86_user = "user_main:\n        movi eax, 3\n        int 0x80\n        movi eax, 0\n        int 0x80\n"
    return [("pg74", P.USER, P.KERNEL), ("pg74", P.USER, getr_again),
            ("pdp10", "user_main:\n        movei 1, 7(0)\n        muuo 7, 0, 1(0)\n        muuo 7, 0, 0(0)\n", ""),
            ("x86_32", x86_user, P.STORE_NEAR), ("x86_32", x86_user, P.STORE_OVER)]


@pytest.mark.parametrize("case", range(5))
def test_patch_exits_and_dropped_rewrites_agree(case):
    spec_name, user, kernel = _library_cases()[case]
    t = _target(spec_name)
    prog = G.build(t.spec, user, kernel)
    state = G.boot_state(t.spec, prog)
    for capacity in (1, 4096):
        vmm, exits = run_both(t, prog, state, 5000, trace_capacity=capacity)
    assert vmm.counters.hypercalls > 0
