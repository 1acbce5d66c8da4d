# pgfault: N page faults.  The user loads alternately from two page pairs
# no wired TLB entry maps (virtual 0x10000 and 0x12000); each load takes a
# TLB refill, and the kernel's refill handler writes an entry mapping the
# faulting pair (to physical 0x8000-0x9FFF) with TLBWR, into entry 3, the
# one entry not wired, which evicts the other pair, and returns to retry
# the load.  System call 3 installs the handler as the kernel's hook.
user_main:
        addiu v0, zero, 3
        syscall 0               # install b_refill
        aui   s0, zero, N >> 16
        ori   s0, s0, N & 0xFFFF
        aui   s1, zero, 1       # 0x10000
        bc    test - . - 4
loop:   lw    t0, 0(s1)         # a TLB refill: the kernel maps the page and this load runs again
        xori  s1, s1, 0x2000    # the other page pair
        addiu s0, s0, -1
test:   bltc  zero, s0, loop - . - 4
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
        .equ  EXC_TLBL, 2
        .equ  B_PFN, 0x8000
sys_extra:
        aui   t0, zero, KBASE >> 16
        ori   t0, t0, b_refill
        sw    t0, K_HOOK(k1)
        bc    k_return - . - 4
b_refill:                       # t0 = ExcCode << 2, k0 = 32 on the refill vector
        addiu t1, zero, EXC_TLBL << 2
        bnec  t0, t1, k_reflect - . - 4
        ori   t1, zero, (B_PFN >> 6) | PTE_FLAGS
        mtc0  t1, entrylo0      # EntryHi already holds the faulting VPN2 (the exception set it)
        ori   t1, zero, ((B_PFN + 0x1000) >> 6) | PTE_FLAGS
        mtc0  t1, entrylo1
        tlbwr
        bc    k_resume - . - 4  # retry the load
