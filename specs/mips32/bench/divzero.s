# divzero: N exceptions raised in user mode and handled by the kernel, which
# resumes the program after the faulting instruction.  The spec models no
# divide; the exception is TEQ's trap (teq divisor, zero, 7 is what
# compilers emit after a divide).  System call 3 installs the handler as
# the kernel's hook.
user_main:
        addiu v0, zero, 3
        syscall 0               # install b_trap
        aui   s0, zero, N >> 16
        ori   s0, s0, N & 0xFFFF
        bc    test - . - 4
loop:   teq   zero, zero, 7     # a zero divisor: the trap; the kernel skips it
        addiu s0, s0, -1
test:   bltc  zero, s0, loop - . - 4
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
        .equ  EXC_TR, 13
sys_extra:                      # k1 = KBASE
        aui   t0, zero, KBASE >> 16
        ori   t0, t0, b_trap
        sw    t0, K_HOOK(k1)
        bc    k_return - . - 4
b_trap:                         # t0 = ExcCode << 2
        addiu t1, zero, EXC_TR << 2
        beqc  t0, t1, k_return - . - 4  # resume after the trapping instruction
        bc    k_reflect - . - 4         # not ours: the library's handling
