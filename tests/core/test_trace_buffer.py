"""The core's trace of delivered traps (protocol.TRACE_ENTRIES, docs/core.md): opt-in, bounded,
exact, and nothing at all for a core that did not ask for it."""

import pytest

from tests.conftest import load
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.core import Core, CoreArgumentError
from vverify.core.protocol import REASONS, ST_TRACE_CAP, ST_TRACE_COUNT, TRACE_ENTRIES
from vverify.spec.exits import REASONS as EXIT_REASONS


def booted(name="riscv32", n=3):
    spec = load(name)
    core = Core(spec)
    core.load_state(G.boot_state(spec, W.build(spec, "syscall", n)))
    return spec, core


def test_trace_full_is_an_exit_reason_everyone_knows():
    assert "trace_full" in REASONS and "trace_full" in EXIT_REASONS


def test_a_core_records_nothing_unless_asked():
    spec, core = booted()
    ex = core.run(5_000)
    assert ex.reason in ("halt", "budget", "trap")
    assert int(core.ST[ST_TRACE_CAP]) == 0 and int(core.ST[ST_TRACE_COUNT]) == 0
    assert core.take_traps() == []


def test_recorded_traps_are_delivered_ones_and_a_full_buffer_exits_precisely():
    spec, core = booted()
    _, ref = booted()
    core.record_traps(1)
    ex = core.run(5_000)
    assert ex.reason == "trace_full" and ex.cause == "ecall_from_u"
    first = core.take_traps()
    assert len(first) == 1 and first[0][0] == "ecall_from_u"
    # precise: pc at the second trapping instruction, its trap not taken, as a trap exit leaves it
    a = ref.run(5_000, trap_exits="all")
    assert a.reason == "trap" and first == [("ecall_from_u", ref.reg("pc"))]
    assert ref.run(1, trap_exits=()).steps == 1  # the first one, delivered
    b = ref.run(5_000, trap_exits="all")
    assert (b.reason, b.cause, a.steps + 1 + b.steps) == ("trap", ex.cause, ex.steps)
    assert core.to_state() == ref.to_state()
    # drained, it goes on and records the trap it had to leave
    pc = core.reg("pc")
    ex = core.run(1)
    assert ex.steps == 1 and core.take_traps() == [("ecall_from_u", pc)]


def test_capacity_is_checked():
    _, core = booted()
    with pytest.raises(CoreArgumentError):
        core.record_traps(TRACE_ENTRIES + 1)
    with pytest.raises(CoreArgumentError):
        core.record_traps(-1)
    core.record_traps(0)
