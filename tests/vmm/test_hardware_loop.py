"""Hardware assist's compiled VM-exit loop (vverify/vmm/hardware_loop.py) against the Python path.

The Python path (``HardwareAssisted(compiled=False)``: ``direct`` returning on
every VM exit) is the reference: on pg74_vt and x86_32_vtx, for every
benchmark workload and for generated programs, both must end the same way
(reason, cause, steps), deliver the same traps in the same order, count the
same events (every counter but crossings, which may only be fewer), and
leave the same guest state and the same real machine.  Runs are also cut
into several calls, budgets made small and the trace buffer tiny, so that
re-entering the loop and the exits it hands back to Python are exercised.
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
from vverify.vmm import HardwareAssisted, PlacedGuest

SPECS = [s for s in GUEST_SPECS if load(s).virtualization is not None and load(s).virtualization.hardware_assist]


def test_the_hardware_assist_specs_are_covered():
    assert {"pg74_vt", "x86_32_vtx"} <= set(SPECS)


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


def run_both(spec, state, budget, stop_on=None, chunks=1, trace_capacity=None, cls=HardwareAssisted):
    """Run ``state`` on both paths and require every observable to agree; the compiled VMM and its exits."""
    stop_on = context_of(spec).stop_causes() if stop_on is None else stop_on
    ref = cls(spec, state, compiled=False)
    vmm = cls(spec, state, compiled=True)
    if trace_capacity is not None:
        ref.trace_capacity = vmm.trace_capacity = trace_capacity
    a, b = _run(ref, budget, stop_on, chunks), _run(vmm, budget, stop_on, chunks)
    assert ref.path == "python" and vmm.path == "compiled"
    assert [(e.reason, e.cause, e.steps, e.trace) for e in a] == [(e.reason, e.cause, e.steps, e.trace) for e in b]
    assert ref.trace == vmm.trace
    want, got = ref.counters.as_dict(), vmm.counters.as_dict()
    assert {k: v for k, v in want.items() if k != "crossings"} == {k: v for k, v in got.items() if k != "crossings"}
    assert got["crossings"] <= want["crossings"]
    assert ref.guest_registers() == vmm.guest_registers()
    assert np.array_equal(ref.guest_memory(), vmm.guest_memory())
    assert ref.guest_state() == vmm.guest_state()
    st_base = ref.g.core.layout.st_base
    assert np.array_equal(ref.g.core.R[:st_base], vmm.g.core.R[:st_base]), "the real registers differ: placement"
    assert np.array_equal(ref.g.virtual.array, vmm.g.virtual.array)
    assert ref.g.core.instructions_executed == vmm.g.core.instructions_executed
    return ref, vmm, b


def _workloads(spec_name):
    spec = load(spec_name)
    if not W.has_guest_library(spec):
        return []
    return [w for w in W.WORKLOADS if W.source(spec, w).applicable]


CASES = [(s, w) for s in SPECS for w in _workloads(s)]


def test_every_spec_has_workloads():
    assert {s for s, _ in CASES} == set(SPECS)


@pytest.mark.parametrize("spec_name,workload", CASES)
def test_workloads_agree(spec_name, workload):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, workload, 5))
    ref, vmm, exits = run_both(spec, state, 50_000)
    if any(k.startswith("vmexit:") for k in vmm.counters.exits) and len(vmm.trace) < 4096:
        # VM exits were served in the loop: fewer returns into Python than the Python path's
        assert vmm.counters.crossings < ref.counters.crossings or ref.counters.crossings <= 2


@pytest.mark.parametrize("spec_name", SPECS)
def test_runs_cut_into_pieces_and_a_tiny_trace_buffer_agree(spec_name):
    spec = load(spec_name)
    for workload in ("syscall", "in", "cr8wr"):
        if workload not in _workloads(spec_name):
            continue
        state = G.boot_state(spec, W.build(spec, workload, 7))
        for capacity in (1, 2, 5):
            run_both(spec, state, 20_000, trace_capacity=capacity)
        run_both(spec, state, 20_000, chunks=13, trace_capacity=3)


@pytest.mark.parametrize("spec_name", SPECS)
@pytest.mark.parametrize("budget", [0, 1, 2, 3, 17, 100, 1000])
def test_small_budgets_agree(spec_name, budget):
    spec = load(spec_name)
    for workload in ("syscall", "in"):
        if workload in _workloads(spec_name):
            run_both(spec, G.boot_state(spec, W.build(spec, workload, 2)), budget)


@pytest.mark.parametrize("spec_name", SPECS)
def test_stop_on_agrees(spec_name):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "syscall", 3))
    causes = [c.name for c in sorted(spec.causes.values(), key=lambda c: c.index)]
    for stop_on in (frozenset(), frozenset({"no_such_cause"}), *(frozenset({c}) for c in causes)):
        run_both(spec, state, 5_000, stop_on=stop_on, trace_capacity=2)


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

def _vmm(cls=HardwareAssisted, core=None):
    spec = load("pg74_vt")
    return cls(spec, G.boot_state(spec, W.build(spec, "syscall", 2)), core=core, compiled=True)


def test_subclasses_that_change_how_exits_are_served_fall_back_to_python():
    class Direct(HardwareAssisted):
        def direct(self, budget):
            return super().direct(budget)

    class Emulating(HardwareAssisted):
        def emulate(self):
            return super().emulate()

    class Syncing(HardwareAssisted):
        def sync(self):
            return super().sync()

    class Plain(HardwareAssisted):  # changes nothing the loop replaces
        pass

    for cls, path in ((Direct, "python"), (Emulating, "python"), (Syncing, "python"), (Plain, "compiled")):
        vmm = _vmm(cls)
        vmm.run(10_000)
        assert vmm.path == path, cls


def test_a_placed_guest_of_a_subclass_falls_back_to_python():
    class MyGuest(PlacedGuest):
        pass

    vmm = _vmm()
    vmm.g.__class__ = MyGuest
    vmm.run(10_000)
    assert vmm.path == "python"


def test_the_plain_python_core_falls_back_to_python():
    spec = load("pg74_vt")
    vmm = _vmm(core=Core(spec, jit=False))
    vmm.run(200)
    assert vmm.path == "python"


def test_a_zero_budget_enters_no_compiled_code():
    vmm = _vmm()
    ex = vmm.run(0)
    assert (ex.reason, ex.steps, vmm.counters.crossings) == ("budget", 0, 0)


def test_compiled_is_the_default():
    assert HardwareAssisted.compiled
    spec = load("pg74_vt")
    vmm = HardwareAssisted(spec, G.boot_state(spec, W.build(spec, "syscall", 1)))
    vmm.run(100)
    assert vmm.path == "compiled"


def _exiting_everything(tmp_path):
    """pg74_vt with SVC and PSW exiting too: system calls and control-state writes exit, so the loop
    emulates them and reflects the system call's trap to the guest's handler itself."""
    import shutil

    from tests.conftest import spec_path
    from vverify.spec.loader import load_spec

    isa = shutil.copytree(spec_path("pg74").parent, tmp_path / "pg74")
    text = (isa / "pg74_vt.toml").read_text()
    changed = text.replace('vmctl = "HALT_EXITING"', 'vmctl = "HALT_EXITING | SVC_EXITING | PSW_EXITING"')
    assert changed != text
    (isa / "pg74_vt.toml").write_text(changed)
    return load_spec(isa / "pg74_vt.toml")


def test_exits_whose_emulation_reflects_a_trap_agree(tmp_path):
    """The loop records a trap its emulation reflects after the core's, in the core's buffer or, when
    that is full, in the overflow slot: the trace and counters are still the Python path's."""
    spec = _exiting_everything(tmp_path)
    state = G.boot_state(spec, W.build(spec, "syscall", 9))
    for capacity in (None, 1, 2, 3):
        ref, vmm, exits = run_both(spec, state, 20_000, trace_capacity=capacity)
        assert vmm.counters.exits["vmexit:svc"] >= 9 and vmm.counters.reflected["svc"] >= 9
        assert vmm.counters.crossings < ref.counters.crossings
    run_both(spec, state, 20_000, chunks=7, trace_capacity=1)
    for budget in (1, 5, 50, 333):
        run_both(spec, state, budget, trace_capacity=1)
    run_both(spec, state, 20_000, stop_on=frozenset({"svc"}))


