# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (v0 = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The kernel keeps the parent's context
# (EPC, v0, a0, s0, s1, ra) in a process table while the child runs and
# switches back to it when the child exits.  Processes share the address
# space, as vfork does.
user_main:
        aui   s0, zero, N >> 16
        ori   s0, s0, N & 0xFFFF
        bc    test - . - 4
loop:   addiu v0, zero, 3
        syscall 0               # fork
        bltc  zero, v0, parent - . - 4
        addiu v0, zero, 4
        syscall 0               # exit (child): back to the parent
parent: addiu v0, zero, 5
        syscall 0               # wait
        addiu s0, s0, -1
test:   bltc  zero, s0, loop - . - 4
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
        .equ  B_PROC, GUEST_INFO + 0x600        # the process table
sys_extra:                      # v0 = system call number; t0-t2 are free; k1 = KBASE
        addiu t1, zero, 3
        beqc  v0, t1, b_fork - . - 4
        addiu t1, zero, 4
        beqc  v0, t1, b_exit - . - 4
        bc    k_return - . - 4  # 5 wait: the child has already exited

b_fork:                         # save the parent (fork returns 1 to it), run the child
        mfc0  t1, epc
        sw    t1, B_PROC(k1)    # the parent's pc: its syscall (k_return adds 4)
        addiu t1, zero, 1
        sw    t1, B_PROC+4(k1)  # v0 = 1
        sw    a0, B_PROC+8(k1)
        sw    s0, B_PROC+12(k1)
        sw    s1, B_PROC+16(k1)
        sw    ra, B_PROC+20(k1)
        addiu t1, zero, 1
        sw    t1, B_PROC+24(k1) # the child exists
        addiu v0, zero, 0       # fork returns 0 in the child
        bc    k_return - . - 4

b_exit:                         # the child is gone: switch back to the parent
        sw    zero, B_PROC+24(k1)
        lw    t1, B_PROC(k1)
        mtc0  t1, epc
        lw    v0, B_PROC+4(k1)
        lw    a0, B_PROC+8(k1)
        lw    s0, B_PROC+12(k1)
        lw    s1, B_PROC+16(k1)
        lw    ra, B_PROC+20(k1)
        bc    k_return - . - 4  # resumes the parent after its fork
