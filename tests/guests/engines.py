"""Running a built guest on either engine, for the guest-library tests.

The reference interpreter and the compiled core must agree on every guest
program; these helpers let a test run one program on both the same way.
"""

from vverify import guests as G
from vverify.core import Core

ENGINES = ["interp", "core"]

_cores: dict = {}  # one Core per spec per session: building one compiles (or loads) its run loop


def core_for(spec):
    key = (spec.name, spec.digest)
    if key not in _cores:
        _cores[key] = Core(spec)
    return _cores[key]


def run_on(engine, spec, prog, budget):
    """Boot ``prog`` and run it; returns (the final state or core, exit)."""
    state = G.boot_state(spec, prog)
    if engine == "interp":
        return G.run(spec, state, budget)
    core = core_for(spec)
    core.load_state(state)
    return G.run(spec, core, budget)
