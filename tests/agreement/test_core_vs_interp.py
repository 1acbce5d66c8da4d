"""The compiled core and the reference interpreter agree on random programs.

Both run the same spec IR: the interpreter by walking it, the core through
generated code compiled by numba.  Random programs (random instructions with
random operands, and random junk words) on random states must end with the
same exit and the same state, with traps either delivered to the guest's own
handler or returned to the caller.
"""

import pytest
from hypothesis import event, given, strategies as st

from tests.agreement.same_run import assert_core_runs_as_interpreter
from tests.conftest import LANGUAGE_SPECS, MACHINE_SPECS, load
from tests.strategies import running_states
from vverify.core import Core

_cores = {}


def core_for(spec):
    if spec.name not in _cores:
        _cores[spec.name] = Core(spec)
    return _cores[spec.name]


@pytest.mark.parametrize("spec_name", MACHINE_SPECS + LANGUAGE_SPECS)  # a map-only variant runs the same core
@given(data=st.data())
def test_core_matches_interpreter(spec_name, data):
    spec = load(spec_name)
    s = data.draw(running_states(spec), label="state and program")
    trap_exits = data.draw(st.sampled_from(["none", "all", "some"]), label="trap policy")
    causes = sorted(spec.causes)
    exits = {"none": set(), "all": set(causes)}.get(trap_exits) or set(data.draw(st.sets(st.sampled_from(causes))))
    budget = data.draw(st.integers(1, 60), label="budget")

    want_exit = assert_core_runs_as_interpreter(core_for(spec), spec, s, budget, exits)
    event(f"exit: {want_exit.reason}")
    event(f"steps: {'0' if not want_exit.steps else '1-9' if want_exit.steps < 10 else '10+'}")


def test_the_core_is_compiled_unless_asked_not_to_be():
    """numba is a dependency: a run that silently fell back to plain Python would hide its speed and its bugs."""
    import os

    from vverify.core.jit import jit_enabled

    assert jit_enabled() == (os.environ.get("VVERIFY_NO_JIT", "") in ("", "0"))
