# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (AC1 = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The monitor keeps the parent's
# context (AC1-AC3 and its PC) in a process table while the child runs and
# switches back to it when the child exits.  Processes share the user
# region, as vfork does.
user_main:
        move  2, count(0)
loop:   jumpe 2, done(0)
        muuo  7, 0, 3(0)        # fork
        jumpe 1, child(0)
        muuo  7, 0, 5(0)        # wait
        sub   2, one(0)
        jrst  loop(0)
child:  muuo  7, 0, 4(0)        # exit (child): back to the parent
done:   movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)
count:  .word N
one:    .word 1

# ---- kernel_extra
sys_extra:                      # AC1 = system call number - 2
        sub   1, k_c1(0)
        jumpe 1, b_fork(0)
        sub   1, k_c1(0)
        jumpe 1, b_exit(0)
        jrst  k_return(0)       # 5 wait: the child has already exited

b_fork:                         # save the parent (fork returns 1 to it), run the child
        movei 1, 1(0)
        movem 1, b_ac1(0)
        move  1, k_sav2(0)
        movem 1, b_ac2(0)
        move  1, k_sav3(0)
        movem 1, b_ac3(0)
        move  1, TRAP_PCW(0)
        and   1, k_rh(0)
        movem 1, b_pc(0)        # an MUUO saves the next PC
        movei 1, 1(0)
        movem 1, b_child(0)
        movei 1, 0(0)
        movem 1, k_sav1(0)      # fork returns 0 in the child
        jrst  k_return(0)

b_exit:                         # the child is gone: switch back to the parent
        movei 1, 0(0)
        movem 1, b_child(0)
        move  1, b_ac1(0)
        movem 1, k_sav1(0)
        move  1, b_ac2(0)
        movem 1, k_sav2(0)
        move  1, b_ac3(0)
        movem 1, k_sav3(0)
        move  1, b_pc(0)
        jrst  k_resume(0)       # AC1 = the parent's PC

b_ac1:  .word 0                 # the process table: the parent's context
b_ac2:  .word 0
b_ac3:  .word 0
b_pc:   .word 0
b_child: .word 0                # 1 while the child exists
