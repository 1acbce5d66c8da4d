# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (r0 = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The kernel keeps the parent's context
# (the return address, SPSR, r0, r4, r5, SP_usr and LR_usr) in a process
# table while the child runs and switches back to it when the child exits.
# Processes share the address space, as vfork does.
user_main:
        movw  al, r4, N & 0xFFFF
        movt  al, r4, N >> 16
        b     al, test - . - 8
loop:   movw  al, r7, 3
        svc   al, 0                     # fork
        cmp   al, r0, 0
        b     ne, parent - . - 8
        movw  al, r7, 4
        svc   al, 0                     # exit (child): back to the parent
parent: movw  al, r7, 5
        svc   al, 0                     # wait
        sub   al, r4, r4, 1
test:   cmp   al, r4, 0
        b     ne, loop - . - 8
        movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)

# ---- kernel_extra
        .equ  B_PROC, GUEST_INFO + 0x600        # the process table
sys_extra:                              # r7 = the number; r1-r3 free; the caller's r0 at [sp, 0]
        cmp   al, r7, 3
        b     eq, b_fork - . - 8
        cmp   al, r7, 4
        b     eq, b_exit - . - 8
        b     al, k_return - . - 8      # 5 wait: the child has already exited

b_fork:                                 # save the parent (fork returns 1 to it), run the child
        movw  al, r1, B_PROC
        str   al, lr, [r1, 0]           # the parent's return address
        movw  al, r2, 1
        str   al, r2, [r1, 4]           # r0 = 1
        str   al, r4, [r1, 8]
        str   al, r5, [r1, 12]
        add   al, r3, r1, 16
        stm_user al, ia, r3, RL_SP_LR   # SP_usr, LR_usr
        mrs   al, r2, spsr
        str   al, r2, [r1, 24]
        movw  al, r2, 1
        str   al, r2, [r1, 28]          # the child exists
        movw  al, r2, 0
        str   al, r2, [sp, 0]           # fork returns 0 in the child
        b     al, k_return - . - 8

b_exit:                                 # the child is gone: switch back to the parent
        movw  al, r1, B_PROC
        movw  al, r2, 0
        str   al, r2, [r1, 28]
        ldr   al, lr, [r1, 0]
        ldr   al, r2, [r1, 4]
        str   al, r2, [sp, 0]           # the parent's r0
        ldr   al, r4, [r1, 8]
        ldr   al, r5, [r1, 12]
        add   al, r3, r1, 16
        ldm_user al, ia, r3, RL_SP_LR
        ldr   al, r2, [r1, 24]
        msr   al, spsr, 15, r2
        b     al, k_return - . - 8      # resumes the parent after its fork
