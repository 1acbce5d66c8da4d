"""What a witness shows, in the terms a reader needs: which fields differ after the instruction ran,
with both values, and which fields of its states matter.

A witness is the solver's model: the state(s) before the instruction, its
operands and the map's parameters.  What it shows (the native run and the
placed one disagree, say) only appears once it is run, so this re-runs it
on the reference interpreter (:func:`vverify.check.replay.rerun`, the very
runs the replay checks) and reads the differences off the states after the
instruction: ``acc`` is 0x0 natively and 0xffff relocated, not "differs in
acc".  The fields that matter are those the runs read or wrote, those the
question itself reads (the registers the map relocates or shadows, the
timing registers) and those that differ; ``vverify explain`` shows states
by these alone unless asked for ``--full``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spec import ir
from .replay import Rerun, rerun

MAX_CELLS = 8  # memory units listed per differing memory, the rest counted


@dataclass
class Difference:
    """One field that differs after the instruction: a register (``register`` names it, for
    formatting), a file entry ``r[1]``, a memory unit ``memory[0x10]``, or ``outcome``; ``a`` and ``b``
    are its values on the two sides the question compares (``labels``), ints or outcome words."""

    name: str
    a: object
    b: object
    register: str | None = None


@dataclass
class WitnessView:
    labels: tuple  # the two sides compared: ("native", "relocated"), ("before", "after")...
    outcomes: list  # each run's outcome: ok, trap:cause, halt...
    differences: list = field(default_factory=list)  # [Difference]
    more: int = 0  # differing memory units not listed
    registers: list = field(default_factory=list)  # the registers that matter, in the spec's order
    entries: dict = field(default_factory=dict)  # file -> sorted indices that matter
    cells: list = field(default_factory=list)  # memory units that matter, sorted


def view(spec, instruction: str, w) -> WitnessView | None:
    """The witness ``w`` of ``instruction`` as the interpreter runs it; None when it cannot be re-run
    (the check reports that as a backend disagreement)."""
    try:
        rr = rerun(spec, instruction, w)
    except Exception:  # noqa: BLE001 - a witness the interpreter cannot run is shown without values
        return None
    out = WitnessView(rr.labels, rr.outcomes)
    for f in rr.fields:
        if f in rr.pairs:
            _differences(spec, out, f, *rr.pairs[f])
    if any(f in ("halted", "trap", "exit") for f in rr.fields) and len(rr.outcomes) == 2:
        out.differences.append(Difference("outcome", *rr.outcomes))
    _relevant(spec, w, rr, out)
    return out


def _differences(spec, out: WitnessView, name: str, key: str, a, b) -> None:
    if key in spec.registers:
        out.differences.append(Difference(name, a.regs[key], b.regs[key], register=key))
    elif key in spec.files:
        for i, (x, y) in enumerate(zip(a.files[key], b.files[key])):
            if x != y:
                out.differences.append(Difference(f"{key}[{i}]", x, y))
    elif key == "memory":
        addrs = sorted({*a.mem, *b.mem}) if a.mem_default == b.mem_default else []
        differ = [m for m in addrs if a.read_mem(m) != b.read_mem(m)]
        if a.mem_default != b.mem_default:
            out.differences.append(Difference("memory (every unit not listed)", a.mem_default, b.mem_default))
        for m in differ[:MAX_CELLS]:
            out.differences.append(Difference(f"memory[{m:#x}]", a.read_mem(m), b.read_mem(m)))
        out.more += max(0, len(differ) - MAX_CELLS)


def _pure_regs(pure) -> set:
    if pure is None:
        return set()
    nodes = list(ir.walk_exprs(pure.prelude)) + list(_expr_nodes(pure.expr))
    return {e.name for e in nodes if isinstance(e, ir.Reg)}


def _expr_nodes(e):
    yield e
    for c in ir.expr_children(e):
        yield from _expr_nodes(c)


def question_registers(spec, question: str) -> set:
    """The registers a question reads beyond the instruction's own: what the map relocates and
    shadows, and what its expressions read, for the questions that place the guest; the timing
    registers for timing."""
    vm = spec.virtualization
    regs = {"pc", "mode"}
    if vm is not None and question in ("location", "placement", "timing"):
        exprs = [vm.memory_offset, vm.assume, *vm.relocate.values()]
        regs |= set(vm.relocate)
        if question != "location":
            exprs += list(vm.shadow.values())
            regs |= set(vm.shadow)
        for pe in exprs:
            regs |= _pure_regs(pe)
    if question == "timing":
        regs |= {r.name for r in spec.timing_registers}
    return regs


def _relevant(spec, w, rr: Rerun, out: WitnessView) -> None:
    regs = question_registers(spec, w.question) | {k for kind, k, *_ in rr.seen if kind == "reg"}
    regs |= {d.register for d in out.differences if d.register}
    out.registers = [r for r in spec.registers if r in regs]
    entries: dict = {}
    for kind, *rest in rr.seen:
        if kind == "file":
            entries.setdefault(rest[0], set()).add(rest[1])
    for d in out.differences:
        name, _, idx = d.name.partition("[")
        if name in spec.files:
            entries.setdefault(name, set()).add(int(idx.rstrip("]")))
    out.entries = {f: sorted(entries[f]) for f in spec.files if f in entries}
    cells = {rest[0] for kind, *rest in rr.seen if kind == "mem"}
    cells |= {int(d.name[len("memory["):-1], 16) for d in out.differences if d.name.startswith("memory[")}
    out.cells = sorted(cells)
