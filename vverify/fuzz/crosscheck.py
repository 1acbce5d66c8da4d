"""Formal meets execution: every z3 witness of an unsafe instruction, run as a program, diverges.

A "placement" witness (docs/theory.md) is a guest state in which the
instruction, placed by the map, does not trap yet leaves the guest's view
different from bare metal.  The classifier only admits states that fetch
the instruction itself at pc, so the witness *is* a one-instruction guest
program: run natively and under trap-and-emulate with the witness's
placement, the two must differ after one step.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..check.replay import state_from_dict
from ..vmm import Native, TrapAndEmulate
from .equivalence import compare_views


@dataclass
class WitnessRun:
    unit: str
    mode: str
    diverged: bool
    differences: list


def unsafe_witnesses(report):
    """(unit id, mode, witness) for each sensitive unprivileged unit's placement witnesses."""
    for u in report.units:
        if u.props["sensitive"] != "yes" or u.props["privileged"] != "no":
            continue
        for a in u.answers:
            if a.question == "placement" and a.status == "yes":
                yield u.id, a.modes[0], a.witness


def run_witness(spec, uid, mode, w) -> WitnessRun:
    guest = state_from_dict(w.states[0])
    guest.mem = {a: v for a, v in guest.mem.items() if a < spec.memory.size}  # beyond memory: unobservable
    native = Native(spec, guest)
    vmm = TrapAndEmulate(spec, guest, params=w.params)
    a, b = native.run(1), vmm.run(1)
    diffs = compare_views(spec, native, vmm, a, b)
    return WitnessRun(uid, mode, bool(diffs), diffs)
