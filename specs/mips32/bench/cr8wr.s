# cr8wr: N privileged control-register writes in the kernel: MTC0 to Status
# (which holds the interrupt mask IM), rewriting its value.
user_main:
        addiu v0, zero, 3
        syscall 0
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
sys_extra:
        aui   t0, zero, N >> 16
        ori   t0, t0, N & 0xFFFF
        mfc0  t1, status
        bc    b_test - . - 4
b_loop: mtc0  t1, status        # Status = its own value
        addiu t0, t0, -1
b_test: bltc  zero, t0, b_loop - . - 4
        bc    k_return - . - 4
