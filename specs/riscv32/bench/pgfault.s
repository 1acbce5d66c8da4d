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
        .equ  sys_extra, paged_enter    # system call 3: the shared paged kernel below
        .equ  S_MEDELEG, 0x2000          # load page faults (13) go to S's handler

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

        .include "bench/paged_kernel.s"  # paged_enter (M: tables, into S) and w_back
