# syscall: N yield system calls (SYSCALL) from user mode.
user_main:
        aui   s0, zero, N >> 16
        ori   s0, s0, N & 0xFFFF
        addiu v0, zero, 2       # yield
        bc    test - . - 4
loop:   syscall 0
        addiu s0, s0, -1
test:   bltc  zero, s0, loop - . - 4    # BGTZC: while s0 > 0
        addiu v0, zero, 0
        addiu a0, zero, 0
        syscall 0               # exit(0)
