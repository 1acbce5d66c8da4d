"""The interrupt and time parts of the spec language (docs/interrupts.md, section 1.2), and their errors.

tests/agreement/data/lang_irq.toml uses every construct: a cause of kind ``interrupt``, the boundary
program with ``interrupt(cause)`` and ``vmexit``, ``[time]`` counters with a deadline (which defines
``timer_due()``), ``store_fault`` and a device window.  Each error below is one mutation of that file:
it must come out as one line naming the file, the part of the spec and the line of the mistake, and
through the command line as exit code 2 with no traceback.
"""

from __future__ import annotations

import pytest

from tests.conftest import spec_path
from vverify.errors import SpecError
from vverify.spec import ir
from vverify.spec.loader import load_spec

IRQ = spec_path("lang_irq")


def test_the_language_spec_loads_with_every_construct():
    spec = load_spec(IRQ)
    assert {n for n, c in spec.causes.items() if c.kind == "interrupt"} == {"timer", "soft"}
    assert spec.memory.fault_of(False) == "bus" and spec.memory.fault_of(True) == "bus_store"
    (dev,) = spec.devices
    assert (dev.base, dev.size, dev.modes) == (0xF000, 0x10, (spec.modes["sup"],))
    assert dev.registers == ((0, "tcmp", 2), (2, "dev", 1), (4, "tick", 2))  # 32-bit registers take two units
    assert spec.time.steps == ("tick",) and spec.time.retired == ("ret",)
    assert "timer_due" in spec.namespace.helpers
    raised = {s.cause for s in ir.walk_stmts(spec.boundary_body) if isinstance(s, ir.Interrupt)}
    assert raised == {"timer", "soft"}
    # what the boundary reads, timer_due()'s registers included: nothing else can change what it does
    assert spec.boundary_inputs == {"mode", "ien", "shadow", "vmx", "swi", "tick", "tcmp", "quiet"}


def test_a_spec_without_the_constructs_has_none_of_them():
    spec = load_spec(spec_path("pg74"))
    assert spec.boundary_body == () and spec.boundary_inputs == frozenset()
    assert spec.time is None and spec.devices == () and spec.memory.store_fault is None


