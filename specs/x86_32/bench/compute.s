# compute: N iterations of a loop of innocuous instructions (load, add,
# shift, xor, store, addi, andi, dec, jcc; the subset has no shift, so
# edx << 1 is a mov and an add), then exit.
user_main:
        movi  ecx, N
        movi  esi, 0x4000       # a data area in the user region (virtual 0x4000-0x40FF)
        cmpi  ecx, 0
        jcc   e, done - . - 2
loop:   mov   eax, [esi+0]
        add   edx, eax
        mov   ebx, edx
        add   ebx, ebx
        xor   edx, ebx
        mov   [esi+0], edx
        addi  esi, 4
        andi  esi, 0x40FF       # keep the base 0x4000, cycle through 256 bytes
        dec   ecx
        jcc   ne, loop - . - 2
done:   movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)
