# mixed: N iterations of a short compute loop followed by a system call
# whose handler makes one privileged control-register write (MOV to CR4)
# and one device-register read (IN from port 0x40).
user_main:
        movi  esi, N
        movi  edi, 0x4000       # a data area in the user region
loop:   cmpi  esi, 0
        jcc   e, done - . - 2
        mov   eax, [edi+0]
        add   edx, eax
        mov   ebx, edx
        add   ebx, ebx
        xor   edx, ebx
        mov   [edi+0], edx
        addi  edi, 4
        andi  edi, 0x40FF       # keep the base 0x4000, cycle through 256 bytes
        movi  eax, 3
        int   0x80              # a system call doing privileged work
        dec   esi
        jmp8  loop - . - 2
done:   movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)

# ---- kernel_extra
sys_extra:                      # eax, ecx, edx are free
        xor   ecx, ecx
        movcr cr4, ecx          # rewrite CR4 (0)
        in    0x40              # read a device register
        jmp   (k_return - . - 5) & 0xFFFFFFFF
