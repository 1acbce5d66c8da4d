"""Binary translation's compiled block loop (vverify/vmm/binary_translation_loop.py) against the Python one.

The Python loop (``BinaryTranslation(compiled=False)``) is the reference: on
the bundled specs' benchmark workloads and on generated programs (which
carry self-modifying code: see docs/vmm-and-fuzzing.md), both must end the
same way (reason, cause, steps), deliver the same traps in the same order,
count the same events (every counter but ``crossings``, which is what the
loop is for: translations, hits, misses and invalidations included), and
leave the same guest state and the same real machine.  Runs are also cut
into several calls, budgets end mid-block, the trace buffer is made tiny,
code is rewritten between runs (so chained successors go stale), and the
path is switched between runs of one VMM.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import GUEST_SPECS, load, report_of
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.context import context_of
from vverify.core import Core
from vverify.fuzz.programs import flagged_weights, fuzz_programs
from vverify.vmm import BinaryTranslation, PlacedGuest
from vverify.vmm.shadow_paging import mmu_kind

SPECS = [s for s in GUEST_SPECS if not load(s).virtualization.hardware_assist
         and mmu_kind(load(s)) != "shadow"]  # shadow-paged guests run the Python loop, whose pager serves
#   their faults (the compiled loop is not theirs): tests/vmm/test_shadow_paging_techniques.py covers them


def translate_of(spec):
    return context_of(spec).translation_set(report_of(spec.name))


def _counters(vmm):
    d = vmm.counters.as_dict()
    d.pop("crossings")
    return d


def _run(vmm, budget, stop_on, chunks, between=None):
    exits, left = [], budget
    for k in range(chunks):
        if between is not None and k:
            between(vmm, k)
        b = left if k == chunks - 1 else budget // chunks
        ex = vmm.run(b, stop_on=stop_on)
        exits.append(ex)
        left -= ex.steps
        if ex.reason != "budget":
            break
    return exits


def run_both(spec, state, budget, stop_on=None, chunks=1, trace_capacity=None, between=None, path=None):
    """Run ``state`` under both loops and require every observable to agree; the compiled VMM and its exits."""
    stop_on = context_of(spec).stop_causes() if stop_on is None else stop_on
    translate = translate_of(spec)
    ref = BinaryTranslation(spec, state, translate=translate, compiled=False)
    vmm = BinaryTranslation(spec, state, translate=translate, compiled=True)
    if trace_capacity is not None:
        vmm.trace_capacity = trace_capacity
    a = _run(ref, budget, stop_on, chunks, between)
    b = _run(vmm, budget, stop_on, chunks, between if path is None else (lambda v, k: (between and between(v, k),
                                                                                       path(v, k))))
    assert ref.path == "python" and (vmm.path == "compiled" or path is not None)
    assert [(e.reason, e.cause, e.steps, e.trace) for e in a] == [(e.reason, e.cause, e.steps, e.trace) for e in b]
    assert ref.trace == vmm.trace
    assert _counters(ref) == _counters(vmm)
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


@pytest.mark.parametrize("spec_name,workload", CASES)
def test_workloads_agree(spec_name, workload):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, workload, 5))
    ref, vmm, exits = run_both(spec, state, 50_000)
    assert vmm.counters.crossings <= ref.counters.crossings


@pytest.mark.parametrize("spec_name", SPECS)
def test_runs_cut_into_pieces_and_a_tiny_trace_buffer_agree(spec_name):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "syscall", 7))
    for capacity in (1, 2, 5):
        run_both(spec, state, 20_000, trace_capacity=capacity)
    run_both(spec, state, 20_000, chunks=13, trace_capacity=3)


@pytest.mark.parametrize("spec_name", ["pg74", "riscv32", "x86_32"])
@pytest.mark.parametrize("budget", [0, 1, 2, 3, 5, 17, 100, 333])
def test_budgets_that_end_mid_block_agree(spec_name, budget):
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "compute", 2))
    run_both(spec, state, budget)
    run_both(spec, state, budget * 3, chunks=3)


def test_stop_on_agrees():
    spec = load("riscv32")
    state = G.boot_state(spec, W.build(spec, "syscall", 3))
    _, _, exits = run_both(spec, state, 20_000, stop_on=frozenset({"ecall_from_m"}))
    assert (exits[-1].reason, exits[-1].cause) == ("stop", "ecall_from_m")
    for stop in (frozenset(), frozenset({"ecall_from_u"}), frozenset({"no_such_cause"})):
        run_both(spec, state, 20_000, stop_on=stop)


def _rewriter(spec, state):
    """A ``between`` hook that rewrites one translated code word of a block run more than once between runs
    (into another word of the program on odd runs, back on even ones), as a host write lands."""
    from collections import Counter

    seen = Counter()

    class Probe(BinaryTranslation):
        def lookup(self, pc, mode, prev):
            blk = super().lookup(pc, mode, prev)
            seen[id(blk)] += 1
            return blk

    probe = Probe(spec, state, translate=translate_of(spec), compiled=False)
    probe.run(3000, stop_on=context_of(spec).stop_causes())
    words = sorted({w for blk in probe.cache.values() for w in blk.words})
    hot = max(probe.cache.values(), key=lambda b: seen[id(b)])  # the block run most often
    addr, old = hot.words[0]
    other = next(w for _, w in words if w != old)

    def between(vmm, k):
        g = vmm.g
        n, u = spec.max_ilen_units, spec.memory.unit
        word = other if k % 2 else old
        for i in range(n):
            ra = (addr + i + g.offset) & g.amask
            g.core.MEM[ra] = (word >> (i * u)) & ((1 << u) - 1)
            g.core.invalidate(ra - n + 1, ra + 1)

    return between


@pytest.mark.parametrize("spec_name", ["pg74", "riscv32", "x86_32", "pg74_rdbase"])
def test_code_rewritten_between_runs_agrees(spec_name):
    """Stale blocks: found in the cache or through a chain, invalidated and translated again (and a
    block translated before a rewrite that is undone is valid again), counted as the Python loop does."""
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "syscall", 40))
    ref, _, _ = run_both(spec, state, 900, chunks=9, between=_rewriter(spec, state))
    assert ref.counters.tc_invalidations > 0


@pytest.mark.parametrize("spec_name", ["pg74", "riscv32"])
def test_switching_paths_between_runs_agrees(spec_name):
    """One VMM whose runs alternate between the loops counts as the Python loop alone."""
    spec = load(spec_name)
    state = G.boot_state(spec, W.build(spec, "syscall", 6))

    def path(vmm, k):
        vmm.compiled = bool(k % 2)

    run_both(spec, state, 800, chunks=8, between=_rewriter(spec, state), path=path)


@pytest.mark.parametrize("spec_name", SPECS)
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
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
    run_both(spec, state, program.budget, chunks=4)


# ---------------------------------------------------------------- when the Python path serves

def _vmm(cls=BinaryTranslation, core=None):
    spec = load("pg74")
    return cls(spec, G.boot_state(spec, W.build(spec, "syscall", 2)), core=core, translate=translate_of(spec),
               compiled=True)


@pytest.mark.parametrize("method", BinaryTranslation._PYTHON)
def test_subclasses_that_change_the_python_loop_fall_back_to_python(method):
    base = getattr(BinaryTranslation, method)
    cls = type("Changed", (BinaryTranslation,), {method: lambda self, *a, **kw: base(self, *a, **kw)})
    vmm = _vmm(cls)
    vmm.run(5_000)
    assert vmm.path == "python"


def test_a_plain_subclass_runs_compiled():
    vmm = _vmm(type("Plain", (BinaryTranslation,), {}))
    vmm.run(5_000)
    assert vmm.path == "compiled"


def test_a_placed_guest_of_a_subclass_falls_back_to_python():
    class MyGuest(PlacedGuest):
        pass

    vmm = _vmm()
    vmm.g.__class__ = MyGuest
    vmm.run(5_000)
    assert vmm.path == "python"


def test_the_plain_python_core_falls_back_to_python():
    spec = load("pg74")
    vmm = _vmm(core=Core(spec, jit=False))
    vmm.run(200)
    assert vmm.path == "python"


def test_compiled_is_the_default():
    assert BinaryTranslation.compiled
