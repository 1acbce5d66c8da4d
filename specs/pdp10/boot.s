# vverify guest library: the pdp10 boot stub (see docs/guests.md).
#
# The monitor runs in exec mode with rlr = 0 and prr = 777777 (what reset
# and every trap set), so its addresses are physical.  The user program runs
# in user mode relocated by rlr = USER_BASE and protected by prr = USER_SIZE-1.
#
# Returning to user mode.  This spec relocates in both modes (Popek &
# Goldberg's model, not the KA10's), so the instruction after the `datao apr,`
# that loads the user's rlr/prr is fetched through the USER mapping: no
# instruction in monitor memory can follow it.  The monitor therefore writes
# a `jrst 1, pc` into the user's region at virtual USER_GATE + 1 (the
# trampoline slot), and executes `datao apr,` at physical USER_GATE: the next
# fetch, still in exec mode, is the trampoline, which enters user mode at pc.
# The slot is rewritten before every return, so what the user stores there
# never runs in exec mode; user programs should leave it alone.
#
# Physical memory map (36-bit words; octal):
#   000000  reset vector: jrst _start
#   000040  the trap words: PC word (40), trap vector (41: right half is
#           k_trap), cause (42), trap value (43)
#   000044  USER_GATE: datao apr, k_upr (the return gate)
#   000100  the guest info block: status, code, cause, tval, pc, count
#   000110  monitor save area and constants
#   000200  _start and the monitor (text)
#   001000  the output buffer: GUEST_OUT_CAP words
#   002000  kernel_extra: build(..., kernel_extra=...) lands here
#   100000  USER_BASE: user virtual 0; the user sees virtual 0 .. 017777
#           (prr = 017777), physical 100000 .. 117777.  Virtual 0 .. 077 is
#           reserved (045 is the trampoline slot); the user program is
#           assembled at USER_ORIGIN = 0100.  AC17 is the stack pointer by
#           PDP-10 convention: -1000,,016777 (an IOWD for the user stack at
#           virtual 017000 .. 017777; PUSH/POP are not in this subset, so it
#           is only a convention here).
#
# Syscall ABI: an MUUO whose effective address is the syscall number; the
# monitor reads the number from the trap value (location 43), so any MUUO
# opcode works.  CALLI (047) reads naturally: `muuo 7, 0, n(0)` is CALLI 0, n.
# The argument is in AC1.
#   n = 0   exit(AC1)     record AC1 as the exit code and halt
#   n = 1   putc(AC1)     append AC1 to the output buffer (dropped when full)
#   n = 2   yield()       return at once
#   n >= 3                sys_extra (kernel_extra may define it; by default
#                         the same as yield)
# Every AC is preserved across a syscall.
#
# Halt: the exec-only `halt` (Exit/CoreExit reason "halt").  Any other trap
# (privileged = 1, memory = 2) is reflected: the monitor records the cause,
# the trap value and the trapping pc with status 2 and halts.

        .equ  USER_BASE, 0o100000       # user rlr
        .equ  USER_SIZE, 0o20000        # user prr = USER_SIZE - 1
        .equ  USER_ORIGIN, 0o100        # where build() assembles the user program (virtual)
        .equ  USER_GATE, 0o44           # datao here; the trampoline is at virtual USER_GATE+1
        .equ  USER_STACK, 0o17000       # the user stack (virtual), 0o1000 words
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .equ  K_EXTRA, 0o2000

        .equ  CAUSE_MUUO, 3

        .equ  TRAP_PCW, 0o40            # written by the trap entry
        .equ  TRAP_VEC, 0o41            # read by the trap entry
        .equ  TRAP_CAUSE, 0o42
        .equ  TRAP_TVAL, 0o43

# ---------------------------------------------------------------- reset
        .org  0
        jrst  _start(0)

        .org  USER_GATE
k_gate: datao apr, k_upr(0)             # load the user's prr,,rlr; the next fetch is the trampoline

# ---------------------------------------------------------------- data
        .org  0o100
