"""Replay the solver's witnesses on the reference interpreter.

A "yes" from z3 is only believed once the interpreter, which shares no code
with the z3 model beyond the IR, reproduces it: same traps, and the same
fields differing.  A witness that does not replay means the two backends
disagree about the spec, and the check fails loudly rather than report a
verdict nobody can trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..interp import MachineState, mmu_view, step
from ..vocabulary import PRESENTED_MODE
from ..interp.placement import place, relocate, shift_memory, view_back
from ..spec.ir import mask


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


@dataclass
class Rerun:
    """What the reference interpreter makes of a witness.

    ``runs``: each run's :class:`~vverify.interp.Outcome`; ``outcomes``: the
    same as the witness writes them (``ok``, ``trap:cause``...).  The question
    compares two sides (the native and the placed run, the runs in two
    modes, the state before and after...), named by ``labels``.  ``fields``:
    what differs, in the solver's names (``acc``, ``r``, ``memory``, ``mode
    (control)``; ``halted``, ``trap`` or ``exit`` where the runs' outcomes
    differ that way); ``pairs``: for each field but those three, the register,
    file or memory compared and the two states it was compared on.
    ``seen``: every register, file entry and memory unit the runs read or
    wrote (see vverify.interp.step).
    """

    question: str
    runs: tuple
    labels: tuple
    fields: list = field(default_factory=list)
    pairs: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)

    @property
    def outcomes(self) -> list:
        return [_outcome(o) for o in self.runs]

    def compare(self, a: MachineState, b: MachineState, names) -> None:
        """Note ``names`` (fields that differ between ``a`` and ``b``) as differing."""
        for n in names:
            self.pairs[n] = (n.partition(" (")[0], a, b)
            self.fields.append(n)

    def note_outcomes(self, a, b, hw=None) -> None:
        """The outcome fields: ``halted`` when one run halts and the other not; for placement (``hw``
        given) ``trap`` when the guest's trap is lost or changed, ``exit`` when the native run exits."""
        if (a.kind == "halt") != (b.kind == "halt"):
            self.fields.append("halted")
        if hw is None:
            return
        if (a.trapped != b.trapped or (a.trapped and a.cause != b.cause)) if hw else a.trapped:
            self.fields.append("trap")
        if a.stopped and not a.trapped:
            self.fields.append("exit")


