"""Every public Core method refuses, in one line, what would take it outside its arrays or silently misbehave.

The compiled run loop has no bounds checks, and trusts each value in its
arrays to fit its width.  So a context array shorter than ``R`` was written
past its end, ``invalidate(0, -5)`` cleared the patch marks after the code
cache's rows (a paravirtual patch silently forgotten), ``read_memory(0, -5)``
returned 65,531 units, and a state, image or context with a value too wide
for its slot went in unchecked.  Each case below is one such hole: the call
must now raise GuestMemoryError or CoreArgumentError (both VVerifyErrors,
one line) and leave the machine as it was.

The plain-Python build runs here, so the checks are tested without waiting
for numba; they live in the Core methods and are the same for both builds.
"""

import numpy as np
import pytest

from tests.conftest import load
from tests.core.tinyspec import state_with, tiny_spec
from vverify.core import Core, CoreArgumentError, GuestMemoryError
from vverify.core.protocol import ST_BUDGET
from vverify.errors import VVerifyError
from vverify.interp import initial_state

_cores = {}


def core_of(name):
    """A fresh-state plain-Python core for a bundled spec (the module is generated once)."""
    core = Core(load(name), jit=False)
    _cores.setdefault(name, core)
    return core


def context(core, **changes):
    """A copy of ``core.R`` to hand to run_context, with a budget of one instruction."""
    E = core.R.copy()
    E[core.layout.st_base + ST_BUDGET] = 1
    for name, v in changes.items():
        E[core.layout.reg_index[name]] = v
    return E


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def with_value(s, where, name, value):
    getattr(s, where)[name] = value
    return s


def file_with(s, values):
    s.files["r"] = values
    return s


PG74 = {
    # run_context: the array the loop runs on
    "run_context short": (lambda c: c.run_context(context(c)[:-3].copy()), CoreArgumentError),
    "run_context int64": (lambda c: c.run_context(context(c).astype(np.int64)), CoreArgumentError),
    "run_context float64": (lambda c: c.run_context(context(c).astype(np.float64)), CoreArgumentError),
    "run_context strided": (lambda c: c.run_context(np.repeat(context(c), 2)[::2]), CoreArgumentError),
    "run_context 2-d": (lambda c: c.run_context(context(c).reshape(1, -1)), CoreArgumentError),
    "run_context read-only": (lambda c: c.run_context(readonly(context(c))), CoreArgumentError),
    "run_context list": (lambda c: c.run_context(list(context(c))), CoreArgumentError),
    # enter_trap: the context, and the pc, cause code and trap value it gets
    "enter_trap short": (lambda c: c.enter_trap(context(c)[:-3].copy(), 0, 3, 0), CoreArgumentError),
    "enter_trap wide pc": (lambda c: c.enter_trap(context(c), 1 << 20, 3, 0), CoreArgumentError),
    "enter_trap negative pc": (lambda c: c.enter_trap(context(c), -1, 3, 0), CoreArgumentError),
    "enter_trap unknown cause code": (lambda c: c.enter_trap(context(c), 0, 99, 0), CoreArgumentError),
    "enter_trap wide tval": (lambda c: c.enter_trap(context(c), 0, 3, 1 << 40), CoreArgumentError),
    # load_context
    "load_context scalar": (lambda c: c.load_context(5), CoreArgumentError),
    "load_context short": (lambda c: c.load_context(c.save_context()[:-1]), CoreArgumentError),
    "load_context wide value": (lambda c: c.load_context(np.full(c.layout.st_base, 1 << 20, np.uint64)),
                                CoreArgumentError),
    "load_context float": (lambda c: c.load_context(c.save_context().astype(np.float64)), CoreArgumentError),
    # run, run_raw, trap_mask
    "run negative budget": (lambda c: c.run(-1), CoreArgumentError),
    "run float budget": (lambda c: c.run(2.5), CoreArgumentError),
    "run budget of 2**64": (lambda c: c.run(1 << 64), CoreArgumentError),
    "run unknown cause": (lambda c: c.run(5, trap_exits=["nosuch"]), CoreArgumentError),
    "run cause name as a string": (lambda c: c.run(5, trap_exits="svc"), CoreArgumentError),
    "run_raw negative mask": (lambda c: c.run_raw(5, -1), CoreArgumentError),
    "run_raw mask beyond the causes": (lambda c: c.run_raw(5, 1 << 10), CoreArgumentError),
    "trap_mask unknown cause": (lambda c: c.trap_mask(["nosuch"]), CoreArgumentError),
    # registers
    "reg unknown": (lambda c: c.reg("nosuch"), CoreArgumentError),
    "set_reg unknown": (lambda c: c.set_reg("nosuch", 1), CoreArgumentError),
    "set_reg float": (lambda c: c.set_reg("l", 1.5), CoreArgumentError),
    "set_reg None": (lambda c: c.set_reg("l", None), CoreArgumentError),
    # memory
    "read_memory negative count": (lambda c: c.read_memory(0, -5), GuestMemoryError),
    "read_memory float address": (lambda c: c.read_memory(0.5, 1), CoreArgumentError),
    "write_memory negative unit": (lambda c: c.write_memory(0, [-1]), CoreArgumentError),
    "write_memory unit too wide": (lambda c: c.write_memory(0, [1 << 20]), CoreArgumentError),
    "write_memory 2-d": (lambda c: c.write_memory(0, [[1, 2]]), CoreArgumentError),
    "write_memory floats": (lambda c: c.write_memory(0, [1.5]), CoreArgumentError),
    "load_image floats": (lambda c: c.load_image(np.full(1 << 16, 1.5)), CoreArgumentError),
    "load_image negative": (lambda c: c.load_image(np.full(1 << 16, -1, np.int64)), CoreArgumentError),
    "load_image units too wide": (lambda c: c.load_image(np.full(1 << 16, 1 << 20, np.int64)), CoreArgumentError),
    "image_of wide default": (lambda c: c.image_of({}, 1 << 20), CoreArgumentError),
    "image_of wide unit": (lambda c: c.image_of({3: 1 << 20}, 0), CoreArgumentError),
    "image_of float offset": (lambda c: c.image_of({3: 1}, 0, 0.5), CoreArgumentError),
    "to_state string default": (lambda c: c.to_state("x"), CoreArgumentError),
    "to_state wide default": (lambda c: c.to_state(1 << 20), CoreArgumentError),
    # the code cache
    "predecode negative word": (lambda c: c.predecode(0, -1), CoreArgumentError),
    "predecode word too wide": (lambda c: c.predecode(0, 1 << 16), CoreArgumentError),
    "predecode undecodable word": (lambda c: c.predecode(0, 0xF000), CoreArgumentError),
    "unpatch negative": (lambda c: c.unpatch(-1), GuestMemoryError),
    "unpatch past memory": (lambda c: c.unpatch(1 << 16), GuestMemoryError),
    "invalidate negative end": (lambda c: c.invalidate(0, -5), GuestMemoryError),
    "invalidate past memory": (lambda c: c.invalidate(0, (1 << 16) + 1), GuestMemoryError),
    "invalidate float": (lambda c: c.invalidate(0.5, 2), CoreArgumentError),
    # load_state: the interpreter's state
    "load_state short file": (lambda c: c.load_state(file_with(initial_state(c.spec), [7])), CoreArgumentError),
    "load_state wide register": (lambda c: c.load_state(with_value(initial_state(c.spec), "regs", "l", 1 << 20)),
                                 CoreArgumentError),
    "load_state wide file entry": (lambda c: c.load_state(file_with(initial_state(c.spec), [1 << 20, 0, 0, 0])),
                                   CoreArgumentError),
    "load_state wide memory": (lambda c: c.load_state(with_value(initial_state(c.spec), "mem", 5, 1 << 20)),
                               CoreArgumentError),
    "load_state missing register": (lambda c: c.load_state(_without(initial_state(c.spec), "l")), CoreArgumentError),
}


def _without(s, reg):
    del s.regs[reg]
    return s


def snapshot(core):
    return core.R.copy(), core.MEM.copy(), core.DECF.copy()


@pytest.mark.parametrize("case", PG74)
def test_a_bad_call_is_refused_in_one_line_and_changes_nothing(case):
    call, error = PG74[case]
    core = core_of("pg74")
    core.predecode(0xFFFC, 0x6000)  # a patch whose mark sits where a stray slice of DECF lands
    before = snapshot(core)
    with pytest.raises(error) as e:
        call(core)
    assert isinstance(e.value, VVerifyError) and "\n" not in str(e.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, snapshot(core)))


def test_invalidate_never_forgets_a_patch_mark():
    """The reported case: a negative end wrapped into the patch marks after the rows."""
    core = core_of("pg74")
    core.predecode(0, 0x6000)
    with pytest.raises(GuestMemoryError):
        core.invalidate(0, -5)
    assert core.PATCHED[0] == 1


def test_a_context_hardwired_entry_cannot_be_changed():
    """riscv32's x0 reads as 0 in the interpreter whatever is stored; the core reads the slot."""
    core = core_of("riscv32")
    saved = core.save_context()
    saved[core.layout.file_offset["x"]] = 5
    with pytest.raises(CoreArgumentError):
        core.load_context(saved)


