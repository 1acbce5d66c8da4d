# syscall: N yield system calls (MUUOs) from user mode.
user_main:
        move  2, count(0)
loop:   jumpe 2, done(0)
        muuo  7, 0, 2(0)        # CALLI yield
        sub   2, one(0)
        jrst  loop(0)
done:   movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)
count:  .word N
one:    .word 1
