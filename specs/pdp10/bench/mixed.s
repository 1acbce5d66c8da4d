# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (DATAO APR)
# and one device-register read (rdapr).
user_main:
        move  2, count(0)
        movei 3, 0(0)
loop:   jumpe 2, done(0)
        move  4, acc(0)
        add   4, step(0)
        movem 4, acc(0)
        add   3, acc(0)
        and   3, mask(0)
        movem 3, sum(0)
        muuo  7, 0, 3(0)        # a system call doing privileged work
        sub   2, one(0)
        jrst  loop(0)
done:   movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)
count:  .word N
one:    .word 1
step:   .word 3
mask:   .word 0o777777
acc:    .word 0
sum:    .word 0

# ---- kernel_extra
sys_extra:
        datao apr, b_kpr(0)     # rewrite the monitor's own prr,,rlr
        rdapr b_apr(0)          # and read the APR back
        jrst  k_return(0)
b_kpr:  .word 0o777777 << 18
b_apr:  .word 0
