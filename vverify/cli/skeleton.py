"""The spec that ``vverify new NAME`` writes: small, commented, and clean under ``vverify check``.

It is a string here rather than a data file so that it ships with the code
without packaging changes.  tests/cli/test_new.py checks that it loads and
that every claim in it holds.
"""

from __future__ import annotations

SKELETON = '''\
# {name}: a two-mode machine, written by `vverify new` as a starting point.
#
# Replace it with your instruction set.  The parts every spec has:
#   [isa]            the name (used in reports) and a title
#   [state]          registers, modes (split into supervisor and user) and memory;
#                    registers marked `control = true` are Popek & Goldberg's
#                    control state (M and R), everything else is data
#   [traps]          what taking a trap does, and the trap causes with their kind
#   [instructions.*] encoding, assembly syntax and semantics of each instruction
#   [virtualization] how a VMM places a guest on the real machine
#   [claims]         the verdicts you expect; `vverify check` fails when one stops holding
#
# docs/spec-format.md describes every key; docs/writing-a-spec.md walks through
# growing this file.  `vverify lint {name}.toml` validates it without solving,
# `vverify check {name}.toml` decides it, `vverify explain {name}.toml INSTR` shows why.

[isa]
name = "{name}"
title = "{name}: a two-mode machine with a relocation base"
summary = "A skeleton: an accumulator, a relocation base, two modes and a trap; classically virtualizable."
fetch = "fetch_address"  # a helper giving the physical address of the instruction at pc

[state]
pc = 16
modes = {{ sup = 0, usr = 1 }}
supervisor = ["sup"]
user = ["usr"]
initial_mode = "sup"

[state.registers]
acc = {{ width = 16, doc = "the accumulator: ordinary data" }}
base = {{ width = 16, control = true, doc = "relocation base: virtual address a is physical a + base" }}
epc = {{ width = 16, control = true, doc = "pc of the instruction that last trapped" }}
emode = {{ width = 1, control = true, doc = "the mode the last trap came from" }}
ecause = {{ width = 16, control = true, doc = "the cause code of the last trap" }}

[state.memory]
unit = 16     # bits per addressable unit (one instruction word)
address = 16  # address width; 2^16 units

[traps]
code = 16
tval = 16
# Runs instead of a trapping instruction, on the state before it.  `pc` is the
# trapping instruction's address; `cause` is the cause's code.
entry = """
epc = pc
emode = mode
ecause = cause
mode = sup
base = 0
pc = 0x0100
"""

[traps.causes]
privileged = {{ code = 1, kind = "privilege", doc = "a supervisor-only instruction in user mode" }}
call = {{ code = 2, kind = "call", doc = "system call" }}

[operands]
a = {{ kind = "imm", doc = "virtual address" }}
imm = {{ kind = "imm", signed = true, doc = "signed immediate" }}

[helpers]
code = """
def phys(a: 16) -> 16:
    # relocation: every address the program uses is offset by the base register
    return a + base

def fetch_address() -> 16:
    return phys(pc)

def supervisor_only():
    if mode != sup:
        trap(privileged)
"""

# Encodings list bits most-significant first: 0/1 are fixed, `a:12` is a 12-bit operand field.

[instructions.li]
encoding = "0001 imm:12"
syntax = "li {{imm}}"
doc = "load a sign-extended immediate"
semantics = "acc = sext(imm, 16)"

[instructions.ld]
encoding = "0010 a:12"
syntax = "ld {{a}}"
doc = "load a word"
semantics = "acc = load(phys(zext(a, 16)), 1)"

[instructions.st]
encoding = "0011 a:12"
syntax = "st {{a}}"
doc = "store a word"
semantics = "store(phys(zext(a, 16)), 1, acc)"

[instructions.svc]
encoding = "0100 000000000000"
syntax = "svc"
doc = "system call: traps in every mode"
semantics = "trap(call)"

[instructions.setbase]
encoding = "0101 000000000000"
syntax = "setbase"
doc = "set the relocation base from acc (supervisor only)"
semantics = """
supervisor_only()
base = acc
"""

[instructions.rti]
encoding = "0110 000000000000"
syntax = "rti"
doc = "return from a trap: restore the mode and continue after the trapping instruction (supervisor only)"
semantics = """
supervisor_only()
mode = emode
pc = epc + 1
"""

[virtualization]
summary = "Every guest mode runs in real user mode; the guest's storage sits at offset x, added to the real base."
modes = {{ sup = "usr", usr = "usr" }}
params = {{ x = 16 }}
memory_offset = "x"

[virtualization.relocate]
base = "base + x"

[references.pg74]
cite = "G. J. Popek and R. P. Goldberg, Formal requirements for virtualizable third generation architectures, CACM 17(7):412-421, 1974"
url = "https://doi.org/10.1145/361011.361073"

[claims]
theorem1 = {{ holds = true, source = "pg74", note = "the sensitive instructions (setbase, rti) are privileged" }}
theorem3 = {{ holds = true, source = "pg74" }}
theorem2 = {{ holds = true, source = "pg74", note = "no timing state, so Theorem 2 reduces to Theorem 1" }}

# Kept last, so that new claims can be appended to the end of the file.
[claims.instructions]
setbase = {{ privileged = true, control_sensitive = true, source = "pg74" }}
rti = {{ privileged = true, control_sensitive = true, source = "pg74" }}
ld = {{ privileged = false, sensitive = false, safe_supervisor = true, safe_user = true, source = "pg74", note = "relocated loads are innocuous" }}
svc = {{ privileged = false, sensitive = false, source = "pg74", note = "traps in every mode" }}
'''


def skeleton(name: str) -> str:
    return SKELETON.format(name=name)
