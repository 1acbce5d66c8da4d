# divzero: N exceptions raised in user mode and handled by the monitor,
# which resumes the program after the faulting instruction.  The subset
# has no divide; the exception is a memory trap (a load beyond prr).
# System call 3 installs the handler.
user_main:
        muuo  7, 0, 3(0)        # install b_trap as the trap vector
        move  2, count(0)
loop:   jumpe 2, done(0)
        move  3, 0o20000(0)     # beyond prr = 017777: memory trap
        sub   2, one(0)
        jrst  loop(0)
done:   movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)
count:  .word N
one:    .word 1

# ---- kernel_extra
sys_extra:
        movei 2, b_trap(0)
        movem 2, TRAP_VEC(0)    # the trap vector
        jrst  k_return(0)
b_trap:                         # every trap enters here
        movem 1, k_sav1(0)
        move  1, TRAP_CAUSE(0)
        sub   1, b_cmem(0)
        jumpe 1, b_skip(0)
        move  1, k_sav1(0)
        jrst  k_trap(0)         # not a memory trap: the library's handler
b_skip: movem 2, k_sav2(0)      # k_resume restores AC1-AC3
        movem 3, k_sav3(0)
        move  1, TRAP_PCW(0)
        and   1, k_rh(0)
        add   1, k_c1(0)        # after the trapping instruction
        jrst  k_resume(0)
b_cmem: .word 2                 # cause code of the memory trap
