"""Replay the solver's witnesses on the reference interpreter.

A "yes" from z3 is only believed once the interpreter, which shares no code
with the z3 model beyond the IR, reproduces it: same traps, and the same
fields differing.  A witness that does not replay means the two backends
disagree about the spec, and the check fails loudly rather than report a
verdict nobody can trust.
"""

from __future__ import annotations

from ..interp import MachineState, step
from ..interp.placement import place, relocate, shift_memory, view_back


class ReplayError(AssertionError):
    """A solver witness that the reference interpreter does not reproduce."""


def state_from_dict(d) -> MachineState:
    return MachineState(dict(d["regs"]), {k: list(v) for k, v in d["files"].items()},
                        {int(a): v for a, v in d["mem"].items()}, d.get("mem_default", 0))


def data_diff(spec, a: MachineState, b: MachineState, skip=()) -> list:
    out = []
    for n, r in spec.registers.items():
        if r.data_mask and n not in skip and (a.regs[n] & r.data_mask) != (b.regs[n] & r.data_mask):
            out.append(n)
    for n in spec.files:
        if a.files[n] != b.files[n]:
            out.append(n)
    if spec.memory and not a.same_memory(b):
        out.append("memory")
    return out


def control_diff(spec, a: MachineState, b: MachineState, only=None) -> list:
    return [n for n, r in spec.registers.items()
            if r.control_mask and (only is None or n in only)
            and (a.regs[n] & r.control_mask) != (b.regs[n] & r.control_mask)]


def _outcome(o) -> str:
    return f"trap:{o.cause}" if o.kind == "trap" else o.kind


def _expect(cond, msg):
    if not cond:
        raise ReplayError(msg)


def replay(spec, instruction: str, w) -> list:
    """Re-run witness ``w`` of ``instruction`` on the interpreter.

    Returns the differing fields the interpreter observed; raises
    :class:`ReplayError` when the interpreter does not reproduce the
    solver's claim.
    """
    ops = w.operands
    states = [state_from_dict(s) for s in w.states]
    g = states[0]
    q = w.question
    if q in ("runs_in_user", "runs_in_supervisor", "control"):
        n, o = step(spec, g, instruction, ops)
        _expect([_outcome(o)] == w.outcomes[:1], f"{q}: interpreter outcome {_outcome(o)}, solver {w.outcomes[:1]}")
        if q == "runs_in_user":
            _expect(not (o.trapped and spec.causes[o.cause].kind in ("privilege", "memory")),
                    "runs_in_user: the interpreter traps for privilege or memory")
            return []
        _expect(not o.stopped, f"{q}: the interpreter traps or exits")
        if q == "runs_in_supervisor":
            return []
        diff = control_diff(spec, g, n)
    elif q == "mode":
        n1, o1 = step(spec, g, instruction, ops)
        n2, o2 = step(spec, states[1], instruction, ops)
        _expect([_outcome(o1), _outcome(o2)] == w.outcomes, f"mode: outcomes {_outcome(o1)}, {_outcome(o2)} vs solver {w.outcomes}")
        n2 = view_back(spec, g, states[1], n2)  # the second state's banked copies followed its mode
        diff = data_diff(spec, n1, n2) + (["halted"] if (o1.kind == "halt") != (o2.kind == "halt") else [])
    elif q == "location":
        n, o = step(spec, g, instruction, ops)
        r, off = relocate(spec, g, w.params)
        nr, orr = step(spec, r, instruction, ops)
        _expect([_outcome(o), _outcome(orr)] == w.outcomes, f"location: outcomes {_outcome(o)}, {_outcome(orr)} vs solver {w.outcomes}")
        back = view_back(spec, g, r, shift_memory(spec, nr, -off) if off else nr)
        diff = data_diff(spec, n, back) + (["halted"] if (o.kind == "halt") != (orr.kind == "halt") else [])
    elif q == "placement":
        mode = w.modes[0]
        n, o = step(spec, g, instruction, ops)
        p0, off = place(spec, g, w.params, mode)
        p, op = step(spec, p0, instruction, ops)
        _expect([_outcome(o), _outcome(op)] == w.outcomes, f"placement: outcomes {_outcome(o)}, {_outcome(op)} vs solver {w.outcomes}")
        hw = spec.virtualization.hardware_assist  # guest traps stay in the guest: only an exit reaches the VMM
        _expect(not (op.exited if hw else op.stopped), "placement: the placed run reaches the VMM in the interpreter")
        back = view_back(spec, g, p0, shift_memory(spec, p, -off) if off else p)
        held = set(spec.virtualization.guest_held(spec.registers))
        owned = [k for k in spec.registers if k not in held]
        diff = (data_diff(spec, n, back) + [f"{k} (control)" for k in control_diff(spec, n, g, owned)]
                + [f"{k} (guest copy)" for k in control_diff(spec, n, back, held)])
        if (o.kind == "halt") != (op.kind == "halt"):
            diff.append("halted")
        if (o.trapped != op.trapped or (o.trapped and o.cause != op.cause)) if hw else o.trapped:
            diff.append("trap")
        if o.stopped and not o.trapped:
            diff.append("exit")
    elif q == "timing":
        mode = w.modes[0]
        timing = {r.name for r in spec.timing_registers}
        runs = []
        for st in states:
            p0, off = place(spec, st, w.params, mode)
            p, op = step(spec, p0, instruction, ops)
            _expect(not op.stopped, "timing: a placed run traps or exits in the interpreter")
            runs.append((view_back(spec, st, p0, shift_memory(spec, p, -off) if off else p), op))
        diff = data_diff(spec, runs[0][0], runs[1][0], skip=timing)
        if (runs[0][1].kind == "halt") != (runs[1][1].kind == "halt"):
            diff.append("halted")
    else:
        raise ReplayError(f"unknown question {q!r}")
    _expect(diff, f"{q}: the interpreter sees no difference (solver: {', '.join(w.fields) or 'none'})")
    _expect(sorted(diff) == sorted(w.fields), f"{q}: interpreter differs in {sorted(diff)}, solver in {sorted(w.fields)}")
    return diff
