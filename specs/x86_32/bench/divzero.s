# divzero: N exceptions raised in user mode and handled by the kernel, which
# resumes the program after the faulting instruction.  The spec has no
# divide (and no #DE); the exception is the #GP(0) of a load beyond the
# user data segment's limit.  System call 3 installs the handler: ebx is
# the address of the load it may skip.
user_main:
        movi  eax, 3
        movi  ebx, fault
        int   0x80              # install b_trap as the #GP handler
        movi  esi, N
loop:   cmpi  esi, 0
        jcc   e, done - . - 2
fault:  mov   eax, [0x8000]     # beyond the limit 0x7FFF: #GP(0); the kernel skips it
        dec   esi
        jmp8  loop - . - 2
done:   movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)

# ---- kernel_extra
sys_extra:                      # point the #GP gate (vector 13) at b_trap
        mov   [b_addr], ebx
        movi  eax, (KCODE_SEL << 16) | (b_trap & 0xFFFF)
        mov   [K_IDT + 13 * 8], eax
        movi  eax, (b_trap & 0xFFFF0000) | 0x8E00
        mov   [K_IDT + 13 * 8 + 4], eax
        jmp   (k_return - . - 5) & 0xFFFFFFFF
b_trap:                         # #GP: the error code, EIP, CS, EFLAGS, ESP, SS
        push  ds
        push  eax
        push  ecx
        push  ebp
        mov   ebp, esp          # EBP ECX EAX DS, the error code at 16, EIP at 20
        movi  eax, KDATA_SEL
        mov   ds, eax
        mov   eax, [ebp+20]
        mov   ecx, [b_addr]
        cmp   eax, ecx
        jcc   ne, b_other - . - 2
        addi  eax, 6            # resume after the 6-byte load
        mov   [ebp+20], eax
        pop   ebp
        pop   ecx
        pop   eax
        pop   ds
        addi  esp, 4            # drop the error code
        iret
b_other:                        # not ours: the library's handler
        pop   ebp
        pop   ecx
        pop   eax
        pop   ds
        jmp   (k_vec13 - . - 5) & 0xFFFFFFFF
b_addr: .space 4