def test_guests_sharing_the_machine_agree_on_both_paths():
    """The shared machine (vverify/vmm/shared.py) confines each guest: its ept_violation exit ends
    its run ("allocation"), which the loop hands back to Python.  Both paths, same ends and counters."""
    from tests.vmm.test_shared_machine import program
    from vverify.vmm.shared import SharedMachine

    spec = load("pg74_vt")
    greedy = G.boot_state(spec, G.build(spec, "user_main:\n        svc 3\n        svc 0\n",
                                        "sys_extra:\n        li r1, -2\n        ldx r0, r1\n        jmp k_return\n"))
    guests = [greedy, *(G.boot_state(spec, G.build(spec, program(v, k))) for v, k in ((7, 3), (8, 5)))]
    runs = []
    for compiled in (False, True):
        shared = SharedMachine(spec, guests, quantum=7)
        for v in shared.vmms:
            v.compiled = compiled
        ends = shared.run(5000)
        runs.append((shared, ends))
        assert all(v.path == ("compiled" if compiled else "python") for v in shared.vmms)
    (a, ea), (b, eb) = runs
    assert ea[0].reason == "allocation"
    assert [(e.reason, e.cause, e.steps, e.trace) for e in ea] == [(e.reason, e.cause, e.steps, e.trace) for e in eb]
    for va, vb in zip(a.vmms, b.vmms):
        want, got = va.counters.as_dict(), vb.counters.as_dict()
        assert {k: v for k, v in want.items() if k != "crossings"} == {k: v for k, v in got.items() if k != "crossings"}
        assert got["crossings"] <= want["crossings"]
    assert np.array_equal(a.core.MEM, b.core.MEM)
    assert all(np.array_equal(x, y) for x, y in zip(a.contexts, b.contexts))