def test_good_calls_still_work():
    """Not a regression test: the checks refuse only what is wrong."""
    core = core_of("pg74")
    core.write_memory(0, np.array([0x6005, 0x6406], dtype=np.uint16))  # li r0, 5; li r1, 6
    core.set_reg("b", 0xFFFF)  # the bound: every address below it is the guest's
    core.set_reg("pc", np.uint64(0))
    assert core.run(np.uint64(2), trap_exits=frozenset({"svc"})).steps == 2
    assert list(core.F["r"][:2]) == [5, 6]
    E = context(core, pc=0)
    assert core.run_context(E) == 0 and E[core.layout.file_offset["r"]] == 5
    core.load_context(core.save_context())
    core.invalidate(-1, 1)
    assert list(core.read_memory(0, 2)) == [0x6005, 0x6406]


# ---------------------------------------------------------------- index-feeding registers

SELECT = "r[rd] = r[sel]"  # a 2-bit register indexes the file directly: its raw value is the index


def test_a_context_register_that_indexes_a_file_must_fit(tmp_path):
    """The loop uses ``sel`` as an index unmasked: a context holding 2**40 there read far past R
    (numpy raised IndexError in this build; numba reads host memory)."""
    spec = tiny_spec(tmp_path, semantics=SELECT)
    core = Core(spec, jit=False)
    core.write_memory(0, [spec.instructions["t"].encoding.encode({"rd": 1, "a": 0})])
    E = context(core, sel=1 << 40)
    with pytest.raises(CoreArgumentError, match="wider than"):
        core.run_context(E)
    with pytest.raises(CoreArgumentError, match="wider than"):
        core.enter_trap(E, 0, 3, 0)
    E[core.layout.reg_index["sel"]] = 2
    E[core.layout.file_offset["r"] + 2] = 0xBEEF
    core.run_context(E)
    assert E[core.layout.file_offset["r"] + 1] == 0xBEEF


def test_the_machine_s_own_register_that_indexes_a_file_must_fit(tmp_path):
    """The same for a direct write to ``Core.R``: run checks the few slots that could index."""
    spec = tiny_spec(tmp_path, semantics=SELECT)
    core = Core(spec, jit=False)
    core.write_memory(0, [spec.instructions["t"].encoding.encode({"rd": 1, "a": 0})])
    core.R[core.layout.reg_index["sel"]] = 1 << 40
    with pytest.raises(CoreArgumentError, match="wider than"):
        core.run(1)


# ---------------------------------------------------------------- invalidation that wraps around

def test_invalidating_below_zero_reaches_an_instruction_that_wraps_around(tmp_path):
    """Where memory fills the address space, a two-unit instruction at the last unit covers unit 0.
    A host write at 0 calls ``invalidate(0 - 2 + 1, 0 + 1)`` (the VMMs' pattern); clamping -1 to 0
    kept the stale instruction, and the core ran the old operand."""
    spec = tiny_spec(tmp_path, encoding="a:16 1111 rd:2 0000000000", semantics="r[rd] = a")
    assert spec.memory.size == 1 << spec.memory.address  # full memory: addresses wrap
    core = Core(spec, jit=False)
    word = spec.instructions["t"].encoding.encode({"a": 0x1111, "rd": 1})
    core.load_state(state_with(spec, [], regs={"pc": 0xFFFF}))
    core.MEM[0xFFFF], core.MEM[0] = word & 0xFFFF, word >> 16
    core.flush_code_cache()
    core.run(1)
    assert core.F["r"][1] == 0x1111
    core.MEM[0] = 0x2222  # a host write, as PlacedGuest.commit makes
    core.invalidate(0 - 2 + 1, 0 + 1)
    core.set_reg("pc", 0xFFFF)
    core.run(1)
    assert core.F["r"][1] == 0x2222


def test_loading_memory_forgets_every_patch():
    """load_image forgets the rows predecode patched, including one the paravirtual loop patched
    again after an unpatch (it writes the mark itself), and leaves an unpatched row alone."""
    core = core_of("pg74")
    for addr in (3, 10, 20):
        core.predecode(addr, 0x6000)
    core.unpatch(10)
    core.unpatch(20)
    row = core.layout.row_shift
    core.DECF[20 << row] = 7  # the compiled loop decoded the guest's instruction there since
    core.PATCHED[3] = 0
    core.PATCHED[3] = 1  # ... and re-patched at 3, as the paravirtual loop's repatch does
    core.load_image(core.MEM.copy())
    assert not core.PATCHED.any()
    assert core.DECF[3 << row] == 0 and core.DECF[20 << row] == 7
