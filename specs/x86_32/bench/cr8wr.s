# cr8wr: N privileged control-register writes in the kernel (CPL 0): MOV to
# CR4, rewriting its value (0: the kernel never sets it).  The 386 has no
# CR8.
user_main:
        movi  eax, 3
        int   0x80
        movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)

# ---- kernel_extra
sys_extra:                      # eax, ecx, edx are free
        movi  ecx, N
        xor   edx, edx
b_loop: cmpi  ecx, 0
        jcc   e, b_done - . - 2
        movcr cr4, edx          # CR4 = 0
        dec   ecx
        jmp8  b_loop - . - 2
b_done: jmp   (k_return - . - 5) & 0xFFFFFFFF
