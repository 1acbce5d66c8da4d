"""Every assembler error is one line, ``file:line:col: message``, pointing at the culprit."""

import pytest

from tests.conftest import load
from vverify.asm import AsmError, assemble, disassemble
from vverify.errors import UsageError, VVerifyError

RV = [
    # (source, "line:col", a fragment of the message)
    ("addi a0, zero, 1\n  ad a0, a1, a2", "2:3", "unknown instruction 'ad'; did you mean 'and', 'add', 'andi'?"),
    ("addi a0, a1", "1:12", "'addi' takes 3 operands, got 2; usage: 'addi {rd}, {rs1}, {imm}'"),
    ("addi a0, a1, 2, 3", "1:17", "'addi' takes 3 operands, got 4"),
    ("ecall a0", "1:7", "'ecall' takes no operands, got 1"),
    ("addi a0, foo, 1", "1:10", "unknown register 'foo' for {rs1} (register file 'x')"),
    ("add a0, a1, x32", "1:13", "unknown register 'x32'"),
    ("lw a0, 4(sp", "1:12", "expected ')' after operand {rs1}"),
    ("lw a0, (sp)", "1:8", "missing operand {imm} before '('"),
    ("lw a0, 4(sp) x", "1:14", "unexpected 'x' after the last operand"),
    ("addi a0, a1, 1+", "1:16", "bad operand {imm}: expression ends too early"),
    ("addi a0, a1, 5000", "1:14", "immediate 5000 does not fit 'imm' (signed 12 bits: -2048..2047)"),
    ("slli a0, a0, -1", "1:14", "immediate -1 does not fit 'shamt' (unsigned 5 bits: 0..31)"),
    ("beq a0, a1, 3", "1:13", "target 0x3 is at offset 3 from pc 0x0, not a multiple of 2 (bit 0 of 'boff' not encoded)"),
    ("nop: beq a0, a1, 0x2000", "1:18", "target 0x2000 is out of reach: offset 8192 from pc 0x0 does not fit 'boff' "
                                        "(signed 13 bits, a multiple of 2: -4096..4094)"),
    ("lui a0, 0x12345", "1:9", "not a multiple of 4096 (bits 11:0 not encoded); the operand is the whole value: "
                               "did you mean 0x12345000?"),
    ("csrrs a0, mstatuss, zero", "1:11", "unknown csr 'mstatuss' for {csrno}; did you mean 'mstatus'"),
    ("csrrs a0, 0x1000, zero", "1:11", "csr number 4096 does not fit 12 bits"),
    ("jal ra, nowhere", "1:9", "unknown label or constant 'nowhere'"),
    ("loop: ecall\n\nloop: ecall", "3:1", "duplicate label 'loop' (first defined at line 1)"),
    (".equ A, 1\nA: ecall", "2:1", "duplicate label 'A' (first defined at line 1)"),
    ("  .org 2\n  ecall", "1:3", "misaligned .org: address 0x2 is not a multiple of 4"),
    (".word 1\necall", "2:1", "instruction at address 0x1 is not aligned to 4 units (use .align 4)"),
    (".org 0x10001", "1:6", ".org 0x10001 is past the end of memory (65536 units)"),
    (".org 0xfffc\necall\necall", "3:1", "writing past the end of memory: address 0x10003"),
    (".org 0xfffe\n.word 1, 2, 3", "2:1", "writing past the end of memory"),
    (".word 256", "1:7", "value 256 does not fit a memory unit (8 bits)"),
    (".orgg 4", "1:1", "unknown directive '.orgg'; did you mean '.org'"),
    (".org later\nlater: ecall", "1:6", "'later' is not defined yet"),
    (".equ A, B\n.equ B, A\n.word A", "2:9", "'.equ A' refers to itself (A -> B -> A)"),
    ("ecall\n.org 0\n.word 1", "3:1", "address 0x0 is already written by line 1"),
    ("addi a0, a1, 0x", "1:14", "malformed number '0x'"),
    ("x:: ecall", "1:3", "expected an instruction or a directive, found ':'"),
]


@pytest.mark.parametrize("src, where, fragment", RV)
def test_riscv_errors(src, where, fragment):
    with pytest.raises(AsmError) as e:
        assemble(load("riscv32"), src, file="t.s")
    msg = str(e.value)
    assert msg.startswith(f"t.s:{where}: "), msg
    assert fragment in msg, msg
    assert "\n" not in msg
    assert isinstance(e.value, VVerifyError)


def test_error_fields_and_default_file():
    with pytest.raises(AsmError) as e:
        assemble(load("pg74"), "\n\n   li r0, 1000")
    err = e.value
    assert (err.file, err.line, err.col) == ("<asm>", 3, 11)
    assert str(err) == "<asm>:3:11: immediate 1000 does not fit 'imm' (signed 10 bits: -512..511)"


def test_pg74_and_pdp10_errors():
    with pytest.raises(AsmError, match=r"^<asm>:1:4: unknown register 'r4' for \{rd\}"):
        assemble(load("pg74"), "ld r4, 5")
    with pytest.raises(AsmError, match=r"^<asm>:1:7: immediate 1024 does not fit 'a' \(unsigned 10 bits: 0..1023\)"):
        assemble(load("pg74"), "jmp   1024")
    with pytest.raises(AsmError, match=r"^<asm>:1:6: register number 16 is out of range for file 'ac' \(0..15\)"):
        assemble(load("pdp10"), "move 16, 0(0)")
    with pytest.raises(AsmError, match=r"^<asm>:1:12: 'jrst' takes 1 or 2 operands, got 3"):
        assemble(load("pdp10"), "jrst 1, 2, 3(0)")
    with pytest.raises(AsmError, match=r"^<asm>:1:10: expected '\(' after operand \{y\}; "
                                       r"usage: 'jrst 1, \{y\}\(\{x\}\)' or 'jrst \{y\}\(\{x\}\)'"):
        assemble(load("pdp10"), "jrst 1, 5")


def test_disassembler_rejects_values_wider_than_a_unit():
    with pytest.raises(UsageError, match="does not fit a 8-bit memory unit; pass instruction words with words=True"):
        disassemble(load("riscv32"), [0x00500513])
