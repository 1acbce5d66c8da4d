"""Example programs with known encodings, run on the reference interpreter."""

import os
import random
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import spec_path, load
from vverify.asm import (AsmError, assemble, disassemble, load_into, source_text, syntax_problems, syntax_table,
                         to_memory)
from vverify.interp import initial_state, run
from vverify.spec.ir import mask, to_signed
from vverify.spec.loader import load_spec


def words32(prog, start, n):
    return [int.from_bytes(bytes(prog.units(start + 4 * k, 4)), "little") for k in range(n)]


# --------------------------------------------------------------------- riscv32

KNOWN_RV = [  # real RV32I/Zicsr encodings (at address 0)
    ("addi a0, zero, 5", 0x00500513),
    ("jal ra, 8", 0x008000EF),
    ("csrrs a0, mstatus, zero", 0x30002573),
    ("ecall", 0x00000073),
    ("ebreak", 0x00100073),
    ("mret", 0x30200073),
    ("sret", 0x10200073),
    ("wfi", 0x10500073),
    ("beq a0, a1, -4", 0xFEB50EE3),
    ("beq a0, a1, .-4", 0xFEB50EE3),
    ("lui a0, 0x12345000", 0x12345537),
    ("auipc t0, 0xfffff000", 0xFFFFF297),
    ("sw a1, 8(sp)", 0x00B12423),
    ("lw a0, -4(sp)", 0xFFC12503),
    ("lbu t1, 2047(s0)", 0x7FF44303),
    ("jalr zero, 0(ra)", 0x00008067),
    ("add a0, a1, a2", 0x00C58533),
    ("sub s0, s1, s2", 0x41248433),
    ("srai a0, a0, 31", 0x41F55513),
    ("csrrw zero, mtvec, t0", 0x30529073),
    ("csrrwi a0, 0x7c0, 31", 0x7C0FD573),
    ("sfence.vma a0, a1", 0x12B50073),
    ("fence 2, 1", 0x0210000F),
    ("addi x10, x0, 5", 0x00500513),  # <file><index> register names
    ("ADDI A0, Zero , 5", 0x00500513),  # case and spacing
    ("addi fp, fp, -1", 0xFFF40413),  # an alias
]


@pytest.mark.parametrize("text, expected", KNOWN_RV)
def test_riscv_known_encodings(text, expected):
    spec = load("riscv32")
    prog = assemble(spec, text)
    assert words32(prog, 0, 1) == [expected]


def test_riscv_program_labels_branches_data():
    spec = load("riscv32")
    src = """
    # sum 1..n, then ecall
            .org 0x100
            .equ N, 5
    start:  addi a0, zero, 0        # sum
            addi a1, zero, N        # counter
    loop:   add  a0, a0, a1
            addi a1, a1, -1
            bne  a1, zero, loop     ; backward branch
            beq  zero, zero, done   ; forward branch
            .word 0xde, 0xad, 0xbe, 0xef
    done:   lw   t0, table(zero)
            jal  ra, finish
            .align 4
    table:  .word 1, 0, 0, 0
    finish: ecall
    """
    prog = assemble(spec, src, file="sum.s")
    s = prog.symbols
    assert s == {"start": 0x100, "loop": 0x108, "done": 0x11C, "table": 0x124, "finish": 0x128}
    assert prog.constants == {"N": 5}
    assert prog.entry == 0x100
    assert words32(prog, 0x100, 6) == [0x00000513, 0x00500593, 0x00B50533, 0xFFF58593, 0xFE059CE3, 0x00000463]
    assert prog.units(0x118, 4) == [0xDE, 0xAD, 0xBE, 0xEF]
    assert words32(prog, 0x11C, 2) == [0x12402283, 0x008000EF]  # lw t0, 0x124(zero); jal ra, +8
    assert prog.lines[0x108].line == 7 and "loop" in prog.lines[0x108].text

    state = initial_state(spec)
    state.regs["pc"] = prog.entry
    load_into(state, prog)
    final, exit_ = run(spec, state, 100, trap_exits={"ecall_from_m"})
    assert (exit_.reason, exit_.cause) == ("trap", "ecall_from_m")
    x = final.files["x"]
    assert x[10] == 15 and x[5] == 1 and x[1] == 0x124 and final.regs["pc"] == 0x128

    lines = disassemble(spec, prog)
    text = {ln.address: ln.text for ln in lines}
    assert text[0x110] == "bne a1, zero, loop"
    assert text[0x114] == "beq zero, zero, done"
    assert text[0x118] == ".word 0xde"
    assert text[0x120] == "jal ra, finish"
    assert [ln.labels for ln in lines if ln.address == 0x108] == [("loop",)]
    again = assemble(spec, source_text(lines, prog.symbols))
    assert again.memory == prog.memory and again.symbols == prog.symbols


