"""A machine small enough to write inline: the core tests build one spec per question they ask.

``tiny_spec(tmp_path, semantics=..., encoding=...)`` writes a one-file spec
(16-bit pc, four 16-bit registers ``r``, a register ``sel`` of two bits,
memory of ``unit``-bit units, one cause ``svc``) plus whatever instructions
are given, and loads it.  ``run_both`` runs a program on the reference
interpreter and on the core from the same state, so a test can say in one
line that the two agree.
"""

from __future__ import annotations

from vverify.core import Core
from vverify.interp import initial_state, run as interp_run
from vverify.spec.loader import load_spec

_TEMPLATE = '''
[isa]
name = "{name}"
title = "a machine built by a core test"
summary = "one instruction under test"

[state]
pc = 16
modes = {{ s = 0, u = 1 }}
supervisor = ["s"]
user = ["u"]
initial_mode = "s"

[state.registers]
sel = 2

[state.files.r]
count = 4
width = 16

[state.memory]
unit = {unit}
address = 16
{memory}

[traps]
code = {code}
tval = {tval}
entry = """
pc = 0
"""

[traps.causes]
svc = {{ code = {svc}, kind = "call" }}
privileged = {{ code = 1, kind = "privilege" }}
{causes}

[operands]
rd = {{ kind = "reg", file = "r" }}
a = {{ kind = "imm" }}

{helpers}

[instructions.t]
encoding = "{encoding}"
semantics = """
{semantics}
"""
{more}
'''


def tiny_spec(tmp_path, semantics="r[rd] = r[rd]", encoding="1111 rd:2 a:10", *, unit=16, code=16, tval=16, svc=3,
              helpers="", memory="", causes="", more="", name="tiny"):
    text = _TEMPLATE.format(name=name, unit=unit, code=code, tval=tval, svc=svc, encoding=encoding,
                            semantics=semantics, helpers=f'[helpers]\ncode = """\n{helpers}\n"""' if helpers else "",
                            memory=memory, causes=causes, more=more)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_spec(path)


def state_with(spec, words, files=None, regs=None):
    """The interpreter's initial state with ``words`` (one per memory unit) from address 0."""
    s = initial_state(spec)
    for i, w in enumerate(words):
        s.mem[i] = w
    if files:
        s.files["r"] = list(files)
    s.regs.update(regs or {})
    return s


def run_both(spec, state, budget=1, trap_exits=frozenset(), jit=False):
    """Run ``state`` for ``budget`` instructions on the interpreter and on a fresh core.

    Returns ``((interpreter state, exit), (core state, exit))``.
    """
    want = interp_run(spec, state, budget, trap_exits=frozenset(trap_exits))
    core = Core(spec, jit=jit)
    core.load_state(state)
    ex = core.run(budget, trap_exits=set(trap_exits))
    return want, (core.to_state(default=state.mem_default), ex)


def words_of(value: int, units: int, unit: int) -> list:
    """``value`` as ``units`` little-endian memory units of ``unit`` bits (how the machine fetches it)."""
    return [(value >> (k * unit)) & ((1 << unit) - 1) for k in range(units)]
