"""Native execution (vverify/vmm/native.py): the guest's traps go to its own handler inside the
compiled run loop, which records them in the core's trace buffer (docs/core.md, "The trace of
delivered traps").  Held here to the way Native ran before (issue 15): every trap returned to
Python, was recorded there, and the guest's handler was single-stepped."""

import math

import pytest

from tests.conftest import load
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.core import Core
from vverify.fuzz.equivalence import stop_causes
from vverify.vmm import Native


def old_run(vmm, budget, stop_on=frozenset()):
    """Native.run as it was before the trace buffer: a return to Python on every trap."""
    vmm._start()
    core, steps = vmm.core, 0
    while steps < budget:
        ex = core.run(budget - steps, trap_exits="all")
        steps += ex.steps
        vmm.counters.direct += ex.steps
        if ex.reason != "trap":
            return vmm._exit(ex.reason, steps)
        if ex.cause in stop_on:
            return vmm._exit("stop", steps, ex.cause)
        vmm.trace.append((ex.cause, core.reg("pc")))
        vmm.counters.reflected[ex.cause] += 1
        ex1 = core.run(1, trap_exits=set(vmm.spec.causes) - {ex.cause})
        steps += ex1.steps
        vmm.counters.direct += ex1.steps
        if ex1.reason not in ("budget",):
            return vmm._exit(ex1.reason, steps)
    return vmm._exit("budget", steps)


def guest(name, workload, n):
    spec = load(name)
    return spec, G.boot_state(spec, W.build(spec, workload, n))


def counters(vmm):
    d = vmm.counters.as_dict()
    d.pop("crossings")  # the one counter that differs: the old loop crossed on every trap
    return d


def same(a, b, ea, eb):
    assert (ea.reason, ea.cause, ea.steps) == (eb.reason, eb.cause, eb.steps)
    assert ea.trace == eb.trace and a.trace == b.trace
    assert counters(a) == counters(b)
    assert a.guest_state() == b.guest_state()


CASES = [("riscv32", "syscall", 9), ("riscv32", "compute", 5), ("pg74", "syscall", 7), ("pdp10", "syscall", 6),
         ("x86_32", "syscall", 4)]


@pytest.mark.parametrize("name,workload,n", CASES)
def test_trace_and_counters_are_the_old_loops(name, workload, n):
    spec, g = guest(name, workload, n)
    stop = stop_causes(spec)
    new, old = Native(spec, g), Native(spec, g)
    ea, eb = new.run(2_000_000, stop_on=stop), old_run(old, 2_000_000, stop)
    same(new, old, ea, eb)
    assert ea.reason in ("halt", "stop")
    assert new.counters.crossings == 1  # only the return that ends the run


@pytest.mark.parametrize("capacity", [1, 2, 3])
def test_a_buffer_smaller_than_the_trace_gives_the_same_trace(capacity):
    spec, g = guest("riscv32", "syscall", 9)
    stop = stop_causes(spec)
    new, old = Native(spec, g), Native(spec, g)
    new.trace_capacity = capacity
    ea, eb = new.run(2_000_000, stop_on=stop), old_run(old, 2_000_000, stop)
    same(new, old, ea, eb)
    traps = len(ea.trace)
    assert traps == 10 > capacity
    # a return to be drained each time a trap comes to a full buffer, then the one that ends the run
    assert new.counters.crossings == math.ceil(traps / capacity) - 1 + 1


@pytest.mark.parametrize("chunk", [1, 5, 13])
def test_runs_cut_into_budgets_match_the_old_loop(chunk):
    """Budgets that end anywhere (just before a trap, just after its delivery), with a buffer of 2."""
    spec, g = guest("pg74", "syscall", 4)
    stop = stop_causes(spec)
    new, old = Native(spec, g), Native(spec, g)
    new.trace_capacity = 2
    for _ in range(400):
        ea, eb = new.run(chunk, stop_on=stop), old_run(old, chunk, stop)
        same(new, old, ea, eb)
        if ea.reason != "budget":
            break
    assert ea.reason == "halt"


def test_stop_on_ends_the_run_before_delivery():
    """A cause in stop_on is a trap exit: the trap is not delivered nor recorded, pc at the instruction."""
    spec, g = guest("riscv32", "syscall", 3)
    new, old = Native(spec, g), Native(spec, g)
    ea, eb = new.run(2_000_000, stop_on={"ecall_from_u"}), old_run(old, 2_000_000, {"ecall_from_u"})
    same(new, old, ea, eb)
    assert (ea.reason, ea.cause) == ("stop", "ecall_from_u")
    assert ("ecall_from_u", new.core.reg("pc")) not in ea.trace
    assert spec.mode_name(new.core.reg("mode")) in spec.user  # still in the guest's user code
    # resumed, it goes on as the old loop does
    ea, eb = new.run(2_000_000, stop_on=stop_causes(spec)), old_run(old, 2_000_000, stop_causes(spec))
    same(new, old, ea, eb)


def test_the_plain_python_build_records_the_same_trace():
    spec, g = guest("riscv32", "syscall", 2)
    stop = stop_causes(spec)
    new, old = Native(spec, g, core=Core(spec, jit=False)), Native(spec, g)
    new.trace_capacity = 1
    ea, eb = new.run(20_000, stop_on=stop), old_run(old, 20_000, stop)
    same(new, old, ea, eb)


def test_native_leaves_the_core_not_recording():
    """Recording is Native's opt-in for its run only: the core it ran on records nothing afterwards."""
    spec, g = guest("riscv32", "syscall", 2)
    vmm = Native(spec, g)
    vmm.run(50, stop_on=stop_causes(spec))
    core = vmm.core
    ex = core.run(2_000, trap_exits=())
    assert ex.reason != "trace_full" and core.take_traps() == []
