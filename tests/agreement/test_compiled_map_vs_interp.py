"""The compiled virtualization map and fetch (what the VMMs place and decode with) agree with the
reference interpreter's (vverify.interp.placement, vverify.interp.fetch).

The VMMs no longer evaluate the map or the fetch through the interpreter:
the core compiles both from the spec (vverify.core.mapgen, codegen's
``fetch_at``).  On random guest states and placement parameters, the real
registers the compiled map sets, the memory offset it gives and the address
the compiled fetch finds must be exactly the reference's.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tests.conftest import LANGUAGE_SPECS, SPEC_FILES, load
from tests.strategies import states
from vverify.core import Core
from vverify.core.mapgen import set_registers
from vverify.core.protocol import ST_MEMORY_OFFSET
from vverify.interp import LeaveGuest, Trap, fetch
from vverify.interp.placement import memory_offset, placed_regs

MAPPED = [p.stem for p in SPEC_FILES if load(p).virtualization is not None] + LANGUAGE_SPECS
_cores: dict = {}


def core(spec):
    if spec.name not in _cores:
        _cores[spec.name] = Core(spec)
    return _cores[spec.name]


@st.composite
def params(draw, spec):
    return {p: draw(st.integers(0, (1 << w) - 1)) for p, w in spec.virtualization.params.items()}


@pytest.mark.parametrize("spec_name", MAPPED)
@given(data=st.data())
def test_compiled_map_places_as_the_reference_does(spec_name, data):
    spec = load(spec_name)
    guest = data.draw(states(spec), label="guest state")
    p = data.draw(params(spec), label="placement")
    c = core(spec)
    cmap = c.compiled_map()
    P = cmap.param_array(p)
    view = c.context_of(guest)
    assert cmap.offset(view, P) == memory_offset(spec, guest, p)
    want = placed_regs(spec, guest, p, spec.mode_name(guest.regs["mode"]))
    got = cmap.place(view, P, np.zeros(len(spec.registers), dtype=np.uint64))
    for name in set_registers(spec):
        assert int(got[c.layout.reg_index[name]]) == want[name], name
    assert [n for n in spec.registers if cmap.sets[c.layout.reg_index[n]]] == \
        [n for n in spec.registers if n in set_registers(spec)]


@pytest.mark.parametrize("spec_name", MAPPED)
@given(data=st.data())
def test_compiled_fetch_finds_the_reference_address(spec_name, data):
    spec = load(spec_name)
    guest = data.draw(states(spec), label="guest state")
    c = core(spec)
    c.load_state(guest)
    view = c.context_of(guest)
    view[c.layout.st_base + ST_MEMORY_OFFSET] = 0
    try:
        want = fetch(spec, guest)[0]
    except (Trap, LeaveGuest):
        want = None
    assert c.fetch_address(view) == want
