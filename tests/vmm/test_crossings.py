"""``Counters.crossings``: returns from compiled code into Python during a VMM's runs (vverify/vmm/base.py).

Measured as the benchmark measures every counter (vverify/bench/measure.py): the steady state per
operation is the difference between a run of N operations and the pilot run, over the difference
in operations.  Exact, as the other counters are.
"""

import pytest

from tests.conftest import load, report_of
from vverify.bench.costmodel import EVENTS, events, flatten, steady_state
from vverify.bench.measure import PILOT_ITERATIONS, CellRun, Target
from vverify.vmm import TECHNIQUES

N = 24

_targets: dict = {}


def cell(name, technique, workload, n=N):
    if name not in _targets:
        _targets[name] = Target(load(name), report_of(name))
    return CellRun(_targets[name], technique, workload).prepare(n, 0.01)


def per_op(name, technique, workload, n=N):
    run = cell(name, technique, workload, n)
    return steady_state(run.counters, run.iterations, run.pilot, PILOT_ITERATIONS, run.baseline)


@pytest.mark.parametrize("workload", ["compute", "syscall"])
def test_native_stays_in_compiled_code(workload):
    """Native delivers the guest's traps inside the run loop (issue 15): no crossing per operation,
    one per run (the return that ends it)."""
    run = cell("riscv32", "native", workload)
    assert run.counters["crossings"] == run.pilot["crossings"] == run.baseline["crossings"] == 1
    assert per_op("riscv32", "native", workload)["crossings"] == 0
    if workload == "syscall":
        assert per_op("riscv32", "native", workload)["reflected.ecall_from_u"] == 1


def test_trap_and_emulate_syscall_on_riscv32(monkeypatch):
    """Trap-and-emulate serves its exits in the compiled dispatcher loop (vverify/vmm/trap_emulate_loop.py):
    no crossing per system call, where its Python dispatcher, the loop's reference, crosses 15 times
    (7 core exits, 7 instructions emulated through run_context, 1 trap entry for the reflected ecall)."""
    p = per_op("riscv32", "trap-and-emulate", "syscall")
    assert p["crossings"] == 0
    assert p["reflected.ecall_from_u"] == 1 and p["emulated"] == TRAP_EMULATE_SYSCALL_EMULATED
    monkeypatch.setattr(TECHNIQUES["trap-and-emulate"], "compiled", False)
    slow = per_op("riscv32", "trap-and-emulate", "syscall")
    assert slow["crossings"] == TRAP_EMULATE_SYSCALL_PYTHON
    assert {k: v for k, v in slow.items() if k != "crossings"} == {k: v for k, v in p.items() if k != "crossings"}


def test_binary_translation_compute_on_x86_32():
    """Binary translation runs its blocks in the compiled block loop (vverify/vmm/binary_translation_loop.py):
    no crossing per operation of the compute loop (the Python loop, its reference, crosses once: the
    translated loop block runs as one direct slice of the core, which returned to Python at its end)."""
    p = per_op("x86_32", "binary-translation", "compute")
    assert p["crossings"] == BT_COMPUTE


# measured (see the docstrings above)
TRAP_EMULATE_SYSCALL_PYTHON = 15  # the Python dispatcher's; the compiled loop's is 0
TRAP_EMULATE_SYSCALL_EMULATED = 7
BT_COMPUTE = 0  # the compiled block loop's; the Python loop's is 1

WHERE = {"hardware-assisted": "pg74_vt"}


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_every_technique_counts_its_crossings(technique):
    name = WHERE.get(technique, "riscv32")
    run = cell(name, technique, "syscall", 3)
    # at least the return that ends the run, and never fewer with more operations
    assert run.counters["crossings"] >= run.baseline["crossings"] >= 1


def test_crossings_are_no_event_of_the_cost_model():
    flat = flatten({"direct": 10, "crossings": 7, "reflected": {"svc": 1}})
    assert flat["crossings"] == 7 and "crossings" not in EVENTS
    for kind in ("native", "software", "hardware"):
        assert events(flat, "trap-and-emulate", kind) == events({**flat, "crossings": 0}, "trap-and-emulate", kind)
