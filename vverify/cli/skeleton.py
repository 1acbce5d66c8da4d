"""The ISA folder that ``vverify new NAME`` writes: a spec, its boot stub and a workload.

The folder is laid out like the bundled ISAs' (``specs/<isa>/``)::

    NAME/NAME.toml        the spec: small, commented, clean under ``vverify check``
    NAME/boot.s           the guest library's boot stub, in the spec's own assembly
    NAME/bench/syscall.s  a benchmark workload

so the skeleton is complete for every feature: checking, explaining,
fuzzing under the VMM techniques its map allows, and benchmarking.  The
texts are strings here rather than data files so that they ship with the
code without packaging changes.  tests/cli/test_new_lint_schema.py checks
that the spec loads, that every claim in it holds, and that the stub boots
a program on the interpreter and on the core.
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
#   [guest]          how vverify's guest library runs programs on it: the boot
#                    stub boot.s beside this file, and its ABI (docs/guests.md)
#   [claims]         the verdicts you expect; `vverify check` fails when one stops holding
#
# docs/spec-format.md describes every key; docs/writing-a-spec.md walks through
# growing this file.  `vverify lint {name}.toml` validates it without solving,
# `vverify check {name}.toml` decides it, `vverify explain {name}.toml INSTR` shows why,
# `vverify fuzz {name}.toml -t trap-and-emulate` runs guest programs under a VMM.

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
ebase = {{ width = 16, control = true, doc = "the relocation base the last trap came from" }}
etval = {{ width = 16, control = true, doc = "the trap value of the last trap (svc's operand)" }}

[state.memory]
unit = 16     # bits per addressable unit (one instruction word)
address = 16  # address width; 2^16 units

[traps]
code = 16
tval = 16
# Runs instead of a trapping instruction, on the state before it.  `pc` is the
# trapping instruction's address; `cause` is the cause's code, `tval` its value.
# It saves everything the interrupted program needs back (rti restores it) and
# enters the handler at 0x100 in supervisor mode with relocation off.
entry = """
epc = pc
emode = mode
ecause = cause
ebase = base
etval = tval
mode = sup
base = 0
pc = 0x0100
"""

[traps.causes]
privileged = {{ code = 1, kind = "privilege", doc = "a supervisor-only instruction in user mode" }}
call = {{ code = 2, kind = "call", doc = "system call" }}

# The trap registers, by number: the operand of mfc and mtc.
[enums.ctl]
epc = 0
emode = 1
ecause = 2
ebase = 3
etval = 4

[operands]
a = {{ kind = "imm", doc = "virtual address" }}
imm = {{ kind = "imm", signed = true, doc = "signed immediate" }}
n = {{ kind = "imm", doc = "system-call number" }}
c = {{ kind = "enum", enum = "ctl", doc = "a trap register" }}

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
# Every address field is 12 bits, so a program sees virtual addresses 0 .. 0xFFF only:
# that, and the base, is what keeps a user program inside its region.
# Opcodes 0111 and 1111 are free (docs/writing-a-spec.md adds instructions there); a zero
# word matches no encoding, so a program that runs into empty memory stops.

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

[instructions.addi]
encoding = "1000 imm:12"
syntax = "addi {{imm}}"
doc = "add a sign-extended immediate"
semantics = "acc = acc + sext(imm, 16)"

[instructions.sti]
encoding = "1011 a:12"
syntax = "sti {{a}}"
doc = "store indirect: the word at a holds the (virtual, 12-bit) address to store acc at"
semantics = """
p = load(phys(zext(a, 16)), 1)
store(phys(zext(p[11:0], 16)), 1, acc)
"""

[instructions.jmp]
encoding = "1010 a:12"
syntax = "jmp {{a}}"
doc = "jump"
semantics = "pc = zext(a, 16)"

[instructions.jz]
encoding = "1001 a:12"
syntax = "jz {{a}}"
doc = "jump if acc is zero"
semantics = """
if acc == 0:
    pc = zext(a, 16)
