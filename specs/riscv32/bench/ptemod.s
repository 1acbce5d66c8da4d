# ptemod (riscv32_sv32): N page-table entries modified by a paged guest
# kernel (Adams & Agesen 2006's "ptemod").  System call 3 runs the whole
# workload in the kernel: its M-mode part builds Sv32 tables (the first
# 256 KiB mapped one to one for the kernel, S pages) and enters S-mode,
# translated.  Each iteration the S kernel stores to one PTE of the table it
# runs on, the entry of its page 0x3F000 (a page it does not touch), switching
# the frame that entry maps between 0x3F and 0x3E.  An ecall from S returns to
# the M-mode part, which turns paging off and returns to user.
#
# Physical memory used: root table 0x10000, level-0 tables 0x11000 (the
# kernel's map) and 0x12000 (unused here).  The workload uses t0-t5; t3-t5
# are saved and restored around it.
user_main:
        addi  a7, zero, 3
        ecall
        addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)

# ---- kernel_extra
        .equ  sys_extra, paged_enter    # system call 3: the shared paged kernel below
        .equ  S_MEDELEG, 0               # no exception goes to S

s_main:                         # S-mode, translated (the kernel runs one to one)
        lui   t0, (N + 0x800) & 0xFFFFF000
        addi  t0, t0, N - ((N + 0x800) & 0xFFFFF000)
        lui   t1, 0x11000
        addi  t1, t1, 0xFC      # the PTE of page 0x3F000 (entry 63 of the kernel's map)
        lw    t2, 0(t1)
        addi  t3, zero, 0x400   # PPN bit 0
s_loop: beq   t0, zero, s_done
        xor   t2, t2, t3
        sw    t2, 0(t1)         # the PTE now maps the other frame
        addi  t0, t0, -1
        jal   zero, s_loop
s_done: ecall                   # to the M-mode part
s_trap: ecall                   # no trap is expected in S: back to the M-mode part

        .include "bench/paged_kernel.s"  # paged_enter (M: tables, into S) and w_back
