# compute: N iterations of the 9-instruction loop of results/CORE.md (load,
# add, shift, xor, store, addi, andi, addi, branch), then exit.
user_main:
        lui   t0, (N + 0x800) & 0xFFFFF000
        addi  t0, t0, N - ((N + 0x800) & 0xFFFFF000)
        lui   a0, 0x8000        # a data area in the user region (0x8000-0x84FF)
        beq   t0, zero, done
loop:   lw    t1, 0x400(a0)
        add   t2, t2, t1
        slli  t3, t2, 3
        xor   t2, t2, t3
        sw    t2, 0x400(a0)
        addi  a0, a0, 4
        andi  a0, a0, -0x704   # keep the base 0x8000, cycle through 256 bytes
        addi  t0, t0, -1
        bne   t0, zero, loop
done:   addi  a7, zero, 0
        addi  a0, zero, 0
        ecall                   # exit(0)
