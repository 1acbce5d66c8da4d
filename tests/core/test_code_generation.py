"""The code-write generation (codegen.Layout.code_gen): every write that may change decoded code
advances it, and nothing else does.  Binary translation's compiled loop trusts a block checked at
the current generation without comparing its code again, so a write that changed code without
advancing it would let a stale translation run."""

import numpy as np

from tests.conftest import load, report_of
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.core import Core

DATA = 0x8400  # where riscv32's compute workload stores (specs/riscv32/bench/compute.s)


def booted(n=50):
    spec = load("riscv32")
    core = Core(spec)
    core.load_state(G.boot_state(spec, W.build(spec, "compute", n)))
    return spec, core


def test_data_stores_leave_it_and_stores_to_code_pages_advance_it():
    spec, core = booted()
    g0 = core.code_generation()
    ex = core.run(300)
    assert ex.steps == 300 and core.code_generation() == g0  # the loop stored ~30 times, to data
    core._mark_code_pages(DATA)  # as if code had been decoded there
    core.run(100)
    assert core.code_generation() > g0


def test_the_hosts_writes_advance_it():
    spec, core = booted()
    steps = [
        lambda: core.invalidate(0x10, 0x14),
        lambda: core.write_memory(0x8000, [1, 2]),
        lambda: core.flush_code_cache(),
        lambda: core.load_image(np.where(np.arange(len(core.MEM)) == 3, 7, core.MEM).astype(core.MEM.dtype)),
    ]
    for step in steps:
        before = core.code_generation()
        step()
        assert core.code_generation() > before
    before = core.code_generation()
    core.load_image(core.MEM.copy())  # nothing changed: nothing to forget
    assert core.code_generation() == before


def test_loading_an_image_unmarks_pages_where_no_decoded_code_is_left():
    spec, core = booted()
    core.run(300)  # the loop's code is decoded: its pages are marked
    code_pages = set(np.flatnonzero(core.CODE_PAGES).tolist())
    core._mark_code_pages(DATA)  # a stale mark: code once decoded there, long gone
    page = DATA >> core.layout.page_shift
    assert page not in code_pages
    image = core.MEM.copy()
    image[DATA + 64] ^= 1  # any change: the loader then looks at the marks
    before = core.code_generation()
    core.load_image(image)
    assert set(np.flatnonzero(core.CODE_PAGES).tolist()) == code_pages  # live code keeps its marks
    assert core.code_generation() > before  # a translation checked under the old mark is checked again
    g = core.code_generation()
    core.run(300)
    assert core.code_generation() == g  # stores to the data page no longer count as code writes


def test_a_guest_placed_elsewhere_does_not_inherit_the_last_guests_code_marks():
    """The same program natively (at 0) and under binary translation (relocated): the native run's
    code pages are the translated guest's data, and used to make each of its stores a code write,
    so that every block was compared with memory again on every lookup (x86_32 ``compute``
    under binary translation ran 2.4x slower after a native run than before it)."""
    from vverify.context import context_of

    spec = load("x86_32")
    ctx = context_of(spec)
    report = report_of(spec)
    prog = W.build(spec, "compute", 200)
    state = G.boot_state(spec, prog)
    native = ctx.make_vmm("native", state, ctx.translation_set(report))
    native.run(100_000, stop_on=ctx.stop_causes())
    bt = ctx.make_vmm("binary-translation", state, ctx.translation_set(report))
    bt.compiled = False  # the Python path runs the same core: what is asserted here is the core's
    core = bt.g.core
    assert core is native.core  # one core per spec: what makes the marks carry over
    g = core.code_generation()
    ex = bt.run(100_000, stop_on=ctx.stop_causes())
    assert ex.reason in ("halt", "stop")
    assert core.code_generation() == g


def test_the_store_log_names_each_store_to_a_marked_page_and_refuses_what_it_cannot_name():
    """Core.stores_since (codegen.Layout.store_log): shadow paging's routines learn from it which
    guest words an emulated instruction stored.  Run one instruction at a time, every byte that
    changed lies in a store the log names, and a logged store lies where the loop stores."""
    spec, core = booted()
    core.run(300)
    core._mark_code_pages(DATA)
    core.MEM[DATA:DATA + 0x100] = 0xA5  # so that what the loop stores there shows
    g, logged, changed = core.code_generation(), [], set()
    for _ in range(100):  # 11 stores: more than the log holds
        before, gen = core.MEM.copy(), core.code_generation()
        core.run(1)
        stores = core.stores_since(gen)
        assert stores is not None
        logged += stores
        changed |= set(np.flatnonzero(core.MEM != before).tolist())
    assert logged and changed, "the compute loop stores to its data page"
    assert all(units == 4 and DATA >> 8 == first >> 8 for first, units in logged)  # sw into the data page
    assert changed <= {a for first, units in logged for a in range(first, first + units)}
    assert core.stores_since(g) is None  # more stores than the log holds
    gen = core.code_generation()
    core.invalidate(0x10, 0x14)
    assert core.stores_since(gen) is None  # a host write names no store
    assert core.stores_since(core.code_generation()) == []
