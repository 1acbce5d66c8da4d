# compute: N iterations of the 9-instruction loop of results/CORE.md (load,
# add, shift, xor, store, add, and, decrement, branch), then exit.
user_main:
        movw  al, r4, N & 0xFFFF
        movt  al, r4, N >> 16
        movw  al, r0, 0x6000            # a data area in the user region (0x6400-0x64FF)
        cmp   al, r4, 0
        b     eq, done - . - 8
loop:   ldr   al, r1, [r0, 0x400]
        add   al, r2, r2, lsl(r1, 0)
        mov   al, r3, lsl(r2, 3)
        eor   al, r2, r2, lsl(r3, 0)
        str   al, r2, [r0, 0x400]
        add   al, r0, r0, 4
        bic   al, r0, r0, 0xC01         # 0x100 (1 rotated right by 24): keep the base 0x6000, cycle through 256 bytes
        subs  al, r4, r4, 1
        b     ne, loop - . - 8
done:   movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)
