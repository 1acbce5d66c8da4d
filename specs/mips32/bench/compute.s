# compute: N iterations of the 9-instruction loop of results/CORE.md (load,
# add, shift, xor, store, addiu, andi, addiu, branch), then exit.
user_main:
        aui   t0, zero, N >> 16
        ori   t0, t0, N & 0xFFFF
        ori   a0, zero, 0x6000  # a data area in the user region (0x6400-0x64FF)
        bc    test - . - 4
loop:   lw    t1, 0x400(a0)
        addu  t2, t2, t1
        sll   t3, t2, 3
        xor   t2, t2, t3
        sw    t2, 0x400(a0)
        addiu a0, a0, 4
        andi  a0, a0, 0x60FC    # keep the base 0x6000, cycle through 256 bytes
        addiu t0, t0, -1
test:   bltc  zero, t0, loop - . - 4
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)
