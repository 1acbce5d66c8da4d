"""Guest workloads shared by the benchmark scripts.

The programs are built from each spec's own encodings (``Encoding.encode``),
so a benchmark never carries a hand-written copy of an instruction format.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# the guide's 9-instruction RV32I loop: load, add, shift, xor, store, addi, andi, addi, branch
A0, T0, T1, T2, T3 = 10, 5, 6, 7, 28
LOOP_INSTRUCTIONS = 9
RISCV_DATA = 0x400


def encode(spec, name, **ops):
    instr = spec.instructions[name]
    return instr.encoding.encode({k: v & ((1 << instr.operands[k]) - 1) for k, v in ops.items()})


def riscv_loop(spec) -> list:
    """Words of the loop; it runs x5 times, then reaches an ecall."""
    e = lambda n, **o: encode(spec, n, **o)  # noqa: E731
    return [
        e("lw", rd=T1, rs1=A0, imm=RISCV_DATA),
        e("add", rd=T2, rs1=T2, rs2=T1),
        e("slli", rd=T3, rs1=T2, shamt=3),
        e("xor", rd=T2, rs1=T2, rs2=T3),
        e("sw", rs2=T2, rs1=A0, imm=RISCV_DATA),
        e("addi", rd=A0, rs1=A0, imm=4),
        e("andi", rd=A0, rs1=A0, imm=0xFC),
        e("addi", rd=T0, rs1=T0, imm=-1),
        e("bne", rs1=T0, rs2=0, boff=-32),
        e("ecall"),
    ]


def riscv_ecall_loop(spec) -> list:
    """``ecall; jal x0, -4``: every iteration is one trap exit to the VMM."""
    return [encode(spec, "ecall"), encode(spec, "jal", rd=0, joff=-4)]


def to_bytes(words) -> bytes:
    return b"".join(w.to_bytes(4, "little") for w in words)
