"""Hypothesis strategies for concrete machine states and operands, derived from a spec."""

from hypothesis import strategies as st

from vverify.interp import MachineState
from vverify.spec.ir import mask


def word(width):
    """Mostly small or boundary values (where instructions branch), sometimes anything."""
    m = mask(width)
    return st.one_of(st.integers(0, min(m, 16)), st.sampled_from(sorted({0, 1, m, m >> 1, (m >> 1) + 1})),
                     st.integers(0, m))


SMALL_FILE = 32  # register files up to this size get a value per entry


@st.composite
def states(draw, spec, mode=None):
    regs = {}
    for name, r in spec.registers.items():
        if name == "mode":
            regs[name] = spec.modes[mode] if mode else draw(st.sampled_from(sorted(spec.modes.values())))
        else:
            regs[name] = draw(word(r.width))
    files = {}
    for name, f in spec.files.items():
        if f.count <= SMALL_FILE:
            vals = [draw(word(f.width)) for _ in range(f.count)]
        else:  # a table (x86's 256 I/O permission bytes): a fill value and a few entries, like memory
            vals = [draw(word(f.width))] * f.count
            for i in draw(st.lists(st.integers(0, f.count - 1), max_size=SMALL_FILE)):
                vals[i] = draw(word(f.width))
        for i, v in f.hardwired.items():
            vals[i] = v
        files[name] = vals
    mem, default = {}, 0
    if spec.memory:
        m = spec.memory
        default = draw(word(m.unit))
        addr = st.one_of(st.integers(0, min(m.size, 64) - 1), st.integers(0, m.size - 1))
        for a in draw(st.lists(addr, max_size=12)):
            mem[a] = draw(word(m.unit))
    return MachineState(regs, files, mem, default)


@st.composite
def operands(draw, instr):
    return {name: draw(word(w)) for name, w in instr.operands.items()}
