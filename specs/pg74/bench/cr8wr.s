# cr8wr: N privileged control-register writes in the guest kernel.  One
# system call enters the kernel, which rewrites R = (l, b) with its own
# values N times (setr, privileged) and returns.
user_main:
        svc   3
        li    r0, 0
        svc   0                 # exit(0)

# ---- kernel_extra
sys_extra:
        ld    r1, b_n
        li    r2, 0             # l = 0 ...
        ld    r3, k_kbound      # ... b = KBOUND: the kernel's own R
b_loop: jz    r1, k_return
        setr  r2                # R = (r2, r3)
        sub   r1, k_c1
        jmp   b_loop
b_n:    .word N
