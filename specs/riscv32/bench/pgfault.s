# pgfault (riscv32_sv32): N page faults taken and handled by a paged guest
# kernel (Adams & Agesen 2006's "pgfault").  System call 3 runs the whole
# workload in the kernel: its M-mode part builds Sv32 tables (the first
# 256 KiB mapped one to one for the kernel, S pages; a 4 MiB region of fresh
# pages at 0x400000, empty), delegates load page faults to S and enters
# S-mode, translated.  Each iteration the S kernel loads from a fresh page:
# the page fault reaches its handler (stvec), which maps the page and
# returns; the load runs again and completes; then the kernel unmaps the
# page (and fences) so that the next iteration faults again.  An ecall from
# S returns to the M-mode part, which turns paging off and returns to user.
#
# Physical memory used: root table 0x10000, level-0 tables 0x11000 (the
# kernel's map) and 0x12000 (the fresh region), the fresh frame 0x30000
# (clear of the guest library's own tables and window, docs/guests.md).
# The workload uses t0-t5; t3-t5 are saved and restored around it.
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
        lui   t1, 0x2000
        csrrw zero, medeleg, t1 # load page faults (13) to S
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
        lui   t1, 0x400000         # the fresh page's virtual address
        lui   t2, 0x12000          # its PTE
s_loop: beq   t0, zero, s_done
        lw    t3, 0(t1)         # page fault: the handler maps the page; then it loads
        sw    zero, 0(t2)       # unmap the page
        sfence.vma t1, zero
        addi  t0, t0, -1
        jal   zero, s_loop
s_done: ecall                   # to the M-mode part
s_trap:                         # S's trap handler: map the faulting page
        csrrs t4, stval, zero
        srli  t4, t4, 12
        andi  t4, t4, 0x3FF
        slli  t4, t4, 2
        lui   t5, 0x12000
        add   t4, t4, t5        # its PTE's address
        lui   t5, 0xC000
        addi  t5, t5, 0xC7      # PPN 0x30, V R W A D
        sw    t5, 0(t4)
        sret

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
