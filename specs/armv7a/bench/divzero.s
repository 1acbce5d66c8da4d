# divzero: N exceptions raised in user mode and handled by the kernel, which
# resumes the program after the faulting instruction.  The spec models no
# divide; the exception is an Undefined Instruction, a User-mode MRC of a
# PL1 CP15 register.  System call 3 installs the handler as the kernel's hook.
user_main:
        movw  al, r7, 3
        svc   al, 0                     # install b_trap
        movw  al, r4, N & 0xFFFF
        movt  al, r4, N >> 16
        b     al, test - . - 8
loop:   mrc   al, r1, sctlr             # Undefined in User mode; the kernel skips it
        sub   al, r4, r4, 1
test:   cmp   al, r4, 0
        b     ne, loop - . - 8
        movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)

# ---- kernel_extra
sys_extra:
        movw  al, r1, K_HOOK
        movw  al, r2, b_trap
        str   al, r2, [r1, 0]
        b     al, k_return - . - 8
b_trap:                                 # r0 = the cause code
        cmp   al, r0, 1
        b     eq, k_skip - . - 8        # an Undefined Instruction: resume after it
        b     al, k_reflect - . - 8     # not ours: the library's handling
