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
sys_extra:
        lui   t0, (w_save + 0x800) & 0xFFFFF000
        addi  t0, t0, w_save - ((w_save + 0x800) & 0xFFFFF000)
        sw    t3, 0(t0)
        sw    t4, 4(t0)
        sw    t5, 8(t0)
        csrrs t1, mepc, zero
        sw    t1, 12(t0)        # the user's ecall
        lui   t0, 0x11000          # the kernel's level-0 table: 64 pages one to one
        addi  t1, zero, 0xCF    # PTE: PPN 0, V R W X A D (an S page)
        lui   t2, 0x10000
        addi  t2, t2, 0xCF      # the PTE after the last: PPN 64
w_map:  sw    t1, 0(t0)
        addi  t0, t0, 4
        addi  t1, t1, 0x400     # the next frame
        bne   t1, t2, w_map
        lui   t0, 0x10000          # the root table
        lui   t1, 0x4000
        addi  t1, t1, 0x401     # a pointer to 0x11000
        sw    t1, 0(t0)         # VPN[1] = 0: the kernel's map
        lui   t1, 0x5000
        addi  t1, t1, -0x7FF    # a pointer to 0x12000
        sw    t1, 4(t0)         # VPN[1] = 1: the fresh region
        lui   t0, 0x12000
        sw    zero, 0(t0)       # its first page unmapped
        lui   t1, (s_trap + 0x800) & 0xFFFFF000
        addi  t1, t1, s_trap - ((s_trap + 0x800) & 0xFFFFF000)
        csrrw zero, stvec, t1
        lui   t1, (w_back + 0x800) & 0xFFFFF000
        addi  t1, t1, w_back - ((w_back + 0x800) & 0xFFFFF000)
        csrrw zero, mtvec, t1   # S's ecall comes back to w_back
        lui   t1, 0x80000000
        addi  t1, t1, 0x10
        csrrw zero, satp, t1    # Sv32, root page 0x10
        lui   t1, 0x1000
        addi  t1, t1, -0x800
        csrrs zero, mstatus, t1 # MPP = S
        lui   t1, (s_main + 0x800) & 0xFFFFF000
        addi  t1, t1, s_main - ((s_main + 0x800) & 0xFFFFF000)
        csrrw zero, mepc, t1
        mret

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

w_back:                         # M-mode again: paging off, back to the user
        csrrw zero, satp, zero
        csrrw zero, medeleg, zero
        addi  t1, zero, k_trap
        csrrw zero, mtvec, t1
        lui   t1, 0x2000
        addi  t1, t1, -0x800
        csrrc zero, mstatus, t1 # MPP = U
        lui   t0, (w_save + 0x800) & 0xFFFFF000
        addi  t0, t0, w_save - ((w_save + 0x800) & 0xFFFFF000)
        lw    t1, 12(t0)
        csrrw zero, mepc, t1
        lw    t3, 0(t0)
        lw    t4, 4(t0)
        lw    t5, 8(t0)
        jal   zero, k_return
w_save: .space 16
