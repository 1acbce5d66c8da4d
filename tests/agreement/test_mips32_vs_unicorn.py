"""An external oracle for mips32: random MIPS32 Release 6 programs in Unicorn (QEMU's MIPS32R6-generic)
and in vverify.

The mips32 semantics, core and interpreter alike, were written from the
MIPS manuals; Unicorn was not written by us.  Random kernel-mode programs of
ordinary instructions (arithmetic, multiplies, shifts, loads and stores,
forward compact branches of every Release 6 form the spec decodes) must
leave the same registers, memory and pc in all three.  Both machines start
as after reset, in kernel mode with Status.ERL = 1, where kuseg is unmapped
(physical = virtual): the programs run and address memory there.

Not drawn: ADD/SUB (their overflow trap), TEQ/TNE, the CP0 instructions and
anything that traps, whose exception delivery the two model differently;
and a control transfer in the forbidden slot of a conditional compact
branch, which QEMU rejects and the spec does not model (see its header).

The example count is bounded for CI; set VVERIFY_UNICORN_EXAMPLES for a
longer run, e.g. ``VVERIFY_UNICORN_EXAMPLES=5000 pytest tests/agreement/test_mips32_vs_unicorn.py``.
"""

import os

import unicorn  # a declared test dependency: the oracle must never be skipped
from hypothesis import given, settings, strategies as st
from unicorn import mips_const as mc

from tests.conftest import load
from vverify.core import Core
from vverify.interp import initial_state, run as interp_run

EXAMPLES = int(os.environ.get("VVERIFY_UNICORN_EXAMPLES", "60"))
ORIGIN = 0x1000  # where the program starts
DATA = 0x8000  # s7 holds the data base and is never written by the programs
BASE = 23  # s7
MEM = 0x10000

ALU_R = ["addu", "subu", "and", "or", "xor", "nor", "slt", "sltu", "sllv", "srlv", "srav", "mul", "muh", "mulu",
         "muhu"]
ALU_I = ["addiu", "slti", "sltiu"]
ALU_U = ["andi", "ori", "xori", "aui"]
SHIFT = ["sll", "srl", "sra"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}
POPS = ["beqc", "bnec", "bgec", "bltc"]  # each decodes several Release 6 branches by its register fields


def encode(spec, name, **ops):
    instr = spec.instructions[name]
    missing = set(instr.operands) - set(ops)
    assert not missing, (name, missing)
    return instr.encoding.encode({k: v & ((1 << w) - 1) for k, v in ops.items() for w in [instr.operands[k]]})


