# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (MSR CPSR_c)
# and one device-register read (MRC of MIDR).
user_main:
        movw  al, r4, N & 0xFFFF
        movt  al, r4, N >> 16
        movw  al, r0, 0x6000
        b     al, test - . - 8
loop:   ldr   al, r1, [r0, 0x400]
        add   al, r2, r2, lsl(r1, 0)
        mov   al, r3, lsl(r2, 3)
        eor   al, r2, r2, lsl(r3, 0)
        str   al, r2, [r0, 0x400]
        add   al, r0, r0, 4
        bic   al, r0, r0, 0xC01         # 0x100: keep the base 0x6000, cycle through 256 bytes
        movw  al, r7, 3
        svc   al, 0                     # a system call doing privileged work
        sub   al, r4, r4, 1
test:   cmp   al, r4, 0
        b     ne, loop - . - 8
        movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)

# ---- kernel_extra
sys_extra:
        mrs   al, r1, cpsr
        msr   al, cpsr, 1, r1           # rewrite CPSR_c (the interrupt masks)
        mrc   al, r2, midr              # read the ID register
        b     al, k_return - . - 8
