"""Trap-and-emulate's compiled dispatcher loop (vverify/vmm/trap_emulate_loop.py) against the Python one.

The Python dispatcher (``TrapAndEmulate(compiled=False)``) is the reference:
on the bundled specs' benchmark workloads and on generated programs, both
must end the same way (reason, cause, steps), deliver the same traps in the
same order, count the same events (guest instructions, direct, emulated,
traps by cause, exits by reason, reflected by cause), and leave the same
guest state and the same real machine (registers, files, memory: the
placement included).  Runs are also cut into several calls, and the trace
buffer made tiny, so that re-entering the loop is exercised.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import GUEST_SPECS, load
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.context import context_of
from vverify.core import Core
from vverify.fuzz.programs import flagged_weights, fuzz_programs
from vverify.vmm import PlacedGuest, TrapAndEmulate
from vverify.vmm.shadow_paging import mmu_kind

# trap-and-emulate needs a software map; pg74_vt and x86_32_vtx have hardware-assist ones.  A spec
# whose MMU trap-and-emulate shadows (riscv32_sv32) runs the Python dispatcher only: its faults and
# traces are the shadow pager's (tests/vmm/test_shadow_paging.py)
SPECS = [s for s in GUEST_SPECS if not load(s).virtualization.hardware_assist and mmu_kind(load(s)) != "shadow"]


def _run(vmm, budget, stop_on, chunks):
    """Run ``budget`` guest instructions in ``chunks`` calls (or until the run ends); the exits."""
    exits, left = [], budget
    for k in range(chunks):
        b = left if k == chunks - 1 else budget // chunks
        ex = vmm.run(b, stop_on=stop_on)
        exits.append(ex)
        left -= ex.steps
        if ex.reason != "budget":
            break
    return exits


def run_both(spec, state, budget, stop_on=None, chunks=1, trace_capacity=None):
    """Run ``state`` under both dispatchers and require every observable to agree; the compiled VMM."""
    stop_on = context_of(spec).stop_causes() if stop_on is None else stop_on
    ref = TrapAndEmulate(spec, state, compiled=False)
    vmm = TrapAndEmulate(spec, state, compiled=True)
    if trace_capacity is not None:
        vmm.trace_capacity = trace_capacity
    a, b = _run(ref, budget, stop_on, chunks), _run(vmm, budget, stop_on, chunks)
    assert ref.path == "python" and vmm.path == "compiled"
    assert [(e.reason, e.cause, e.steps, e.trace) for e in a] == [(e.reason, e.cause, e.steps, e.trace) for e in b]
    assert ref.trace == vmm.trace
    want, got = ref.counters.as_dict(), vmm.counters.as_dict()
    # every counter but the crossings into Python, which the loop exists to save: one per return of
    # the loop (a run, or a full trace buffer), never more than the Python dispatcher's
    assert {k: v for k, v in want.items() if k != "crossings"} == {k: v for k, v in got.items() if k != "crossings"}
    assert got["crossings"] <= want["crossings"]
    assert ref.guest_registers() == vmm.guest_registers()
    assert np.array_equal(ref.guest_memory(), vmm.guest_memory())
    assert ref.guest_state() == vmm.guest_state()
    st_base = ref.g.core.layout.st_base
    assert np.array_equal(ref.g.core.R[:st_base], vmm.g.core.R[:st_base]), "the real registers differ: placement"
    assert np.array_equal(ref.g.virtual.array, vmm.g.virtual.array)
    assert ref.g.core.instructions_executed == vmm.g.core.instructions_executed
    return vmm, b


def _workloads(spec_name):
    spec = load(spec_name)
    if not W.has_guest_library(spec):
        return []
    return [w for w in W.WORKLOADS if W.source(spec, w).applicable]


CASES = [(s, w) for s in SPECS for w in _workloads(s)]


@pytest.mark.parametrize("spec_name,workload", CASES)
def test_workloads_agree(spec_name, workload):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, workload, 5))
    vmm, exits = run_both(spec, state, 50_000)
    if workload in ("syscall", "compute") and not spec_name.startswith("x86_32"):  # x86 fails Theorem 1: it may end early
        assert exits[-1].reason in ("halt", "stop")


@pytest.mark.parametrize("spec_name", SPECS)
def test_runs_cut_into_pieces_and_a_tiny_trace_buffer_agree(spec_name):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "syscall", 7))
    for capacity in (1, 2, 5):
        vmm, exits = run_both(spec, state, 20_000, trace_capacity=capacity)
        assert len(vmm.trace) > capacity or spec_name.startswith("x86_32"), "the buffer never filled"
    run_both(spec, state, 20_000, chunks=13, trace_capacity=3)


def test_stop_on_ends_the_run_at_the_trap():
    """riscv32's guest library halts by an M-mode ecall: stop_on ends the run there, cause and all;
    without stop_on the trap is reflected to the guest like any other."""
    spec = load("riscv32")
    state = G.boot_state(spec, W.build(spec, "syscall", 3))
    _, exits = run_both(spec, state, 20_000, stop_on=frozenset({"ecall_from_m"}))
    assert (exits[-1].reason, exits[-1].cause) == ("stop", "ecall_from_m")
    run_both(spec, state, 20_000, stop_on=frozenset())
    run_both(spec, state, 20_000, stop_on=frozenset({"ecall_from_u"}))  # the first system call ends it
    run_both(spec, state, 20_000, stop_on=frozenset({"no_such_cause"}))  # unknown names never match


@pytest.mark.parametrize("budget", [0, 1, 2, 3, 17, 100])
def test_small_budgets_agree(budget):
    spec = load("pg74")
    run_both(spec, G.boot_state(spec, W.build(spec, "syscall", 2)), budget)


@pytest.mark.parametrize("spec_name", SPECS)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_programs_agree(spec_name, data):
    from vverify.asm import AsmError

    spec = load(spec_name)
    program = data.draw(fuzz_programs(spec, flagged_weights(spec)))
    try:
        state = program.boot_state(spec)
    except AsmError:
        return
    run_both(spec, state, program.budget, trace_capacity=2)


# ---------------------------------------------------------------- when the Python path serves

def _vmm(cls=TrapAndEmulate, core=None):
    spec = load("pg74")
    return cls(spec, G.boot_state(spec, W.build(spec, "syscall", 2)), core=core, compiled=True)


def test_subclasses_that_change_the_dispatcher_fall_back_to_python():
    class Dispatching(TrapAndEmulate):
        def dispatch(self, ex):
            return super().dispatch(ex)

    class Emulating(TrapAndEmulate):
        def emulate(self):
            return super().emulate()

    class Direct(TrapAndEmulate):
        def direct(self, budget):
            return super().direct(budget)

    class Plain(TrapAndEmulate):  # changes nothing the loop replaces
        pass

    for cls, path in ((Dispatching, "python"), (Emulating, "python"), (Direct, "python"), (Plain, "compiled")):
        vmm = _vmm(cls)
        vmm.run(10_000)
        assert vmm.path == path, cls


def test_a_placed_guest_of_a_subclass_falls_back_to_python():
    class MyGuest(PlacedGuest):
        pass

    vmm = _vmm()
    vmm.g.__class__ = MyGuest  # as the planted defects adopt theirs
    vmm.run(10_000)
    assert vmm.path == "python"


def test_the_plain_python_core_falls_back_to_python():
    spec = load("pg74")
    vmm = _vmm(core=Core(spec, jit=False))
    assert vmm.g.core.kernels() is None
    vmm.run(200)
    assert vmm.path == "python"



def test_compiled_is_the_default():
    assert TrapAndEmulate.compiled
