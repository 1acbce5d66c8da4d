"""An external oracle: random RV32I programs in Unicorn (QEMU's RISC-V) and in vverify.

Our riscv32 semantics, core and interpreter alike, were written from the
ISA manual; Unicorn was not written by us.  Random user-level programs
(arithmetic, loads and stores, forward branches and jumps) must leave the
same registers, memory and pc in all three.

The example count is bounded for CI; set VVERIFY_UNICORN_EXAMPLES for a
longer run, e.g. ``VVERIFY_UNICORN_EXAMPLES=5000 pytest tests/agreement/test_core_vs_unicorn.py``.
"""

import os

import unicorn  # a declared test dependency: the oracle must never be skipped
from hypothesis import given, settings, strategies as st
from unicorn import riscv_const as rc

from tests.conftest import load
from vverify.core import Core
from vverify.interp import initial_state, run as interp_run

EXAMPLES = int(os.environ.get("VVERIFY_UNICORN_EXAMPLES", "60"))
DATA = 0x8000  # x31 holds the data base and is never written by the programs
MEM = 0x10000

ALU_R = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and"]
ALU_I = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT_I = ["slli", "srli", "srai"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]


def encode(spec, name, **ops):
    instr = spec.instructions[name]
    missing = set(instr.operands) - set(ops)
    assert not missing, (name, missing)
    return instr.encoding.encode({k: v & ((1 << w) - 1) for k, v in ops.items() for w in [instr.operands[k]]})


def other_operand(spec, name, *known):
    """The one operand of ``name`` that is not a register (its immediate)."""
    (imm,) = [o for o in spec.instructions[name].operands if o not in known]
    return imm


@st.composite
def rv32i_program(draw, spec, max_len=24):
    n = draw(st.integers(1, max_len))
    reg = st.integers(1, 30)
    src = st.integers(0, 31)
    words = []
    for i in range(n):
        kind = draw(st.sampled_from(["r", "i", "shift", "lui", "auipc", "load", "store", "branch", "jal"]))
        remaining = n - i  # instructions from here to the end (the end is a valid target)
        if kind == "r":
            words.append(encode(spec, draw(st.sampled_from(ALU_R)), rd=draw(reg), rs1=draw(src), rs2=draw(src)))
        elif kind == "i":
            words.append(encode(spec, draw(st.sampled_from(ALU_I)), rd=draw(reg), rs1=draw(src),
                                imm=draw(st.integers(-2048, 2047))))
        elif kind == "shift":
            name = draw(st.sampled_from(SHIFT_I))
            words.append(encode(spec, name, rd=draw(reg), rs1=draw(src),
                                **{other_operand(spec, name, "rd", "rs1"): draw(st.integers(0, 31))}))
        elif kind in ("lui", "auipc"):
            imm = other_operand(spec, kind, "rd")
            words.append(encode(spec, kind, rd=draw(reg), **{imm: draw(st.integers(0, 2**20 - 1)) << 12}))
        elif kind == "load":
            name = draw(st.sampled_from(sorted(LOADS)))
            size = LOADS[name]
            words.append(encode(spec, name, rd=draw(reg), rs1=31, imm=draw(st.integers(0, 2047 // size)) * size))
        elif kind == "store":
            name = draw(st.sampled_from(sorted(STORES)))
            size = STORES[name]
            words.append(encode(spec, name, rs1=31, rs2=draw(src), imm=draw(st.integers(0, 2047 // size)) * size))
        elif kind == "branch":
            name = draw(st.sampled_from(BRANCHES))
            words.append(encode(spec, name, rs1=draw(src), rs2=draw(src),
                                **{other_operand(spec, name, "rs1", "rs2"): 4 * draw(st.integers(1, remaining))}))
        else:
            words.append(encode(spec, "jal", rd=draw(reg), **{other_operand(spec, "jal", "rd"): 4 * draw(st.integers(1, remaining))}))
    regs = [0] + [draw(st.one_of(st.integers(0, 16), st.integers(0, 2**32 - 1))) for _ in range(30)] + [DATA]
    data = draw(st.binary(min_size=64, max_size=64))
    return words, regs, data


def run_unicorn(words, regs, data):
    mu = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    mu.mem_map(0, MEM)
    code = b"".join(w.to_bytes(4, "little") for w in words)
    mu.mem_write(0, code)
    mu.mem_write(DATA, data)
    for i in range(1, 32):
        mu.reg_write(getattr(rc, f"UC_RISCV_REG_X{i}"), regs[i])
    end = 4 * len(words)
    mu.emu_start(0, end, count=10 * len(words))
    out = [0] + [mu.reg_read(getattr(rc, f"UC_RISCV_REG_X{i}")) for i in range(1, 32)]
    return out, mu.reg_read(rc.UC_RISCV_REG_PC), bytes(mu.mem_read(0, MEM))


def vverify_state(spec, words, regs, data):
    s = initial_state(spec)
    s.regs["mode"] = spec.modes["U"]
    s.files["x"] = list(regs)
    for i, w in enumerate(words):
        for k in range(4):
            s.mem[4 * i + k] = (w >> (8 * k)) & 0xFF
    for k, b in enumerate(data):
        s.mem[DATA + k] = b
    return s


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_rv32i_matches_unicorn(data):
    spec = load("riscv32")
    words, regs, mem = data.draw(rv32i_program(spec), label="program")
    want_regs, want_pc, want_mem = run_unicorn(words, regs, mem)

    s = vverify_state(spec, words, regs, mem)
    # the end of the program holds 0, an illegal instruction: both backends stop there
    got, ex = interp_run(spec, s, 10 * len(words), trap_exits=frozenset(spec.causes))
    assert ex.reason == "illegal", ex
    assert got.files["x"] == want_regs
    assert got.regs["pc"] == want_pc
    assert bytes(got.read_mem(a) for a in range(DATA, DATA + 2048)) == want_mem[DATA:DATA + 2048]

    core = Core(spec) if not hasattr(test_rv32i_matches_unicorn, "core") else test_rv32i_matches_unicorn.core
    test_rv32i_matches_unicorn.core = core
    core.load_state(s)
    cex = core.run(10 * len(words), trap_exits="all")
    assert cex.reason == "illegal"
    assert [int(v) for v in core.F["x"][:32]] == want_regs
    assert core.reg("pc") == want_pc
    assert core.MEM.tobytes() == want_mem
