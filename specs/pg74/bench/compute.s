# compute: N iterations of a loop of innocuous instructions (loads, adds,
# subtracts, stores and branches), then exit.
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
        sub   r1, one
        jmp   loop
done:   li    r0, 0
        svc   0                 # exit(0)
count:  .word N
one:    .word 1
step:   .word 3
acc:    .word 0
sum:    .word 0
