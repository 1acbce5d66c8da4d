# call/ret: N calls of an empty function in the kernel: BALC to it, JIC
# back through the link register (Release 6 compact branches).
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
        or    t2, ra, zero      # the user's ra
        bc    b_test - . - 4
b_loop: balc  b_leaf - . - 4    # call
        addiu t0, t0, -1
b_test: bltc  zero, t0, b_loop - . - 4
        or    ra, t2, zero
        bc    k_return - . - 4
b_leaf: jic   ra, 0             # return
