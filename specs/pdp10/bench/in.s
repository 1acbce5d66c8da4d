# in: N device-register reads in the monitor.  One system call enters exec
# mode, which reads the APR (rdapr, exec only) N times and returns.
user_main:
        muuo  7, 0, 3(0)
        movei 1, 0(0)
        muuo  7, 0, 0(0)        # exit(0)

# ---- kernel_extra
sys_extra:
        move  2, b_n(0)
b_loop: jumpe 2, k_return(0)
        rdapr b_apr(0)          # read the APR device
        sub   2, k_c1(0)
        jrst  b_loop(0)
b_n:    .word N
b_apr:  .word 0