# (name, text of lang_irq.toml replaced, its replacement, where the error is, what it says[, the text on
# the line it is reported at, when not the replacement's first line])
_CASES = [
    ("interrupt-in-instruction", 'semantics = "swi = 1"', 'semantics = "interrupt(soft)"',
     "instruction 'setswi'", "interrupt() outside [interrupts] boundary"),
    ("trap-of-interrupt-cause", "trap(call, zext(n, 16))", "trap(timer)",
     "instruction 'svc'", "cause 'timer' has kind 'interrupt'"),
    ("interrupt-of-exception", "    interrupt(soft)", "    interrupt(call)",
     "interrupts boundary", "cause 'call' does not have kind 'interrupt'"),
    ("interrupt-unknown-cause", "    interrupt(soft)", "    interrupt(nmi)",
     "interrupts boundary", "unknown trap cause 'nmi'"),
    ("boundary-loads", "    swi = 0\n", "    swi = load(ptr, 1)[0]\n",
     "interrupts boundary", "the boundary program reads memory"),
    ("boundary-stores", "    swi = 0\n", "    store(ptr, 1, acc)\n",
     "interrupts boundary", "the boundary program writes memory"),
    ("boundary-reads-pc", "on = mode == usr or ien == 1", "on = pc == 0",
     "interrupts boundary", "the boundary program reads pc"),
    ("boundary-writes-pc", "    swi = 0\n", "    pc = 0\n",
     "interrupts boundary", "the boundary program writes pc"),
    ("boundary-halts", "    vmexit(1)", "    halt()",
     "interrupts boundary", "the boundary program halts"),
    ("boundary-traps", "    vmexit(1)", "    trap(call)",
     "interrupts boundary", "the boundary program traps"),
    ("boundary-hypercall", "    vmexit(1)", "    hypercall(1)",
     "interrupts boundary", "makes a hypercall()"),
    ("cause-kind", 'soft = { code = 0x8002, kind = "interrupt" }', 'soft = { code = 0x8002, kind = "irq" }',
     "traps", "is not one of"),
    ("time-unknown", 'retired = ["ret"]', 'retired = ["nope"]', "time", "'nope', which is not a state register"),
    ("time-twice", 'retired = ["ret"]', 'retired = ["tick"]', "time", "'tick' is listed twice"),
    ("time-key", 'retired = ["ret"]', 'retired = ["ret"]\nper = ["ret"]', "time", "unknown key 'per'", "per = "),
    ("deadline-not-counting", 'timer = { counter = "tick"', 'timer = { counter = "acc"',
     "time", "counter 'acc' is not listed in [time]"),
    ("deadline-widths", 'compare = "tcmp", disarmed', 'compare = "ecause", disarmed',
     "time", "they must be as wide"),
    ("deadline-compare-counts", 'compare = "tcmp", disarmed', 'compare = "ret", disarmed',
     "time", "compare 'ret' is itself a counter"),
    ("deadline-disarmed", "disarmed = 0xFFFFFFFF }", "disarmed = 0x1FFFFFFFF }",
     "time", "disarmed value does not fit in 32 bits"),
    ("deadline-helper-clash", "def supervisor_only():", "def timer_due() -> bool:\n    return acc == 0\n\ndef supervisor_only():",
     "time", "helper 'timer_due', but 'timer_due' is already declared", "timer = {"),
    ("store-fault-undeclared", 'store_fault = "bus_store"', 'store_fault = "nosuch"',
     "state", "store fault cause 'nosuch' is not declared"),
    ("store-fault-interrupt", 'store_fault = "bus_store"', 'store_fault = "timer"',
     "state", "store fault cause 'timer' has kind 'interrupt'"),
    ("fault-interrupt", 'fault = "bus"', 'fault = "soft"', "state", "fault cause 'soft' has kind 'interrupt'"),
    ("store-fault-full-memory", "size = 0xF000\n", "\n", "state", "this memory fills its address space"),
    ("device-in-memory", "base = 0xF000", "base = 0xE000", "state", "device 'timer': the window starts at 0xe000, inside memory"),
    ("device-past-space", "size = 0x10\n", "size = 0x1001\n", "state", "leaves the 16-bit address space"),
    ("device-mode", 'modes = ["sup"]', 'modes = ["sup", "hyp"]', "state", "'hyp' is not a declared mode"),
    ("device-no-mode", 'modes = ["sup"]', "modes = []", "state", "list at least one mode"),
    ("device-register", '0x2 = "dev"', '0x2 = "devx"', "state", "names 'devx', which is not a state register"),
    ("device-pc", '0x2 = "dev"', '0x2 = "pc"', "state", "names 'pc', which is not a state register"),
    ("device-offset", '0x2 = "dev"', 'zz = "dev"', "state", "'zz' is not an offset"),
    ("device-register-past-end", '0x4 = "tick"', '0xF = "tick"', "state", "'tick' takes 2 memory units from offset 0xf"),
    ("device-registers-overlap", '0x2 = "dev"', '0x1 = "dev"', "state", "'dev' at offset 0x1 overlaps 'tcmp'"),
    ("device-key", 'modes = ["sup"]', 'modes = ["sup"]\nirq = 3', "state", "unknown key 'irq'", "irq = 3"),
    ("interrupts-key", 'boundary = """', 'latency = 3\nboundary = """', "interrupts", "unknown key 'latency'"),
]
CASES = [c if len(c) == 6 else c + (None,) for c in _CASES]


def _mutated(tmp_path, old, new, at=None):
    text = IRQ.read_text()
    assert text.count(old) >= 1, old
    i = text.index(old)
    p = tmp_path / "lang_irq.toml"
    out = text[:i] + new + text[i + len(old):]
    p.write_text(out)
    if at is not None:
        return p, out[:out.index(at)].count("\n") + 1  # its first occurrence
    # the line of the mutation: where the replacement's first non-blank line is
    first = next((k for k, line in enumerate(new.split("\n")) if line.strip()), 0)
    return p, text[:i].count("\n") + 1 + first


@pytest.mark.parametrize("name,old,new,where,says,at", CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_one_line_at_its_place(tmp_path, name, old, new, where, says, at):
    p, line = _mutated(tmp_path, old, new, at)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    err = e.value
    assert says in err.message, err.one_line()
    assert err.where == where, err.one_line()
    assert err.path == str(p) and "\n" not in err.one_line()
    if name in ("store-fault-full-memory", "device-in-memory", "device-past-space"):
        return  # reported at a key of the table the mutation changed, not at the mutated line itself
    assert err.line == line, err.one_line()


@pytest.mark.parametrize("name,old,new,where,says,at", CASES, ids=[c[0] for c in CASES])
def test_through_the_command_line_one_line_and_exit_2(tmp_path, capsys, name, old, new, where, says, at):
    from vverify.cli.main import main

    p, line = _mutated(tmp_path, old, new, at)
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vverify: {p}:") and says in err[0], err
    assert "Traceback" not in err[0]
