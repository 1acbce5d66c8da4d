"""An external oracle for armv7a: random A32 programs in Unicorn (QEMU's ARM) and in vverify.

The armv7a semantics, core and interpreter alike, were written from the ARM
Architecture Reference Manual; Unicorn was not written by us.  Random
Supervisor-mode programs of ordinary instructions (data processing in its
immediate and shifted-register forms, the flag-setting ones and the tests,
MOVW/MOVT, word and byte loads and stores, LDM/STM in the four addressing
modes, forward branches, every condition) must leave the same registers,
flags, memory and path in all three.

Not drawn: writes of the pc other than forward branches, the instructions
that trap or change the mode (the exception entry and the privileged
instructions are the classifier's business, and QEMU chooses UNDEF where
armv7a.toml runs an instruction UNPREDICTABLE in User mode), and the
UNPREDICTABLE register combinations (writeback with the base listed).

The example count is bounded for CI; set VVERIFY_UNICORN_EXAMPLES for a
longer run, e.g. ``VVERIFY_UNICORN_EXAMPLES=5000 pytest tests/agreement/test_armv7a_vs_unicorn.py``.
"""

import os

import unicorn  # a declared test dependency: the oracle must never be skipped
from hypothesis import given, settings, strategies as st
from unicorn import arm_const as ac

from tests.conftest import load
from vverify.core import Core
from vverify.interp import initial_state, run as interp_run

EXAMPLES = int(os.environ.get("VVERIFY_UNICORN_EXAMPLES", "60"))
ORIGIN = 0x1000  # where the program starts
DATA = 0x8000  # r11 holds the data base and is never written by the programs
BASE = 11
MEM = 0x10000
MODE_SVC = 0x13

DP = ["and", "eor", "sub", "rsb", "add", "orr", "mov", "bic", "mvn", "adds", "subs", "tst", "teq", "cmp", "cmn"]
MOVES = ("mov", "mvn")
TESTS = ("tst", "teq", "cmp", "cmn")
LOADS = {"ldr": 4, "ldrb": 1}
STORES = {"str": 4, "strb": 1}
UREGS = [getattr(ac, f"UC_ARM_REG_R{i}") for i in range(13)] + [ac.UC_ARM_REG_SP, ac.UC_ARM_REG_LR]


def encode(spec, name, **ops):
    instr = spec.instructions[name]
    missing = set(instr.operands) - set(ops)
    assert not missing, (name, missing)
    return instr.encoding.encode({k: v & ((1 << w) - 1) for k, v in ops.items() for w in [instr.operands[k]]})


