"""One run on the reference interpreter and on a core, and the assertion that they end alike.

The agreement tests of the core (every spec's random programs, Sv32's paged
programs) draw different states and programs but judge the runs the same
way: the same exit, the same registers, files and memory.
"""

from vverify.interp import run as interp_run


def assert_core_runs_as_interpreter(core, spec, s, budget: int, exits, every_tval: bool = False):
    """Run ``s`` for ``budget`` steps with ``exits`` as the trap exits on the interpreter and on
    ``core``; assert the same exit (its trap value where the exit has one, or always with
    ``every_tval``) and the same final state.  Returns the interpreter's exit, for the test's events."""
    want, want_exit = interp_run(spec, s, budget, trap_exits=frozenset(exits))
    core.load_state(s)
    got_exit = core.run(budget, trap_exits=exits)
    got = core.to_state(default=s.mem_default)
    assert (got_exit.reason, got_exit.cause, got_exit.steps) == (want_exit.reason, want_exit.cause, want_exit.steps)
    if every_tval or want_exit.reason in ("trap", "illegal"):
        assert got_exit.tval == want_exit.tval
    assert got.regs == want.regs
    assert got.files == want.files
    assert got.normalized_mem() == want.normalized_mem()
    return want_exit
