# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (MTC0 Status)
# and one device-register read (MFC0 Count).
user_main:
        aui   s0, zero, N >> 16
        ori   s0, s0, N & 0xFFFF
        ori   a0, zero, 0x6000
        bc    test - . - 4
loop:   lw    t1, 0x400(a0)
        addu  t2, t2, t1
        sll   t3, t2, 3
        xor   t2, t2, t3
        sw    t2, 0x400(a0)
        addiu a0, a0, 4
        andi  a0, a0, 0x60FC    # keep the base 0x6000, cycle through 256 bytes
        addiu v0, zero, 3
        syscall 0               # a system call doing privileged work
        addiu s0, s0, -1
test:   bltc  zero, s0, loop - . - 4
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)

# ---- kernel_extra
sys_extra:
        mfc0  t0, status
        mtc0  t0, status        # rewrite Status (the interrupt mask)
        mfc0  t1, count         # read the timer
        bc    k_return - . - 4
