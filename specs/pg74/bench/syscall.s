# syscall: N yield system calls from user mode (user -> kernel -> user).
user_main:
        ld    r1, count
loop:   jz    r1, done
        svc   2                 # yield
        sub   r1, one
        jmp   loop
done:   li    r0, 0
        svc   0                 # exit(0)
count:  .word N
one:    .word 1
