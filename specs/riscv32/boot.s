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

        .include "layout.s"             # USER_*, KSTACK_TOP, GUEST_INFO, K_EXTRA, the ABI, CAUSE_ECALL_*
        .equ  k_calls, sys_extra        # no further system calls: 3 and up go to sys_extra

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

        .include "kernel.s"             # k_trap, the system calls, the info block, kernel_extra
