"""Workloads: every one assembles and runs to a clean exit natively on every spec with a guest library,
and the counters count what the workload does."""

from pathlib import Path

import pytest

from tests.conftest import SPEC_FILES, load, report_of
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.bench.costmodel import per_operation
from vverify.bench.measure import Target, not_applicable
from vverify.fuzz.equivalence import make_vmm, stop_causes

WITH_LIBRARY = [p.stem for p in SPEC_FILES if W.has_guest_library(p.stem)]


def run(spec, technique, workload, n, translate=None):
    prog = W.build(spec, workload, n)
    vmm = make_vmm(spec, technique, G.boot_state(spec, prog), translate)
    ex = vmm.run(2_000_000, stop_on=stop_causes(spec))
    return vmm, ex


@pytest.mark.parametrize("name", WITH_LIBRARY)
def test_every_workload_is_written_or_explained(name):
    for w in W.WORKLOADS:
        src = W.source(name, w)
        assert src.applicable or src.na, (name, w)
        if src.applicable:
            assert Path(src.path).is_file() and src.user.strip()


@pytest.mark.parametrize("name", WITH_LIBRARY)
@pytest.mark.parametrize("workload", list(W.WORKLOADS))
def test_workload_runs_to_exit_natively(name, workload):
    spec = load(name)
    if not W.source(spec, workload).applicable:
        pytest.skip(W.source(spec, workload).na)
    counts = []
    for n in (0, 3, 7):
        vmm, ex = run(spec, "native", workload, n)
        assert ex.reason in ("halt", "stop"), (workload, n, ex)
        st = G.exit_status(spec, vmm.guest_state())
        assert (st.status, st.code) == ("exit", 0), (workload, n, st)
        counts.append((ex.steps, vmm.counters.as_dict()))
    # steps grow linearly with N: every operation costs the same
    (s0, _), (s3, _), (s7, _) = counts
    assert (s7 - s3) * 3 == (s3 - s0) * 4 and s3 > s0


@pytest.mark.parametrize("name", WITH_LIBRARY)
def test_syscall_makes_exactly_n_system_calls(name):
    spec = load(name)
    call = next((c.name for c in spec.causes.values() if c.kind == "call" and "from_m" not in c.name
                 and "from_s" not in c.name and c.name != "breakpoint"), None)
    if call is None:
        pytest.skip(f"{name} has no cause of kind 'call': its system call is not a trap (x86's INT n delivers "
                    f"through the IDT itself), so no reflected trap counts the calls")
    base, _ = run(spec, "native", "syscall", 0)
    vmm, _ = run(spec, "native", "syscall", 25)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 25)
    assert per[f"reflected.{call}"] == 1
    assert sum(v for k, v in per.items() if k.startswith("reflected.")) == 1


def test_syscall_traps_to_the_vmm_once_per_call_under_trap_and_emulate():
    spec = load("pg74")
    base, _ = run(spec, "trap-and-emulate", "syscall", 0)
    vmm, ex = run(spec, "trap-and-emulate", "syscall", 40)
    assert ex.reason == "halt"
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 40)
    assert per["traps.svc"] == 1 and per["reflected.svc"] == 1
    assert per["traps.privileged"] == 1  # the kernel's lpsw back to user mode


def test_cr8wr_is_one_privileged_write_per_operation():
    spec = load("pg74")
    base, _ = run(spec, "trap-and-emulate", "cr8wr", 0)
    vmm, _ = run(spec, "trap-and-emulate", "cr8wr", 30)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 30)
    assert per["traps.privileged"] == 1 and per["emulated"] == 1


def test_divzero_delivers_one_exception_per_operation():
    spec = load("riscv32")
    base, _ = run(spec, "native", "divzero", 0)
    vmm, _ = run(spec, "native", "divzero", 12)
    per = per_operation(vmm.counters.as_dict(), base.counters.as_dict(), 12)
    assert per["reflected.load_address_misaligned"] == 1


def test_not_applicable_says_why():
    pg74 = load("pg74")
    rep = report_of("pg74")
    assert "no I/O" in not_applicable(pg74, rep, "native", "in")
    assert "hardware-assist" in not_applicable(pg74, rep, "hardware-assisted", "syscall") or \
        "hardware" in not_applicable(pg74, rep, "hardware-assisted", "syscall")
    assert not_applicable(pg74, rep, "native", "syscall") == ""
    assert "no technique" in not_applicable(pg74, rep, "teleportation", "syscall")
    assert "paging" in W.source("riscv32", "pgfault").na
    assert "boot stub" in W.source("no_such_isa", "syscall").na


def test_cell_run_calibrates_and_records_counters():
    from vverify.bench.measure import CellRun

    spec = load("pg74")
    target = Target(spec, report_of("pg74"))
    run_ = CellRun(target, "trap-and-emulate", "syscall").prepare(400, 0.01)
    assert run_.iterations == 400 and run_.steps_per_op == 25
    assert run_.steady_operations == 392  # each value times N less the pilot's 8 operations
    assert run_.time_func(2) > 0
    md = run_.metadata()
    assert md["spec"] == "pg74" and md["technique"] == "trap-and-emulate" and md["workload"] == "syscall"
    assert '"svc":' in md["counters"] and md["iterations"] == 400 and md["guest_library"] == "pg74"
    assert md["timed_operations"] == 392


def test_a_kernel_that_does_not_use_the_count_is_assembled_once_for_every_count():
    """A benchmark builds each workload for several counts N (pilot, calibration, measured run).  Kernel
    code that never names N gets no ``.equ N`` and is assembled once; kernel code that does is assembled
    per count and sees its own N.  The images differ only where N is used."""
    spec = load("riscv32")
    assert not W._uses_n(W.source(spec, "mixed").kernel) and W._uses_n(W.source(spec, "in").kernel)
    a, b = W.build(spec, "mixed", 3), W.build(spec, "mixed", 5)
    assert a.kernel is b.kernel  # one assembly, shared
    assert a.memory != b.memory  # the user program's count differs
    c, d = W.build(spec, "in", 3), W.build(spec, "in", 5)
    assert c.kernel is not d.kernel and c.kernel.constants["N"] == 3 and d.kernel.constants["N"] == 5


def test_calibration_reaches_the_target_in_few_runs():
    """The calibration steps aim at the target from the last run's time per operation, so a cell whose
    operation takes nanoseconds needs a handful of runs, not one per factor of four up to ~10^5."""
    from vverify.bench.measure import CellRun

    spec = load("pg74")
    run_ = CellRun(Target(spec, report_of("pg74")), "native", "compute")
    calls = []
    real = run_._run
    run_._run = lambda guest, budget: calls.append(budget) or real(guest, budget)
    run_.prepare(None, 0.01)
    # boot, pilot, two runs of none, then two runs per step, then the measured run
    steps = (len(calls) - 5) // 2
    assert 1 <= steps <= 4, len(calls)
    assert run_.iterations >= 1000  # nanoseconds per operation: thousands of operations fill 10 ms