"""

[instructions.svc]
encoding = "0100 n:12"
syntax = "svc {{n}}"
doc = "system call n: traps in every mode, with n as the trap value"
semantics = "trap(call, zext(n, 16))"

[instructions.setbase]
encoding = "0101 000000000000"
syntax = "setbase"
doc = "set the relocation base from acc (supervisor only); the next fetch is relocated too"
semantics = """
supervisor_only()
base = acc
"""

[instructions.mfc]
encoding = "1100 000000000 c:3"
syntax = "mfc {{c}}"
doc = "copy a trap register into acc (supervisor only); numbers 5-7 read as 0"
semantics = """
supervisor_only()
if c == ctl.epc:
    acc = epc
elif c == ctl.emode:
    acc = zext(emode, 16)
elif c == ctl.ecause:
    acc = ecause
elif c == ctl.ebase:
    acc = ebase
elif c == ctl.etval:
    acc = etval
else:
    acc = 0
"""

[instructions.mtc]
encoding = "1101 000000000 c:3"
syntax = "mtc {{c}}"
doc = "copy acc into a trap register (supervisor only); numbers 5-7 ignore it"
semantics = """
supervisor_only()
if c == ctl.epc:
    epc = acc
elif c == ctl.emode:
    emode = acc[0]
elif c == ctl.ecause:
    ecause = acc
elif c == ctl.ebase:
    ebase = acc
elif c == ctl.etval:
    etval = acc
"""

[instructions.rti]
encoding = "0110 000000000000"
syntax = "rti"
doc = "return from a trap: restore the mode and the base, and continue after the trapping instruction (supervisor only)"
semantics = """
supervisor_only()
mode = emode
base = ebase
pc = epc + 1
"""

[instructions.halt]
encoding = "1110 000000000000"
syntax = "halt"
doc = "stop the machine (supervisor only)"
semantics = """
supervisor_only()
halt()
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

# How vverify's guest library runs programs on this machine (docs/guests.md):
# the boot stub, written in this ISA's assembly; the assembly the library
# writes for a system call, a jump and the call's argument; how the stub ends
# the machine; and the benchmark workloads (docs/benchmarks.md).
[guest]
boot = "boot.s"                # beside this file
word_units = 1                 # memory units per word of the info block and the output buffer
halt = {{ by = "instruction" }}  # the stub ends with `halt`; no trap cause is a halt here
syscall = "svc {{n}}"            # system call {{n}}: the number is svc's operand ...
jump = "jmp {{label}}"
arg = "li {{v}}"                 # ... and the argument is in acc

# Each workload: the user program, then its kernel code after the line
# "# ---- kernel_extra"; or why it does not apply to this machine.
[guest.bench]
syscall = {{ file = "bench/syscall.s" }}
in = {{ na = "the machine has no I/O instructions and no device registers" }}
cr8wr = {{ na = "not written for the skeleton yet: a kernel_extra writing a trap register with mtc would do (see specs/pg74/bench/cr8wr.s)" }}
callret = {{ na = "no instruction saves a return address and there is no indirect jump, so there is no call/return pair" }}
divzero = {{ na = "no trap a user program can resume from: the only other cause, privileged, ends the program" }}
pgfault = {{ na = "the machine has a relocation base, not paging: no page tables to fault on" }}
ptemod = {{ na = "the machine has a relocation base, not paging: no page-table entries to modify" }}
compute = {{ na = "not written for the skeleton yet: a loop of li, addi, st and jz would do (see specs/pg74/bench/compute.s)" }}
forkwait = {{ na = "not written for the skeleton yet (see specs/pg74/bench/forkwait.s)" }}
mixed = {{ na = "not written for the skeleton yet (see specs/pg74/bench/mixed.s)" }}

[claims]
theorem1 = {{ holds = true, source = "pg74", note = "the sensitive instructions (setbase, mtc, rti) are privileged" }}
theorem3 = {{ holds = true, source = "pg74" }}
theorem2 = {{ holds = true, source = "pg74", note = "no timing state, so Theorem 2 reduces to Theorem 1" }}

