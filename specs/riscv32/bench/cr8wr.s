# cr8wr: N privileged control-register writes in the kernel (M-mode):
# csrrw to mie, rewriting the interrupt enables with their value (0).
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
b_loop: beq   t0, zero, k_return
        csrrw zero, mie, zero   # interrupt enables = 0
        addi  t0, t0, -1
        jal   zero, b_loop