guest_status:   .word 0                 # 0 running, 1 exit, 2 trap
guest_code:     .word 0                 # exit: the code passed in AC1
guest_cause:    .word 0                 # trap: the cause code
guest_tval:     .word 0                 # trap: the trap value
guest_pc:       .word 0                 # the pc (virtual) of the exit MUUO / trapping instruction
guest_count:    .word 0                 # words in guest_out

        .org  0o110
k_sav1:         .word 0                 # the user's AC1-AC3 during a trap
k_sav2:         .word 0
k_sav3:         .word 0
k_c1:           .word 1
k_c2:           .word 2
k_cmuuo:        .word CAUSE_MUUO
k_cap:          .word GUEST_OUT_CAP
k_rh:           .word 0o777777          # right-half mask: the PC in a PC word
k_upr:          .word ((USER_SIZE - 1) << 18) | USER_BASE   # prr,,rlr for datao
k_sp0:          .word ((0o1000000 - 0o1000) << 18) | (USER_STACK - 1)   # IOWD -1000,,USER_STACK-1
k_jrst1:        jrst  1, 0(0)           # the trampoline template: + pc

# ---------------------------------------------------------------- boot
        .org  0o200
_start:                                 # reset: exec mode, rlr = 0, prr = 777777
        movei 1, k_trap(0)
        movem 1, TRAP_VEC(0)            # the trap vector
        move  0o17, k_sp0(0)            # the user stack pointer (AC 17 octal)
        movei 1, user_main(0)
        jrst  k_resume(0)               # enter user mode at user_main (AC1-AC3 = 0)

# ---------------------------------------------------------------- traps
k_trap:
        movem 1, k_sav1(0)
        movem 2, k_sav2(0)
        movem 3, k_sav3(0)
        move  1, TRAP_CAUSE(0)
        sub   1, k_cmuuo(0)
        jumpe 1, k_muuo(0)
        # any other trap: reflect it (record and halt)
        move  1, TRAP_CAUSE(0)
        movem 1, guest_cause(0)
        move  1, TRAP_TVAL(0)
        movem 1, guest_tval(0)
        move  1, TRAP_PCW(0)
        and   1, k_rh(0)
        movem 1, guest_pc(0)
        movei 1, STATUS_TRAP(0)
        movem 1, guest_status(0)
k_halt:
        halt  k_halt(0)

k_muuo:
        move  1, TRAP_TVAL(0)           # the syscall number: the MUUO's E
        jumpe 1, k_sys_exit(0)
        sub   1, k_c1(0)
        jumpe 1, k_sys_putc(0)
        sub   1, k_c1(0)
        jumpe 1, k_return(0)
        jrst  sys_extra(0)

k_return:                               # back to the caller; an MUUO saves the next pc
        move  1, TRAP_PCW(0)
        and   1, k_rh(0)
k_resume:                               # AC1 = the user pc to continue at
        add   1, k_jrst1(0)
        movem 1, USER_BASE + USER_GATE + 1(0)   # the trampoline: jrst 1, pc
        move  1, k_sav1(0)
        move  2, k_sav2(0)
        move  3, k_sav3(0)
        jrst  k_gate(0)

k_sys_putc:
        move  2, guest_count(0)
        move  3, guest_count(0)
        sub   3, k_cap(0)
        jumpe 3, k_return(0)            # full: drop the value
        move  1, k_sav1(0)
        movem 1, guest_out(2)           # guest_out[count] = AC1
        add   2, k_c1(0)
        movem 2, guest_count(0)
        jrst  k_return(0)

k_sys_exit:
        move  1, k_sav1(0)
        movem 1, guest_code(0)
        move  1, TRAP_PCW(0)
        and   1, k_rh(0)
        sub   1, k_c1(0)                # the MUUO itself
        movem 1, guest_pc(0)
        movei 1, STATUS_EXIT(0)
        movem 1, guest_status(0)
        halt  k_halt(0)

# ---------------------------------------------------------------- output
        .org  0o1000
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# with AC1-AC3 saved in k_sav1-3 (AC2, AC3 free to use; AC1 holds the
# number minus 2); finish with `jrst k_return(0)` (or k_halt).
        .org  K_EXTRA
kernel_extra:
