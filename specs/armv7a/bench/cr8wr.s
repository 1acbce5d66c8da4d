# cr8wr: N privileged control-register writes in the kernel: MSR CPSR_c
# (the interrupt masks I, F and the mode) rewriting its own value.
user_main:
        movw  al, r7, 3
        svc   al, 0
        movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)

# ---- kernel_extra
sys_extra:
        movw  al, r2, N & 0xFFFF
        movt  al, r2, N >> 16
        mrs   al, r1, cpsr
        b     al, b_test - . - 8
b_loop: msr   al, cpsr, 1, r1           # CPSR_c = its own value
        sub   al, r2, r2, 1
b_test: cmp   al, r2, 0
        b     ne, b_loop - . - 8
        b     al, k_return - . - 8