@st.composite
def r6_program(draw, spec, max_len=24):
    n = draw(st.integers(1, max_len))
    dest = st.integers(1, 31).filter(lambda r: r != BASE)
    src = st.integers(0, 31)
    words = []
    forbidden = False  # the previous instruction was a conditional compact branch
    for i in range(n):
        kinds = ["r", "i", "u", "shift", "load", "store"] + ([] if forbidden else ["pop", "zero", "bc", "balc"])
        kind = draw(st.sampled_from(kinds))
        remaining = n - i  # instructions from here to the end (the end is a valid target)
        forbidden = kind in ("pop", "zero")
        words_to = draw(st.integers(0, remaining - 1))  # a forward target: the offset from the next one, in words
        if kind == "r":
            words.append(encode(spec, draw(st.sampled_from(ALU_R)), rd=draw(dest), rs=draw(src), rt=draw(src)))
        elif kind == "i":
            words.append(encode(spec, draw(st.sampled_from(ALU_I)), rt=draw(dest), rs=draw(src),
                                imm=draw(st.integers(-0x8000, 0x7FFF))))
        elif kind == "u":
            words.append(encode(spec, draw(st.sampled_from(ALU_U)), rt=draw(dest), rs=draw(src),
                                uimm=draw(st.integers(0, 0xFFFF))))
        elif kind == "shift":
            words.append(encode(spec, draw(st.sampled_from(SHIFT)), rd=draw(dest), rt=draw(src),
                                sa=draw(st.integers(0, 31))))
        elif kind == "load":
            name = draw(st.sampled_from(sorted(LOADS)))
            size = LOADS[name]
            words.append(encode(spec, name, rt=draw(dest), base=BASE, off=draw(st.integers(0, 2047 // size)) * size))
        elif kind == "store":
            name = draw(st.sampled_from(sorted(STORES)))
            size = STORES[name]
            words.append(encode(spec, name, rt=draw(src), base=BASE, off=draw(st.integers(0, 2047 // size)) * size))
        elif kind == "pop":
            name = draw(st.sampled_from(POPS))
            rs, rt = draw(src), draw(src)
            if name in ("bgec", "bltc") and rt == 0:
                rt = 1  # reserved there (a Reserved Instruction exception)
            if name in ("beqc", "bnec") and rs == rt == 0:
                rt = 1  # BOVC/BNVC zero, zero: QEMU also writes ra there, which the manual's table does not
            words.append(encode(spec, name, rs=rs, rt=rt, broff=4 * words_to))
        elif kind == "zero":  # BEQZC / BNEZC: POP66 / POP76 with rs != 0, a 21-bit offset in rt and imm
            name = draw(st.sampled_from(["jic", "jialc"]))
            words.append(encode(spec, name, rs=draw(st.integers(1, 31)), rt=0, imm=words_to))
        else:  # bc, balc (unconditional: no forbidden slot)
            words.append(encode(spec, kind, jmpoff=4 * words_to))
    regs = [0] + [draw(st.one_of(st.integers(0, 16), st.integers(0, 2**32 - 1))) for _ in range(31)]
    regs[BASE] = DATA
    data = draw(st.binary(min_size=64, max_size=64))
    return words, regs, data


def run_unicorn(words, regs, data):
    mu = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_LITTLE_ENDIAN)
    mu.ctl_set_cpu_model(mc.UC_CPU_MIPS32_MIPS32R6_GENERIC)
    mu.mem_map(0, MEM)
    mu.mem_write(ORIGIN, b"".join(w.to_bytes(4, "little") for w in words))
    mu.mem_write(DATA, data)
    for i in range(1, 32):
        mu.reg_write(getattr(mc, f"UC_MIPS_REG_{i}"), regs[i])
    end = ORIGIN + 4 * len(words)
    ran = []  # the address of every instruction Unicorn runs (its PC register is not kept up to date
    # when a run stops at its end address, so the path is read from a code hook instead)

    def hook(uc, address, size, _):
        if address == end:
            uc.emu_stop()
        else:
            ran.append(address)

    mu.hook_add(unicorn.UC_HOOK_CODE, hook)
    mu.emu_start(ORIGIN, end + 4, count=10 * len(words))
    out = [0] + [mu.reg_read(getattr(mc, f"UC_MIPS_REG_{i}")) for i in range(1, 32)]
    return out, ran, bytes(mu.mem_read(0, MEM))


def vverify_state(spec, words, regs, data):
    s = initial_state(spec)  # kernel mode, ERL = 1: kuseg unmapped, as Unicorn's reset state
    s.regs["pc"] = ORIGIN
    s.files["r"] = list(regs)
    for i, w in enumerate(words + [spec.instructions["syscall"].encoding.encode({"code": 0})]):
        for k in range(4):
            s.mem[ORIGIN + 4 * i + k] = (w >> (8 * k)) & 0xFF
    for k, b in enumerate(data):
        s.mem[DATA + k] = b
    return s


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_mips32r6_matches_unicorn(data):
    spec = load("mips32")
    assert spec.modes[spec.initial_mode] == spec.modes["kernel"] and spec.registers["c0_status"].reset & 4
    words, regs, mem = data.draw(r6_program(spec), label="program")
    want_regs, want_path, want_mem = run_unicorn(words, regs, mem)
    end = ORIGIN + 4 * len(words)

    s = vverify_state(spec, words, regs, mem)
    path, st_ = [], s
    while st_.regs["pc"] != end and len(path) <= 10 * len(words):  # forward branches only: it ends
        path.append(st_.regs["pc"])
        st_, ex = interp_run(spec, st_, 1)
        assert ex.reason == "budget", ex
    assert path == want_path  # the same instructions ran, in the same order
    # a SYSCALL ends the program: both backends stop on its trap, at its address
    got, ex = interp_run(spec, s, 10 * len(words) + 1, trap_exits=frozenset({"sys"}))
    assert (ex.reason, ex.cause, ex.steps) == ("trap", "sys", len(path)), ex
    assert got.files["r"] == want_regs
    assert got.regs["pc"] == end
    assert bytes(got.read_mem(a) for a in range(DATA, DATA + 2048)) == want_mem[DATA:DATA + 2048]

    core = getattr(test_mips32r6_matches_unicorn, "core", None) or Core(spec)
    test_mips32r6_matches_unicorn.core = core
    core.load_state(s)
    cex = core.run(10 * len(words) + 1, trap_exits={"sys"})
    assert (cex.reason, cex.cause) == ("trap", "sys")
    assert [int(v) for v in core.F["r"][:32]] == want_regs
    assert core.reg("pc") == end and cex.steps == len(path)
    assert core.MEM[ORIGIN + 4 * len(words) + 4:].tobytes() == want_mem[ORIGIN + 4 * len(words) + 4:]
    assert core.MEM[:ORIGIN].tobytes() == want_mem[:ORIGIN]