def test_riscv_pcrel_is_an_address():
    spec = load("riscv32")
    # a number is a target address: at 0x100, "jal ra, 0x108" jumps 8 ahead
    prog = assemble(spec, ".org 0x100\njal ra, 0x108\njal ra, .+8\njal ra, . - 0x100")
    assert words32(prog, 0x100, 3) == [0x008000EF, 0x008000EF, 0xF01FF0EF]
    lines = disassemble(spec, prog, symbols={})
    assert [ln.text for ln in lines] == ["jal ra, 0x108", "jal ra, 0x10c", "jal ra, 0x8"]
    # and wraps around the pc width like the hardware does
    assert words32(assemble(spec, "beq a0, a1, 0xfffffffc"), 0, 1) == [0xFEB50EE3]


def test_riscv_words_mode_and_unknown_words():
    spec = load("riscv32")
    lines = disassemble(spec, [0x00500513, 0xFFFFFFFF, 0x8330000F], origin=0x40, words=True)
    assert [ln.text for ln in lines[:1]] == ["addi a0, zero, 5"]
    assert [ln.text for ln in lines[1:5]] == [".word 0xff"] * 4
    # fence.tso: fm = 8 is not in the syntax, so it stays data, with a note
    assert lines[5].instruction is None and "fence with fm=8" in lines[5].comment
    assert "  # fence with fm=8" in source_text(lines)
    assert str(lines[0]) == "00000040:  00500513  addi a0, zero, 5"


