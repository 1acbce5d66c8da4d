# divzero: N exceptions raised in U-mode and handled by the kernel, which
# resumes the program after the faulting instruction.  RV32I has no divide;
# the exception is a misaligned load.  System call 3 installs the handler.
user_main:
        addi  a7, zero, 3
        ecall                   # install b_trap as the trap vector
        lui   s0, (N + 0x800) & 0xFFFFF000
        addi  s0, s0, N - ((N + 0x800) & 0xFFFFF000)
loop:   beq   s0, zero, done
        lw    t1, 2(zero)       # misaligned: the kernel skips it
        addi  s0, s0, -1
        jal   zero, loop
done:   addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)

# ---- kernel_extra
sys_extra:
        lui   t0, (b_trap + 0x800) & 0xFFFFF000
        addi  t0, t0, b_trap - ((b_trap + 0x800) & 0xFFFFF000)
        csrrw zero, mtvec, t0
        jal   zero, k_return
b_trap:                         # every trap enters here
        csrrw sp, mscratch, sp
        addi  sp, sp, -16
        sw    t0, 0(sp)
        sw    t1, 4(sp)
        sw    t2, 8(sp)
        csrrs t0, mcause, zero
        addi  t1, zero, 4       # load address misaligned
        beq   t0, t1, k_return  # resume after the faulting load
        lw    t2, 8(sp)         # not ours: the library's handler
        lw    t1, 4(sp)
        lw    t0, 0(sp)
        addi  sp, sp, 16
        csrrw sp, mscratch, sp
        jal   zero, k_trap
