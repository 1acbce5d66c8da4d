# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (setr).
user_main:
        ld    r1, count
        li    r3, 0
loop:   jz    r1, done
        ld    r2, acc
        add   r2, step
        st    r2, acc
        add   r3, acc
        sub   r3, step
        st    r3, sum
        svc   3                 # a system call doing privileged work
        sub   r1, one
        jmp   loop
done:   li    r0, 0
        svc   0                 # exit(0)
count:  .word N
one:    .word 1
step:   .word 3
acc:    .word 0
sum:    .word 0

# ---- kernel_extra
sys_extra:
        li    r2, 0
        ld    r3, k_kbound
        setr  r2                # rewrite the kernel's own R
        jmp   k_return