# Kept last, so that new claims can be appended to the end of the file.
[claims.instructions]
setbase = {{ privileged = true, control_sensitive = true, source = "pg74" }}
mtc = {{ privileged = true, control_sensitive = true, source = "pg74" }}
rti = {{ privileged = true, control_sensitive = true, source = "pg74" }}
mfc = {{ privileged = true, sensitive = false, source = "pg74", note = "reads only what the VMM keeps virtual" }}
halt = {{ privileged = true, sensitive = false, source = "pg74" }}
ld = {{ privileged = false, sensitive = false, safe_supervisor = true, safe_user = true, source = "pg74", note = "relocated loads are innocuous" }}
sti = {{ privileged = false, sensitive = false, safe_supervisor = true, safe_user = true, source = "pg74", note = "the pointer is a virtual address, relocated like any other" }}
svc = {{ privileged = false, sensitive = false, source = "pg74", note = "traps in every mode" }}
'''

# The stub's text is formatted like SKELETON ({name}); it has no other braces.
BOOT_STUB = '''\
# {name}: the boot stub of vverify's guest library (docs/guests.md).
#
# A minimal kernel in this ISA's own assembly: vverify assembles it with the
# user program (build()), boots it (boot_state()) and runs it under the halt
# convention of the spec's [guest] table.  Nothing about it is Python, so
# writing one is all it takes to run guest programs on a new ISA: keep the
# labels and constants marked LIBRARY below (the library reads them back from
# the assembled stub) and make the four jobs work on your machine:
#
#   boot     start in the spec's initial (supervisor) mode at _start, and
#            enter user mode at user_main with the user's relocation;
#   syscalls SYS_EXIT, SYS_PUTC, SYS_YIELD (abi.s), made with the call the
#            [guest] table's `syscall` template writes, each returning after it;
#            numbers from SYS_YIELD + 1 up go to sys_extra;
#   reflect  any other trap ends the program: record its cause, trap value and
#            pc in the info block (status STATUS_TRAP), then halt;
#   halt     end the machine the way [guest] halt says (here: `halt`).
#
# Memory map (physical; the kernel runs with base = 0, so its addresses are
# physical, and every address field is 12 bits: the kernel lives below 0x1000):
#   0x000  _start
#   0x010  the info block (LIBRARY): status, code, cause, tval, pc, count
#   0x016  kernel data: the user's acc during a trap, putc's pointer, constants
#   0x100  k_trap: the spec's trap entry jumps here
#   0x200  guest_out (LIBRARY): GUEST_OUT_CAP words of putc output
#   0x300  kernel_extra (LIBRARY): build(..., kernel_extra=...) lands here
#   0x1000 USER_BASE: user virtual 0 .. 0xFFF is physical 0x1000 .. 0x1FFF
#
# System calls: `svc n`; the trap saves n in etval.  The argument is in acc,
# and acc is preserved across every call that returns.

        .include "abi.s"                # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI

        .equ  USER_BASE, 0x1000         # LIBRARY: the physical address of user virtual 0
        .equ  USER_SIZE, 0x1000         # LIBRARY: user virtual addresses are 0 .. USER_SIZE-1
        .equ  USER_ORIGIN, 0            # LIBRARY: where build() assembles the user program
        .equ  TRAP_VECTOR, 0x100        # where the spec's [traps] entry sets pc
        .equ  USR, 1                    # the spec's user mode, [state] modes
        .equ  CAUSE_CALL, 2             # the spec's [traps.causes] call

# ---------------------------------------------------------------- boot
        .org  0
_start:                                 # LIBRARY: reset state, supervisor mode, base = 0
        ld    k_user_base
        mtc   ebase                     # rti will set base = USER_BASE ...
        li    USR
        mtc   emode                     # ... mode = usr ...
        ld    k_user_entry
        mtc   epc                       # ... and pc = epc + 1 = user_main, all at once
        li    0                         # user_main starts with acc = 0
        rti

