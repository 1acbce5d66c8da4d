"""Hypothesis strategies for concrete machine states and operands, derived from a spec."""

from hypothesis import strategies as st

from vverify.interp import LeaveGuest, MachineState, Trap, fetch
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


@st.composite
def programs(draw, spec, length=12):
    """Instruction words of any of the spec's instructions with any operands, one in ten a random word."""
    words = []
    names = sorted(spec.instructions)
    for _ in range(length):
        if draw(st.integers(0, 9)) == 0:
            words.append(draw(st.integers(0, (1 << (spec.max_ilen_units * spec.memory.unit)) - 1)))
            continue
        instr = spec.instructions[draw(st.sampled_from(names))]
        ops = {n: draw(word(w)) for n, w in instr.operands.items()}
        words.append(instr.encoding.encode(ops))
    return words


def place(spec, state, words):
    """Write the program where the initial state will fetch from (or at pc)."""
    try:
        addr, _ = fetch(spec, state)
    except (Trap, LeaveGuest):  # the fetch traps or exits: the program goes at pc anyway
        addr = state.regs["pc"]
    m = spec.memory
    n = spec.max_ilen_units
    for i, w in enumerate(words):
        for k in range(n):
            a = (addr + i * n + k) % (1 << m.address)
            if a < m.size:
                state.mem[a] = (w >> (k * m.unit)) & ((1 << m.unit) - 1)


@st.composite
def running_states(draw, spec):
    """A random state with a random program where it will fetch from next (memory inside the machine's)."""
    s = draw(states(spec))
    s.mem = {a: v for a, v in s.mem.items() if a < spec.memory.size}
    place(spec, s, draw(programs(spec)))
    return s