def rerun(spec, instruction: str, w) -> Rerun:
    """Re-run witness ``w`` of ``instruction`` on the interpreter: what each run did, and what differs
    (nothing is checked here: :func:`replay` does that)."""
    ops = w.operands
    states = [state_from_dict(s) for s in w.states]
    g = states[0]
    q = w.question
    seen: set = set()

    vm = spec.virtualization
    mmu = vm.mmu if vm is not None else None

    def run(st, off=0, presented=None):
        """Step ``st``; note what it touched, its memory seen from the guest (moved back by ``off``).
        ``presented``: the translation state a virtualized MMU shows the instruction (the classifier's
        rule, vverify.formal.classify)."""
        touched: set = set()
        out = step(spec, st, instruction, ops, touched, presented)
        for t in touched:
            seen.add(("mem", (t[1] - off) & mask(spec.memory.address)) if t[0] == "mem" and off else t)
        return out

    def shadowed(st):
        """Under shadow paging a placed run translates as the guest ``st`` does in its own mode."""
        return mmu_view(spec, st, st.regs["mode"]) if mmu is not None and mmu.kind == "shadow" else None

    if q in ("runs_in_user", "runs_in_supervisor", "control"):
        n, o = run(g)
        rr = Rerun(q, (o,), ("before", "after"), seen=seen)
        if q == "control" and not o.stopped:
            rr.compare(g, n, control_diff(spec, g, n))
    elif q == "mode":
        presented = mmu_view(spec, g, w.params[PRESENTED_MODE]) if mmu else None
        (n1, o1), (n2, o2) = run(g, 0, presented), run(states[1], 0, presented)
        n2 = view_back(spec, g, states[1], n2)  # the second state's banked copies followed its mode
        rr = Rerun(q, (o1, o2), tuple(f"in mode {m}" for m in w.modes), seen=seen)
        rr.compare(n1, n2, data_diff(spec, n1, n2))
        rr.note_outcomes(o1, o2)
    elif q == "location":
        n, o = run(g)
        r, off = relocate(spec, g, w.params)
        nr, orr = run(r, off)
        back = view_back(spec, g, r, shift_memory(spec, nr, -off) if off else nr)
        rr = Rerun(q, (o, orr), ("native", "relocated"), seen=seen)
        rr.compare(n, back, data_diff(spec, n, back))
        rr.note_outcomes(o, orr)
    elif q == "placement":
        n, o = run(g)
        p0, off = place(spec, g, w.params, w.modes[0])
        p, op = run(p0, off, shadowed(g))
        back = view_back(spec, g, p0, shift_memory(spec, p, -off) if off else p)
        held = set(spec.virtualization.guest_held(spec.registers))
        owned = [k for k in spec.registers if k not in held]
        rr = Rerun(q, (o, op), ("native", "placed"), seen=seen)
        rr.compare(n, back, data_diff(spec, n, back))
        # the VMM's own control registers: the guest's view of them stays as it was (the VMM never
        # saw the instruction), so the native run is compared with the state before it
        rr.compare(n, g, [f"{k} (control)" for k in control_diff(spec, n, g, owned)])
        rr.compare(n, back, [f"{k} (guest copy)" for k in control_diff(spec, n, back, held)])
        rr.note_outcomes(o, op, spec.virtualization.hardware_assist)
    elif q == "timing":
        timing = {r.name for r in spec.timing_registers}
        after = []
        for st in states:
            p0, off = place(spec, st, w.params, w.modes[0])
            p, op = run(p0, off, shadowed(st))
            after.append((view_back(spec, st, p0, shift_memory(spec, p, -off) if off else p), op))
        (a, oa), (b, ob) = after
        rr = Rerun(q, (oa, ob), ("from state 1", "from state 2"), seen=seen)
        rr.compare(a, b, data_diff(spec, a, b, skip=timing))
        rr.note_outcomes(oa, ob)
    else:
        raise ReplayError(f"unknown question {q!r}")
    return rr


def replay(spec, instruction: str, w) -> list:
    """Re-run witness ``w`` of ``instruction`` on the interpreter.

    Returns the differing fields the interpreter observed; raises
    :class:`ReplayError` when the interpreter does not reproduce the
    solver's claim.
    """
    q = w.question
    rr = rerun(spec, instruction, w)
    if q in ("runs_in_user", "runs_in_supervisor", "control"):
        o = rr.runs[0]
        _expect(rr.outcomes == w.outcomes[:1], f"{q}: interpreter outcome {rr.outcomes[0]}, solver {w.outcomes[:1]}")
        if q == "runs_in_user":
            _expect(not (o.trapped and spec.causes[o.cause].kind in ("privilege", "memory")),
                    "runs_in_user: the interpreter traps for privilege or memory")
            return []
        _expect(not o.stopped, f"{q}: the interpreter traps or exits")
        if q == "runs_in_supervisor":
            return []
    elif q == "timing":
        _expect(not any(o.stopped for o in rr.runs), "timing: a placed run traps or exits in the interpreter")
    else:
        _expect(rr.outcomes == w.outcomes, f"{q}: outcomes {', '.join(rr.outcomes)} vs solver {w.outcomes}")
        if q == "placement":
            hw = spec.virtualization.hardware_assist  # guest traps stay in the guest: only an exit reaches the VMM
            op = rr.runs[1]
            _expect(not (op.exited if hw else op.stopped),
                    "placement: the placed run reaches the VMM in the interpreter")
    diff = rr.fields
    _expect(diff, f"{q}: the interpreter sees no difference (solver: {', '.join(w.fields) or 'none'})")
    _expect(sorted(diff) == sorted(w.fields), f"{q}: interpreter differs in {sorted(diff)}, solver in {sorted(w.fields)}")
    return diff
