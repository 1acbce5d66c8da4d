# call/ret: N calls of an empty function in the kernel (CPL 0): a near
# call, and ret back through the return address on the kernel's stack.
user_main:
        movi  eax, 3
        int   0x80
        movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)

# ---- kernel_extra
sys_extra:                      # eax, ecx, edx are free
        movi  ecx, N
b_loop: cmpi  ecx, 0
        jcc   e, b_done - . - 2
        call  (b_leaf - . - 5) & 0xFFFFFFFF
        dec   ecx
        jmp8  b_loop - . - 2
b_done: jmp   (k_return - . - 5) & 0xFFFFFFFF
b_leaf: ret
