# call/ret: N calls of an empty function in the kernel: BL to it, BX LR back.
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
        mov   al, r3, lsl(lr, 0)        # the return address of the system call
        b     al, b_test - . - 8
b_loop: bl    al, b_leaf - . - 8        # call
        sub   al, r2, r2, 1
b_test: cmp   al, r2, 0
        b     ne, b_loop - . - 8
        mov   al, lr, lsl(r3, 0)
        b     al, k_return - . - 8
b_leaf: bx    al, lr                    # return
