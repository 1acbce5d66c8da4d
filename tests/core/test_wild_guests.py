"""Guest programs that run wild end with a clean exit and never touch host memory.

The same generated source runs here as plain Python (no numba), where numpy
raises IndexError on any out-of-bounds index: so this checks that every
index the core computes is in bounds, whatever the guest does.  Memory,
registers and trap vectors are random: the guest jumps anywhere, writes
anywhere and loops forever.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import MACHINE_SPECS, load
from vverify.core import Core

_cores = {}


@pytest.mark.parametrize("spec_name", MACHINE_SPECS)  # a map-only variant runs the same core
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), budget=st.integers(1, 400), exits=st.booleans())
def test_wild_guest_exits_cleanly(spec_name, seed, budget, exits):
    spec = load(spec_name)
    core = _cores.get(spec_name) or _cores.setdefault(spec_name, Core(spec, jit=False))
    rng = np.random.default_rng(seed)
    m = spec.memory
    core.MEM[:] = rng.integers(0, 1 << m.unit, size=m.size, dtype=np.uint64).astype(core.MEM.dtype)
    for name, r in spec.registers.items():
        core.set_reg(name, int(rng.integers(0, 1 << min(r.width, 63))))
    core.set_reg("mode", sorted(spec.modes.values())[int(rng.integers(0, len(spec.modes)))])
    for name, f in spec.files.items():
        core.F[name][:f.count] = rng.integers(0, 1 << min(f.width, 63), size=f.count, dtype=np.uint64)
        for i, v in f.hardwired.items():
            core.F[name][i] = v
    core.flush_code_cache()
    shapes = (core.MEM.shape, core.R.shape, core.DECF.shape)
    ex = core.run(budget, trap_exits="all" if exits else ())
    assert ex.reason in ("budget", "halt", "trap", "illegal", "double_fault", "hypercall", "vmexit")
    assert 0 <= ex.steps <= budget
    assert ex.reason != "budget" or ex.steps == budget
    assert (core.MEM.shape, core.R.shape, core.DECF.shape) == shapes


def test_the_wild_guests_run_on_plain_python():
    """``Core(spec, jit=False)`` was compiled by numba anyway (without its cache) wherever numba is
    installed, so the guests above ran with no bounds checks at all: this test's premise was false."""
    core = Core(load(MACHINE_SPECS[0]), jit=False)
    assert not hasattr(core.module.run, "py_func")  # a plain function, not a numba dispatcher
