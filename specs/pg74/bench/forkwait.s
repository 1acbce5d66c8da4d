# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (r0 = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The kernel keeps the parent's context
# (r0-r3 and its PSW) in a process table while the child runs, and switches
# back to it when the child exits.  Processes share the user region (the
# machine has one relocation register and this kernel gives every process
# the same one, as vfork does).
user_main:
        ld    r1, count
loop:   jz    r1, done
        svc   3                 # fork
        jz    r0, child
        svc   5                 # wait
        sub   r1, one
        jmp   loop
child:  svc   4                 # exit (child): back to the parent
done:   li    r0, 0
        svc   0                 # exit(0)
count:  .word N
one:    .word 1

# ---- kernel_extra
sys_extra:                      # r1 = system call number - 2
        sub   r1, k_c1
        jz    r1, b_fork
        sub   r1, k_c1
        jz    r1, b_exit
        jmp   k_return          # 5 wait: the child has already exited

b_fork:                         # save the parent (fork returns 1 to it), run the child
        li    r1, 1
        st    r1, b_r0
        ld    r1, k_save1
        st    r1, b_r1
        ld    r1, k_save2
        st    r1, b_r2
        ld    r1, k_save3
        st    r1, b_r3
        ld    r1, OLD_MODE
        st    r1, b_psw
        ld    r1, OLD_PC
        st    r1, b_psw + 1
        ld    r1, 2
        st    r1, b_psw + 2
        ld    r1, 3
        st    r1, b_psw + 3
        li    r1, 1
        st    r1, b_child
        li    r1, 0
        st    r1, k_save0       # fork returns 0 in the child
        jmp   k_return

b_exit:                         # the child is gone: switch back to the parent
        li    r1, 0
        st    r1, b_child
        ld    r1, b_psw
        st    r1, OLD_MODE
        ld    r1, b_psw + 1
        st    r1, OLD_PC
        ld    r1, b_psw + 2
        st    r1, 2
        ld    r1, b_psw + 3
        st    r1, 3
        ld    r1, b_r0
        st    r1, k_save0
        ld    r1, b_r1
        st    r1, k_save1
        ld    r1, b_r2
        st    r1, k_save2
        ld    r1, b_r3
        st    r1, k_save3
        jmp   k_return          # resumes the parent after its fork

b_r0:   .word 0                 # the process table: the parent's context
b_r1:   .word 0
b_r2:   .word 0
b_r3:   .word 0
b_psw:  .word 0, 0, 0, 0
b_child: .word 0                # 1 while the child exists
