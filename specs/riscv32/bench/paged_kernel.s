# The paged kernel the riscv32_sv32 paging workloads share: pgfault.s and
# ptemod.s include it after their own kernel code (the assembler finds it
# beside the boot stub) and set sys_extra to paged_enter.  System call 3
# enters it in M-mode: it saves t3-t5 and the user's ecall, builds Sv32
# tables and enters S-mode at the workload's s_main, translated; an ecall
# from S comes back to w_back, which turns paging off and returns to the
# user.  The workload defines:
#   s_main     its S-mode loop, ending with ecall
#   s_trap     S's trap handler (stvec)
#   S_MEDELEG  the exceptions delegated to S (0: none)
#
# The tables: root 0x10000; VPN[1] = 0 -> 0x11000, the kernel's map (the
# first 256 KiB one to one, S pages V R W X A D); VPN[1] = 1 -> 0x12000, a
# 4 MiB region at 0x400000 whose first page starts unmapped.
paged_enter:
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
        lui   t1, S_MEDELEG
        csrrw zero, medeleg, t1 # the faults S handles itself (the workload's S_MEDELEG)
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
