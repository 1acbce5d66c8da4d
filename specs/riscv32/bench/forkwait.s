# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (a0 = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The kernel keeps the parent's context
# (pc, ra, a0, a7, s0, s1) in a process table while the child runs and
# switches back to it when the child exits.  Processes share the address
# space (no paging), as vfork does.
user_main:
        lui   s0, (N + 0x800) & 0xFFFFF000
        addi  s0, s0, N - ((N + 0x800) & 0xFFFFF000)
loop:   beq   s0, zero, done
        addi  a7, zero, 3
        ecall                   # fork
        beq   a0, zero, child
        addi  a7, zero, 5
        ecall                   # wait
        addi  s0, s0, -1
        jal   zero, loop
child:  addi  a7, zero, 4
        ecall                   # exit (child): back to the parent
done:   addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)

# ---- kernel_extra
        .equ  B_PROC, 0x600     # the process table, at GUEST_INFO + B_PROC
sys_extra:                      # a7 = system call number; t0-t2 are free
        addi  t1, zero, 3
        beq   a7, t1, b_fork
        addi  t1, zero, 4
        beq   a7, t1, b_exit
        jal   zero, k_return    # 5 wait: the child has already exited

b_fork:                         # save the parent (fork returns 1 to it), run the child
        lui   t0, GUEST_INFO
        csrrs t1, mepc, zero
        sw    t1, B_PROC(t0)    # the parent's pc: its ecall (k_return adds 4)
        addi  t1, zero, 1
        sw    t1, B_PROC+4(t0)  # a0 = 1
        sw    a7, B_PROC+8(t0)
        sw    s0, B_PROC+12(t0)
        sw    s1, B_PROC+16(t0)
        sw    ra, B_PROC+20(t0)
        addi  t1, zero, 1
        sw    t1, B_PROC+24(t0) # the child exists
        addi  a0, zero, 0       # fork returns 0 in the child
        jal   zero, k_return

b_exit:                         # the child is gone: switch back to the parent
        lui   t0, GUEST_INFO
        sw    zero, B_PROC+24(t0)
        lw    t1, B_PROC(t0)
        csrrw zero, mepc, t1
        lw    a0, B_PROC+4(t0)
        lw    a7, B_PROC+8(t0)
        lw    s0, B_PROC+12(t0)
        lw    s1, B_PROC+16(t0)
        lw    ra, B_PROC+20(t0)
        jal   zero, k_return    # resumes the parent after its fork