@st.composite
def a32_program(draw, spec, max_len=24):
    n = draw(st.integers(1, max_len))
    dest = st.integers(0, 14).filter(lambda r: r != BASE)
    src = st.integers(0, 15)  # r15 reads as the instruction's address plus 8
    cond = st.integers(0, 14)
    words = []
    for i in range(n):
        kind = draw(st.sampled_from(["dp", "dpr", "movw", "load", "store", "ldm", "stm", "b"]))
        c = draw(cond)
        if kind in ("dp", "dpr"):
            name = draw(st.sampled_from(DP))
            ops = {"c": c}
            if name not in MOVES:
                ops["rn"] = draw(src)
            if name not in TESTS:
                ops["rd"] = draw(dest)
            if kind == "dp":
                ops["imm"] = draw(st.integers(0, 0xFFF))
            else:
                name += "_r"
                ops.update(rm=draw(src), sh=draw(st.integers(0, 3)), amt=draw(st.integers(0, 31)))
            words.append(encode(spec, name, **ops))
        elif kind == "movw":
            words.append(encode(spec, draw(st.sampled_from(["movw", "movt"])), c=c, rd=draw(dest),
                                imm16=draw(st.integers(0, 0xFFFF))))
        elif kind in ("load", "store"):
            table = LOADS if kind == "load" else STORES
            name = draw(st.sampled_from(sorted(table)))
            size = table[name]
            rt = draw(dest) if kind == "load" else draw(st.integers(0, 14))
            words.append(encode(spec, name, c=c, rt=rt, rn=BASE, imm=draw(st.integers(0, 2047 // size)) * size))
        elif kind in ("ldm", "stm"):
            rlist = draw(st.integers(1, 0x7FFF))
            if kind == "ldm":
                rlist &= ~(1 << BASE)
                rlist = rlist or 1
            words.append(encode(spec, kind, c=c, pu=draw(st.integers(0, 3)), w=0, rn=BASE, rlist=rlist))
        else:  # a forward branch: the offset from the instruction's address plus 8
            words_to = draw(st.integers(0, n - i - 1))  # instructions skipped (the end is a valid target)
            words.append(encode(spec, "b", c=c, off=4 * (words_to - 1)))
    regs = [draw(st.one_of(st.integers(0, 16), st.integers(0, 2**32 - 1))) for _ in range(15)]
    regs[BASE] = DATA + 0x400  # LDM/STM DB and DA reach below the base
    flags = draw(st.integers(0, 15))
    data = draw(st.binary(min_size=64, max_size=64))
    return words, regs, flags, data


def run_unicorn(words, regs, flags, data):
    mu = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_ARM)
    mu.mem_map(0, MEM)
    mu.mem_write(ORIGIN, b"".join(w.to_bytes(4, "little") for w in words))
    mu.mem_write(DATA + 0x400, data)
    mu.reg_write(ac.UC_ARM_REG_CPSR, (flags << 28) | 0x1C0 | MODE_SVC)
    for r, v in zip(UREGS, regs):
        mu.reg_write(r, v)
    end = ORIGIN + 4 * len(words)
    ran = []  # the address of every instruction Unicorn runs, from a code hook

    def hook(uc, address, size, _):
        if address == end:
            uc.emu_stop()
        else:
            ran.append(address)

    mu.hook_add(unicorn.UC_HOOK_CODE, hook)
    mu.emu_start(ORIGIN, end + 4, count=10 * len(words))
    assert mu.reg_read(ac.UC_ARM_REG_CPSR) & 0x1F == MODE_SVC
    out = [mu.reg_read(r) for r in UREGS]
    return out, mu.reg_read(ac.UC_ARM_REG_CPSR) >> 28, ran, bytes(mu.mem_read(0, MEM))


def vverify_state(spec, words, regs, flags, data):
    s = initial_state(spec)  # Supervisor mode
    assert s.regs["mode"] == spec.modes["svc"]
    s.regs["pc"] = ORIGIN
    s.regs["cpsr"] = (flags << 28) | 0x1C0
    s.files["r"] = list(regs[:13]) + [0, 0, 0]
    s.regs["sp_svc"], s.regs["lr_svc"] = regs[13], regs[14]
    for i, w in enumerate(words + [spec.instructions["svc"].encoding.encode({"c": 14, "svcn": 0})]):
        for k in range(4):
            s.mem[ORIGIN + 4 * i + k] = (w >> (8 * k)) & 0xFF
    for k, b in enumerate(data):
        s.mem[DATA + 0x400 + k] = b
    return s


def _regs(state):
    return list(state.files["r"][:13]) + [state.regs["sp_svc"], state.regs["lr_svc"]]


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_a32_matches_unicorn(data):
    spec = load("armv7a")
    words, regs, flags, mem = data.draw(a32_program(spec), label="program")
    want_regs, want_flags, want_path, want_mem = run_unicorn(words, regs, flags, mem)
    end = ORIGIN + 4 * len(words)

    s = vverify_state(spec, words, regs, flags, mem)
    path, st_ = [], s
    while st_.regs["pc"] != end and len(path) <= 10 * len(words):  # forward branches only: it ends
        path.append(st_.regs["pc"])
        st_, ex = interp_run(spec, st_, 1)
        assert ex.reason == "budget", ex
    assert path == want_path  # the same instructions ran, in the same order
    # an SVC ends the program: both backends stop on its trap, at its address
    got, ex = interp_run(spec, s, 10 * len(words) + 1, trap_exits=frozenset({"svc_call"}))
    assert (ex.reason, ex.cause, ex.steps) == ("trap", "svc_call", len(path)), ex
    assert _regs(got) == want_regs
    assert got.regs["cpsr"] >> 28 == want_flags
    assert got.regs["pc"] == end
    assert bytes(got.read_mem(a) for a in range(DATA, DATA + 0x1000)) == want_mem[DATA:DATA + 0x1000]

    core = getattr(test_a32_matches_unicorn, "core", None) or Core(spec)
    test_a32_matches_unicorn.core = core
    core.load_state(s)
    cex = core.run(10 * len(words) + 1, trap_exits={"svc_call"})
    assert (cex.reason, cex.cause) == ("trap", "svc_call")
    cstate = core.to_state(default=got.mem_default)
    assert _regs(cstate) == want_regs and cstate.regs["cpsr"] >> 28 == want_flags
    assert core.reg("pc") == end and cex.steps == len(path)
    assert core.MEM[DATA:DATA + 0x1000].tobytes() == want_mem[DATA:DATA + 0x1000]
