# syscall: N yield system calls (ecall) from U-mode.
user_main:
        lui   s0, (N + 0x800) & 0xFFFFF000
        addi  s0, s0, N - ((N + 0x800) & 0xFFFFF000)
        addi  a7, zero, 2       # yield
loop:   beq   s0, zero, done
        ecall
        addi  s0, s0, -1
        jal   zero, loop
done:   addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)