@pytest.mark.skipif(shutil.which("llvm-mc") is None, reason="llvm-mc is not installed")
def test_riscv_agrees_with_llvm_mc():
    """Every riscv32 instruction, random operands, against LLVM's assembler."""
    spec = load("riscv32")
    table = syntax_table(spec)
    rng = random.Random(1974)
    ours, theirs = [], []
    for tpl in table.templates:
        if tpl.instr.paravirtual:
            continue  # vverify's hypercall, in the custom-0 opcode LLVM leaves to extensions
        for _ in range(12):
            mine, llvm = {}, {}
            for name, c in tpl.codecs.items():
                if name in tpl.hidden:
                    continue
                if c.kind == "reg":
                    i = rng.randrange(c.file.count)
                    mine[name] = llvm[name] = c.file.names[i]
                elif c.kind == "enum":
                    v = rng.choice(sorted(c.members.values()))
                    mine[name] = c.member_names[v]
                    llvm[name] = str(v)
                elif name in ("pred", "succ"):
                    v = rng.randrange(1, 16)
                    mine[name] = str(v)
                    llvm[name] = "".join(ch for b, ch in zip((8, 4, 2, 1), "iorw") if v & b)
                else:
                    bits = rng.getrandbits(c.width) & c.placed
                    v = to_signed(bits, c.width) if c.signed else bits
                    if c.pcrel:
                        mine[name] = f".+{v}" if v >= 0 else f".-{-v}"  # at address 0 of its own
                        llvm[name] = str(v)
                    else:
                        k = c.low_zero_bits
                        mine[name] = str(v)
                        llvm[name] = str(v >> k)  # GNU/LLVM write lui/auipc's upper 20 bits
            ours.append(tpl.render(mine))
            theirs.append(tpl.render(llvm))
    out = subprocess.run(["llvm-mc", "-triple=riscv32", "-show-encoding"], input="\n".join(theirs),
                         capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    encodings = [bytes(int(b, 16) for b in m.split(",")) for m in re.findall(r"encoding: \[([^\]]*)\]", out)]
    assert len(encodings) == len(ours)
    for mine, llvm, enc in zip(ours, theirs, encodings):
        prog = assemble(spec, mine)
        assert bytes(prog.units(0, 4)) == enc, (mine, llvm)


# ------------------------------------------------------------------------ pg74

PG74_SRC = """
; r1 = data * 5, by repeated addition; the total goes to memory
        .org 16
        .equ N, 5
start:  li   r0, -N          # counter, counts up to 0
        li   r1, 0
loop:   add  r1, data
        ld   r3, cnt
        add  r3, one
        st   r3, cnt
        ld   r0, cnt
        jz   r0, done
        jmp  loop
done:   st   r1, total
        halt
data:   .word 7
one:    .word 1
cnt:    .word -N
total:  .space 1
"""


def test_pg74_program():
    spec = load("pg74")
    prog = assemble(spec, PG74_SRC)
    assert prog.symbols["start"] == 16 and prog.symbols["data"] == 27 and prog.entry == 16
    assert prog.units(16, 3) == [0b0110_00_1111111011, 0b0110_01_0000000000, 0b0100_01_0000011011]
    assert prog.units(25, 2) == [0b0010_01_0000011110, 0b1100 << 12]
    assert prog.units(27, 4) == [7, 1, 0xFFFB, 0]
    state = initial_state(spec)
    state.regs.update(pc=prog.entry, b=0xFFFF)  # a bound that lets the program reach its data
    load_into(state, prog)
    final, exit_ = run(spec, state, 200)
    assert exit_.reason == "halt"
    assert final.files["r"][1] == 35 and final.mem[prog.symbols["total"]] == 35
    lines = disassemble(spec, prog)
    assert [ln.text for ln in lines[:3]] == ["li r0, -5", "li r1, 0", "add r1, 0x1b"]
    assert lines[0].labels == ("start",)


def test_pg74_rdbase_extends_pg74():
    spec = load("pg74_rdbase")
    prog = assemble(spec, "rdbase r2\nld r1, 0x3ff")
    assert prog.units(0, 2) == [0b1110_10 << 10, 0b0001_01_1111111111]
    assert [ln.text for ln in disassemble(spec, prog)] == ["rdbase r2", "ld r1, 0x3ff"]


# ----------------------------------------------------------------------- pdp10


def test_pdp10_words_and_nameless_accumulators():
    spec = load("pdp10")
    prog = assemble(spec, """
    start:  move 1, 0o100(2)        ; MOVE 1,100(2) = 200042000100 (octal)
            movei ac3, start(0)
            jrst 1, start(0)        ; JRST 1, shares its mnemonic with JRST
            jrst done(0)
            muuo 7, 3, 5(2)
            datao apr, 0o777(0)
    done:   .word -1
    """)
    assert prog.units(0, 7) == [0o200042000100, 0o201140000000, 0o254040000000, 0o254000000006,
                                0o047142000005, 0o700140000777, mask(36)]
    texts = [ln.text for ln in disassemble(spec, prog)]
    assert texts[:4] == ["move 1, 0x40(2)", "movei 3, 0(0)", "jrst 1, 0(0)", "jrst 6(0)"]
    arr = to_memory(spec, prog)
    assert arr.dtype == np.uint64 and len(arr) == 7 and int(arr[6]) == mask(36)


# ---------------------------------------------------------- memory, fallbacks


def test_to_memory_and_load_into():
    spec = load("riscv32")
    prog = assemble(spec, ".org 8\naddi a0, zero, 5\n.word 7")
    arr = to_memory(spec, prog)
    assert arr.dtype == np.uint8 and len(arr) == 13
    assert list(arr[8:13]) == [0x13, 0x05, 0x50, 0x00, 7] and not arr[:8].any()
    with pytest.raises(AsmError) as e:
        load_into(np.zeros(10, dtype=np.uint8), prog)
    assert str(e.value) == "<asm>:2: cannot load the program: address 0xa is past the end of the target (10 units)"
    with pytest.raises(AsmError, match="does not fit the target's uint8"):
        load_into(np.zeros(16, dtype=np.uint8), assemble(load("pg74"), ".word 0x1234"))
    d = load_into({}, prog)
    assert d == prog.memory
    assert to_memory(load("pg74"), assemble(load("pg74"), "halt")).dtype == np.uint16


def test_bundled_specs_have_usable_syntax():
    assert syntax_problems(load("pg74")) == []
    assert syntax_problems(load("pdp10")) == []
    (fence,) = syntax_problems(load("riscv32"))
    assert fence.startswith("instruction 'fence'") and "fm, rs1, rd" in fence


def child_of_pg74(tmp_path, instructions: str):
    base = os.path.relpath(spec_path("pg74"), tmp_path)
    (tmp_path / "child.toml").write_text(f'[isa]\nname = "child"\nextends = "{base}"\n{instructions}')
    return load_spec(tmp_path / "child.toml")


def test_directives_and_expressions():
    spec = load("pg74")
    prog = assemble(spec, """
            .equ  BASE, table - 2      ; forward reference, resolved in pass 2
            .org  0x20
            .entry main
    table:  .fill 3, 0xab
            .fill 2
            .space 2
            .align 4
    main:   ld  r0, table+1
            ld  r1, BASE + (2 * 2) - 1
            li  r2, ~0 & 0x1ff
            li  r3, -(1 << 9)
            .word main, . , 0b1010_1010, 0o17, -1
    """)
    assert prog.units(0x20, 7) == [0xAB, 0xAB, 0xAB, 0, 0, 0, 0]
    assert 0x27 not in prog.memory  # .align leaves its gap unwritten
    assert prog.symbols == {"table": 0x20, "main": 0x28} and prog.constants == {"BASE": 0x1E}
    assert prog.entry == 0x28
    assert prog.units(0x28, 4) == [0x1021, 0x1421, 0x69FF, 0x6E00]
    assert prog.units(0x2C, 5) == [0x28, 0x2C, 0xAA, 0o17, 0xFFFF]
    assert prog.lines[0x28].text.startswith("main:") and prog.source_of(0x2E).line == 13


def test_hash_in_a_template_is_operand_text(tmp_path):
    spec = child_of_pg74(tmp_path, '''
[instructions.movi]
encoding = "1110 rd:2 imm:10"
syntax = "movi {rd}, #{imm}"
semantics = "r[rd] = sext(imm, 16)"
''')
    assert any("comments start only with ';'" in p for p in syntax_problems(spec))
    prog = assemble(spec, "movi r1, #-2   ; a comment")
    assert prog.units(0, 1) == [0b1110_01_1111111110]
    assert [ln.text for ln in disassemble(spec, prog)] == ["movi r1, #-2"]


def test_missing_or_broken_syntax_falls_back(tmp_path):
    spec = child_of_pg74(tmp_path, f'''

[instructions.nosyn]
encoding = "1110 rd:2 a:10"
semantics = "r[rd] = zext(a, 16)"

[instructions.glued]
encoding = "1111 00 rs:2 imm:8"
syntax = "glued r{{rs}}, {{imm}}"
semantics = "r[rs] = sext(imm, 16)"

[instructions.unknown]
encoding = "1111 01 rs:2 imm:8"
syntax = "unknown {{rs}}, {{zz}}"
semantics = "r[rs] = sext(imm, 16)"
''')
    problems = syntax_problems(spec)
    assert len(problems) == 3
    assert "'nosyn': has no syntax; using 'nosyn {rd}, {a}'" in problems[0]
    assert "glues '{rs}'" in problems[1] and "names '{zz}'" in problems[2]
    prog = assemble(spec, "nosyn r1, 5\nglued r2, -3\nunknown r3, 127")
    assert prog.units(0, 3) == [0b1110_01_0000000101, 0b1111_00_10_11111101, 0b1111_01_11_01111111]
    assert [ln.text for ln in disassemble(spec, prog)] == ["nosyn r1, 5", "glued r2, -3", "unknown r3, 127"]
