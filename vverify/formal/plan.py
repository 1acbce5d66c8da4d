"""Which questions the classifier asks of every unit, in order: the plan, without z3.

The classifier (vverify.formal.classify.ask_all) asks exactly these; the
proof cache (vverify.check.entry) holds a stored entry to them, so that an
entry missing an answer (a "yes" dropped, which the derivation would read as
"no") is never believed.  Kept apart from the solver so that reading the
cache does not load z3.
"""

from __future__ import annotations


def question_plan(spec) -> list:
    """``[(question, modes)]``: each question for each mode (``mode``: each pair of modes)."""
    plan = [("runs_in_user", (m,)) for m in spec.user]
    plan += [("runs_in_supervisor", (m,)) for m in spec.supervisor]
    modes = spec.user + spec.supervisor
    plan += [("control", (m,)) for m in modes]
    plan += [("mode", (m1, m2)) for i, m1 in enumerate(modes) for m2 in modes[i + 1:]]
    vm = spec.virtualization
    if vm is not None:
        if vm.relocate or vm.memory_offset is not None:
            plan += [("location", (m,)) for m in modes]
        plan += [("placement", (m,)) for m in modes]
        if spec.timing_registers:
            plan += [("timing", (m,)) for m in modes]
    return plan