# ---------------------------------------------------------------- data
        .org  0x10
guest_status:   .word 0                 # LIBRARY: 0 running, 1 exit, 2 trap (STATUS_*)
guest_code:     .word 0                 # LIBRARY: exit: its argument
guest_cause:    .word 0                 # LIBRARY: trap: the cause code
guest_tval:     .word 0                 # LIBRARY: trap: the trap value
guest_pc:       .word 0                 # LIBRARY: the (virtual) pc of the exit call or the trap
guest_count:    .word 0                 # LIBRARY: words in guest_out
k_save:         .word 0                 # the user's acc while the kernel runs
k_ptr:          .word 0                 # putc's pointer into guest_out (for sti)
k_user_base:    .word USER_BASE         # li takes 12 signed bits: bigger constants live here
k_user_entry:   .word user_main - 1     # rti continues after epc; user_main is set by build()

# ---------------------------------------------------------------- traps
        .org  TRAP_VECTOR
k_trap:                                 # mode sup, base 0; epc, emode, ebase, ecause, etval saved
        st    k_save                    # free acc first: it is the only register
        mfc   ecause
        addi  -CAUSE_CALL
        jz    k_svc
        # any other trap: reflect it (record it, then halt)
        mfc   ecause
        st    guest_cause
        mfc   etval
        st    guest_tval
        mfc   epc
        st    guest_pc
        li    STATUS_TRAP
        st    guest_status
k_halt:                                 # LIBRARY: kernel_extra may jump here to end the machine
        halt

k_svc:                                  # dispatch on the call's number
        mfc   etval
        addi  -SYS_EXIT
        jz    k_sys_exit
        addi  SYS_EXIT - SYS_PUTC
        jz    k_sys_putc
        addi  SYS_PUTC - SYS_YIELD
        jz    k_return                  # yield: nothing to do
        jmp   sys_extra                 # LIBRARY: kernel_extra's handler (default: k_return)

k_return:                               # LIBRARY: resume the caller after its svc
        ld    k_save
        rti                             # mode = emode, base = ebase, pc = epc + 1

k_sys_putc:
        ld    guest_count
        addi  -GUEST_OUT_CAP
        jz    k_return                  # full: drop the value
        ld    guest_count
        addi  guest_out
        st    k_ptr                     # k_ptr = guest_out + count
        ld    k_save                    # the argument
        sti   k_ptr
        ld    guest_count
        addi  1
        st    guest_count
        jmp   k_return

k_sys_exit:
        ld    k_save                    # the argument: the exit code
        st    guest_code
        mfc   epc
        st    guest_pc
        li    STATUS_EXIT
        st    guest_status
        halt

# ---------------------------------------------------------------- output
        .org  0x200
guest_out:                              # LIBRARY: GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here (it must end below 0x1000).  Syscall
# numbers from 3 up jump to sys_extra with the caller's acc in k_save; finish
# with `jmp k_return` (or `jmp k_halt`).
        .org  0x300
kernel_extra:
'''

BENCH_SYSCALL = '''\
# syscall: N yield system calls from user mode (user -> kernel -> user).
# build() puts `.equ N, <iterations>` in front; N = 0 measures boot and exit alone.
# acc is the only register, so the loop counter lives in memory.
user_main:
loop:   ld    count
        jz    done
        addi  -1
        st    count
        svc   2                 # yield (SYS_YIELD)
        jmp   loop
done:   li    0
        svc   0                 # exit(0)
count:  .word N
'''


def skeleton(name: str) -> str:
    """The spec ``NAME.toml``."""
    return SKELETON.format(name=name)


def boot_stub(name: str) -> str:
    """The boot stub ``boot.s`` that the spec's ``[guest]`` table names."""
    return BOOT_STUB.format(name=name)


def isa_folder(name: str) -> dict:
    """Every file of the ISA folder, by path relative to it (what ``vverify new`` writes)."""
    return {f"{name}.toml": skeleton(name), "boot.s": boot_stub(name), "bench/syscall.s": BENCH_SYSCALL}
