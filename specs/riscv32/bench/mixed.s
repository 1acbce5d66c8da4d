# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (mie) and one
# device-register read (time).
user_main:
        lui   s0, (N + 0x800) & 0xFFFFF000
        addi  s0, s0, N - ((N + 0x800) & 0xFFFFF000)
        lui   a0, 0x8000
        addi  a7, zero, 3
loop:   beq   s0, zero, done
        lw    t1, 0x400(a0)
        add   t2, t2, t1
        slli  t3, t2, 3
        xor   t2, t2, t3
        sw    t2, 0x400(a0)
        addi  a0, a0, 4
        andi  a0, a0, -0x704   # keep the base 0x8000, cycle through 256 bytes
        ecall                   # a system call doing privileged work
        addi  s0, s0, -1
        jal   zero, loop
done:   addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)

# ---- kernel_extra
sys_extra:
        csrrw zero, mie, zero   # rewrite the interrupt enables
        csrrs t1, time, zero    # read the timer
        jal   zero, k_return
