# ptemod: N page-table-entry modifications in the kernel.  The TLB is the
# page table the hardware reads: each operation rewrites entry 3 (its
# EntryLo0) with TLBWI.
user_main:
        addiu v0, zero, 3
        syscall 0
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
sys_extra:
        aui   t0, zero, N >> 16
        ori   t0, t0, N & 0xFFFF
        mfc0  t2, entryhi       # keep the current ASID
        addiu t1, zero, 3
        mtc0  t1, index
        aui   t1, zero, 1       # entry 3 maps virtual 0x10000 ...
        mtc0  t1, entryhi
        ori   t1, zero, (0x8000 >> 6) | PTE_FLAGS
        mtc0  t1, entrylo1
        bc    b_test - . - 4
b_loop: andi  t1, t0, 1         # ... to physical 0x8000 or 0x9000, alternately
        sll   t1, t1, 6
        ori   t1, t1, (0x8000 >> 6) | PTE_FLAGS
        mtc0  t1, entrylo0
        tlbwi
        addiu t0, t0, -1
b_test: bltc  zero, t0, b_loop - . - 4
        mtc0  t2, entryhi
        bc    k_return - . - 4
