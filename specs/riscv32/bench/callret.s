# call/ret: N calls of an empty function in the kernel (M-mode): jal to
# it, jalr back through the link register.
user_main:
        addi  a7, zero, 3
        ecall
        addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)

# ---- kernel_extra
sys_extra:
        lui   t0, (N + 0x800) & 0xFFFFF000
        addi  t0, t0, N - ((N + 0x800) & 0xFFFFF000)
        addi  t2, ra, 0         # the user's ra
b_loop: beq   t0, zero, b_done
        jal   ra, b_leaf        # call
        addi  t0, t0, -1
        jal   zero, b_loop
b_done: addi  ra, t2, 0
        jal   zero, k_return
b_leaf: jalr  zero, 0(ra)       # return
