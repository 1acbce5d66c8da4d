# divzero: N exceptions raised in user mode and handled by the guest
# kernel, which resumes the program after the faulting instruction.  The
# machine has no divide; the exception is a memory trap (a load beyond the
# user's bound).  System call 3 installs the handler.
user_main:
        svc   3                 # install b_trap as the trap vector
        ld    r3, bad
        ld    r1, count
loop:   jz    r1, done
        ldx   r2, r3            # memory trap: the kernel skips it
        sub   r1, one
        jmp   loop
done:   li    r0, 0
        svc   0                 # exit(0)
count:  .word N
one:    .word 1
bad:    .word 0x1000            # USER_SIZE: the first address beyond the bound

# ---- kernel_extra
sys_extra:
        ld    r1, b_vec
        st    r1, NEW_PSW + 1   # the trap vector's pc
        jmp   k_return
b_trap:                         # every trap enters here
        st    r1, k_save1
        ld    r1, TRAP_CAUSE
        sub   r1, b_cmem
        jz    r1, b_skip
        ld    r1, k_save1
        jmp   k_trap            # not a memory trap: the library's handler
b_skip: st    r0, k_save0       # k_return restores r0-r3 ...
        st    r2, k_save2
        st    r3, k_save3
        jmp   k_return          # ... and resumes after the trapping load
b_vec:  .word b_trap
b_cmem: .word 2                 # cause code of the memory trap
