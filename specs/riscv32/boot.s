# vverify guest library: the riscv32 boot stub (see docs/guests.md).
#
# A kernel in M-mode and a user program in U-mode.  No delegation: medeleg
# stays 0, so every trap from U-mode enters M-mode at k_trap (mtvec, direct
# mode).  The spec has no PMP and no paging, so U-mode is not confined: the
# "user region" below is a convention, and the only memory faults are
# accesses beyond the 64 KiB of physical memory.
#
# Physical memory map (bytes; user addresses are physical, USER_BASE = 0):
#   0x0000  _start, the trap handler and the syscalls (kernel text)
#   0x0800  kernel_extra: build(..., kernel_extra=...) lands here
#   0x1000  the guest info block (status, code, cause, tval, pc, count)
#   0x1100  the output buffer: GUEST_OUT_CAP 32-bit words
#   0x1F00  kernel stack (grows down from KSTACK_TOP; its top is in mscratch)
#   0x4000  USER_ORIGIN: the user program (user_main), its data above it
#   0x10000 USER_STACK: the user's initial sp (the stack grows down from the
#           end of memory)
#
# Syscall ABI: `ecall` with the number in a7 and the argument in a0.
#   a7 = 0  exit(a0)     record a0 as the exit code and halt
#   a7 = 1  putc(a0)     append the word a0 to the output buffer (dropped
#                        when the buffer is full)
#   a7 = 2  yield()      return at once
#   a7 >= 3              sys_extra (kernel_extra may define it; by default
#                        the same as yield)
# Every register is preserved across a syscall.
#
# Halt: the kernel ends the machine by executing `ecall` in M-mode (cause
# ecall_from_m, which U-mode cannot raise).  A runner passes
# trap_exits={"ecall_from_m"} and sees Exit/CoreExit(reason="trap",
# cause="ecall_from_m").  Without it the trap is delivered to k_trap, which
# parks the machine in a `wfi` loop until the budget runs out; the guest info
# block is complete either way.
#
# Any other trap (a privileged or illegal instruction, a misaligned or
# out-of-memory access, ebreak, ...) is reflected: the kernel records mcause,
# mtval and mepc in the info block with status 2 and halts.

        .equ  USER_BASE, 0              # no relocation: user virtual = physical
        .equ  USER_ORIGIN, 0x4000       # where build() assembles the user program
        .equ  USER_SIZE, 0x10000        # the user region ends at the end of memory
        .equ  USER_STACK, 0x10000       # initial user sp
        .equ  KSTACK_TOP, 0x2000
        .equ  GUEST_INFO, 0x1000
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .equ  K_EXTRA, 0x800

        .equ  CAUSE_ECALL_U, 8
        .equ  CAUSE_ECALL_M, 11

# ---------------------------------------------------------------- boot
        .org  0
_start:                                 # reset: M-mode, pc = 0, every register 0
        addi  t0, zero, k_trap
        csrrw zero, mtvec, t0           # the trap vector (direct mode)
        csrrw zero, medeleg, zero       # no delegation: every trap comes to M
        lui   t0, KSTACK_TOP
        csrrw zero, mscratch, t0        # the kernel stack, swapped in by k_trap
        lui   t0, 0x2000
        addi  t0, t0, -0x800            # t0 = 0x1800: mstatus.MPP
        csrrc zero, mstatus, t0         # MPP = U: mret enters user mode
        lui   t0, (user_main + 0x800) & 0xFFFFF000
        addi  t0, t0, user_main - ((user_main + 0x800) & 0xFFFFF000)
        csrrw zero, mepc, t0
        lui   sp, USER_STACK            # the user stack
        addi  t0, zero, 0               # user_main starts with every register 0 but sp
        mret

# ---------------------------------------------------------------- traps
k_trap:
        csrrw sp, mscratch, sp          # sp = kernel stack, mscratch = user sp
        addi  sp, sp, -16
        sw    t0, 0(sp)
        sw    t1, 4(sp)
        sw    t2, 8(sp)
        csrrs t0, mcause, zero
        addi  t1, zero, CAUSE_ECALL_U
        beq   t0, t1, k_syscall
        addi  t1, zero, CAUSE_ECALL_M
        beq   t0, t1, k_parked          # our own halt, delivered: park
        # any other trap: reflect it (record and halt)
        lui   t0, GUEST_INFO
        csrrs t1, mcause, zero
        sw    t1, 8(t0)                 # guest_cause
        csrrs t1, mtval, zero
        sw    t1, 12(t0)                # guest_tval
        csrrs t1, mepc, zero
        sw    t1, 16(t0)                # guest_pc
        addi  t1, zero, STATUS_TRAP
        sw    t1, 0(t0)                 # guest_status
        jal   zero, k_halt

k_syscall:
        beq   a7, zero, k_sys_exit
        addi  t1, zero, SYS_PUTC
        beq   a7, t1, k_sys_putc
        addi  t1, zero, SYS_YIELD
        beq   a7, t1, k_return
        jal   zero, sys_extra

k_return:                               # back to U-mode after the ecall
        csrrs t0, mepc, zero
        addi  t0, t0, 4                 # the saved pc is the ecall's own
        csrrw zero, mepc, t0
        lw    t2, 8(sp)
        lw    t1, 4(sp)
        lw    t0, 0(sp)
        addi  sp, sp, 16
        csrrw sp, mscratch, sp          # sp = user sp, mscratch = kernel stack
        mret

k_sys_putc:
        lui   t0, GUEST_INFO
        lw    t1, 20(t0)                # guest_count
        addi  t2, zero, GUEST_OUT_CAP
        bgeu  t1, t2, k_return          # full: drop the value
        addi  t2, t1, 1
        sw    t2, 20(t0)
        slli  t1, t1, 2
        add   t1, t1, t0
        sw    a0, 0x100(t1)             # guest_out[count]
        jal   zero, k_return

k_sys_exit:
        lui   t0, GUEST_INFO
        sw    a0, 4(t0)                 # guest_code
        csrrs t1, mepc, zero
        sw    t1, 16(t0)                # guest_pc: the exit ecall
        addi  t1, zero, STATUS_EXIT
        sw    t1, 0(t0)
k_halt:
        ecall                           # M-mode ecall: the halt convention
k_parked:
        wfi                             # reached only if the halt was delivered
        jal   zero, k_parked

# ---------------------------------------------------------------- data
        .org  GUEST_INFO
guest_status:   .space 4                # 0 running, 1 exit, 2 trap
guest_code:     .space 4                # exit: the code passed in a0
guest_cause:    .space 4                # trap: mcause
guest_tval:     .space 4                # trap: mtval
guest_pc:       .space 4                # the pc of the exit ecall / trapping instruction
guest_count:    .space 4                # words in guest_out
        .org  GUEST_INFO + 0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# with t0-t2 saved (free to use), the user's sp in mscratch and the kernel
# stack in sp; finish with `jal zero, k_return` (or k_halt).
        .org  K_EXTRA
kernel_extra:
