# cr8wr: N privileged control-register writes in the monitor: DATAO APR
# loads prr,,rlr with the monitor's own values (777777,,0).
user_main:
        muuo  7, 0, 3(0)
        movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)

# ---- kernel_extra
sys_extra:
        move  2, b_n(0)
b_loop: jumpe 2, k_return(0)
        datao apr, b_kpr(0)     # prr,,rlr = 777777,,0
        sub   2, k_c1(0)
        jrst  b_loop(0)
b_n:    .word N
b_kpr:  .word 0o777777 << 18
