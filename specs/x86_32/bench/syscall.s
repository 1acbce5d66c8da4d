# syscall: N yield system calls (int 0x80) from user mode (CPL 3).
user_main:
        movi  esi, N
        movi  eax, 2            # yield
loop:   cmpi  esi, 0
        jcc   e, done - . - 2
        int   0x80
        dec   esi
        jmp8  loop - . - 2
done:   movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)
